from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "readerstudy.analysis"
    label = "analysis"
    verbose_name = "Analysis and exports"

    def ready(self) -> None:
        # Registered in every process, so that services.export_request can enqueue it by
        # name (Celery's autodiscovery imports it in the worker only).
        from readerstudy.analysis import tasks  # noqa: F401
