"""The reader-study platform: blinded reads, the model as a reader, and the statistics."""

# The Celery app is loaded with Django so @task-decorated functions bind to it.
from readerstudy.celery import app as celery_app

__all__ = ["celery_app"]
