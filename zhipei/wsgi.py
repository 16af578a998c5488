"""WSGI entry point (gunicorn zhipei.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhipei.settings")
application = get_wsgi_application()
