"""Delete the files of export jobs whose download link has expired (for cron where no Celery
beat runs)."""

from typing import Any

from django.core.management.base import BaseCommand

from zhipei.records.services import exports_purge


class Command(BaseCommand):
    help = "Delete expired export files and fail export jobs that never finished."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"deleted={exports_purge()}")
