from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "readerstudy.analysis"
    label = "analysis"
    verbose_name = "Analysis and exports"

    def ready(self) -> None:
        # Celery's autodiscovery imports ``tasks`` modules only; the export task lives in
        # ``jobs`` (this app's convention), so register it with the app.
        from readerstudy.analysis import jobs  # noqa: F401
