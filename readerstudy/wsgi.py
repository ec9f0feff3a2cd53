"""The WSGI application (gunicorn ``readerstudy.wsgi``; see docs/deployment.md)."""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
application = get_wsgi_application()

# Import the URL configuration, and with it every view, now: with gunicorn's --preload once,
# before the workers fork, instead of in each worker's first request (seconds: the model code
# brings PyTorch).
import_module(settings.ROOT_URLCONF)
