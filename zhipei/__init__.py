"""Zhipei (职培): supervised online vocational-skills training, filed with the HR bureau."""

from zhipei.celery import app as celery_app

__all__ = ["celery_app"]
