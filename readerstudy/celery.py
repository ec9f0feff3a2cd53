"""The Celery application. Tasks run in-process unless CELERY_BROKER_URL is set.

Each Django app's tasks live in its ``tasks.py`` under an explicit name
(``predictions.run_inference_job``, ``analysis.export_run``); the routes in
``readerstudy.core.tasks.route`` send the model's tasks to the inference queue.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

app = Celery("readerstudy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
