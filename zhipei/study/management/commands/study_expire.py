"""End study sessions whose player went silent (for cron where no Celery beat runs)."""

from typing import Any

from django.core.management.base import BaseCommand

from zhipei.study.services import study_sessions_expire


class Command(BaseCommand):
    help = "End study sessions with no heartbeat for 5 minutes (reason: abandoned)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"ended={study_sessions_expire()}")
