"""A Celery worker whose chunk tasks pause before they start, for the kill test.

    python -m tests.predictions.slow_worker MARKER SECONDS [celery worker options...]

When a ``predict_cases`` task starts, the worker writes its pid to MARKER and sleeps, so
a test can SIGKILL it in the middle of the task.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from celery.signals import task_prerun

from readerstudy.celery import app

MARKER = Path(sys.argv[1])
PAUSE = float(sys.argv[2])


@task_prerun.connect
def _pause(sender=None, **kwargs):
    if sender is not None and sender.name == "predictions.predict_cases":
        MARKER.write_text(str(os.getpid()))
        time.sleep(PAUSE)


if __name__ == "__main__":
    app.worker_main(["worker", *sys.argv[3:]])
