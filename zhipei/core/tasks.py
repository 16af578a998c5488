"""Platform-level background tasks."""

from celery import shared_task


@shared_task(name="zhipei.core.tasks.ping")
def ping() -> str:
    """Answers "pong": monitoring sends it to prove a worker is consuming the queue."""
    return "pong"
