"""WSGI entry point (gunicorn zhipei.wsgi): Django, with the heartbeat lane in front of it."""

import os

from django.core.wsgi import get_wsgi_application

from zhipei.study.lane import HeartbeatLane

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhipei.settings")
application = HeartbeatLane(get_wsgi_application())
