"""Background work for exams: submitting attempts whose time ran out with the page closed."""

from celery import shared_task

from zhipei.exams.services import attempts_expire


@shared_task(name="zhipei.exams.tasks.expire_attempts")
def expire_attempts() -> int:
    """Run every minute (celery beat, or cron calling `manage.py exams_expire`)."""
    return attempts_expire()
