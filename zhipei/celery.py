"""The Celery application. With no CELERY_BROKER_URL, tasks run inline (the embedded default)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhipei.settings")

app = Celery("zhipei")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work, for `celery -A zhipei beat` (without beat, run `manage.py study_expire` and `exams_expire` from cron).
app.conf.beat_schedule = {
    "study-expire-sessions": {"task": "zhipei.study.tasks.expire_sessions", "schedule": 60.0},
    "exams-expire-attempts": {"task": "zhipei.exams.tasks.expire_attempts", "schedule": 60.0},
    "records-purge-exports": {"task": "zhipei.records.tasks.purge_exports", "schedule": 3600.0},
}
