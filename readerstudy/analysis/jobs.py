"""The Celery task that produces an export. Thin: the work is ``services.export_run``."""

from __future__ import annotations

from readerstudy.core.tasks import task

# A full export (every test set and subgroup, 2,000 bootstrap resamples each) of a large
# study takes minutes, not hours.
EXPORT_TIME_LIMIT = 30 * 60


@task(time_limit=EXPORT_TIME_LIMIT, soft_time_limit=EXPORT_TIME_LIMIT - 60)
def export_job(*, export_pk: int) -> str:
    """Produce export ``export_pk``; returns its final status. Idempotent: a finished
    export, or one another worker is producing, is left as it is."""
    from readerstudy.analysis.services import export_run

    return export_run(export_pk=export_pk).status
