from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "readerstudy.core"
    label = "core"

    def ready(self) -> None:
        # The Celery app, loaded with Django (not on ``import readerstudy``, so that the pure
        # ``readerstudy.stats`` imports without Django): every @task binds to it, and the
        # services enqueue through it (readerstudy.core.tasks.enqueue).
        from readerstudy import celery  # noqa: F401
