from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "readerstudy.predictions"
    label = "predictions"

    def ready(self) -> None:
        # Registered in every process, so that the services can enqueue them by name
        # (Celery's autodiscovery imports them in the worker only). The module loads no torch.
        from readerstudy.predictions import tasks  # noqa: F401
