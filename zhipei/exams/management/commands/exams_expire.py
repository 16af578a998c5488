"""Submit exam attempts past their deadline (for cron where no Celery beat runs)."""

from typing import Any

from django.core.management.base import BaseCommand

from zhipei.exams.services import attempts_expire


class Command(BaseCommand):
    help = "Submit open exam attempts whose deadline has passed (reason: time up)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"submitted={attempts_expire()}")
