"""The reader-study platform: blinded reads, the model as a reader, and the statistics."""

try:  # the Celery app is loaded with Django so @task-decorated functions bind to it
    from readerstudy.celery import app as celery_app
except ImportError:  # pragma: no cover - celery missing only in a broken install
    celery_app = None

__all__ = ["celery_app"]
