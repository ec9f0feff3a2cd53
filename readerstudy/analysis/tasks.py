"""The Celery task that produces an export. Thin: the work is ``services.export_run``."""

from __future__ import annotations

from readerstudy.analysis.services import EXPORT_TIME_LIMIT, export_run, exports_requeue_stale
from readerstudy.core.tasks import task


@task(name="analysis.export_job", time_limit=EXPORT_TIME_LIMIT,
      soft_time_limit=EXPORT_TIME_LIMIT - 60)
def export_job(*, export_pk: int) -> str:
    """Produce export ``export_pk``; returns its final status. Idempotent: a finished
    export, or one another worker is producing, is left as it is."""
    return export_run(export_pk=export_pk).status


@task(name="analysis.requeue_stale_exports", time_limit=120, soft_time_limit=100)
def requeue_stale_exports() -> list[int]:
    """The periodic sweep (celery beat): send again the exports whose task was lost."""
    return exports_requeue_stale()
