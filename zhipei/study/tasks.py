"""Background work for study: ending sessions whose player went silent."""

from celery import shared_task

from zhipei.study.services import study_sessions_expire


@shared_task(name="zhipei.study.tasks.expire_sessions")
def expire_sessions() -> int:
    """Run every minute (celery beat, or cron calling `manage.py study_expire`)."""
    return study_sessions_expire()
