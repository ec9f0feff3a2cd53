"""The web tier never loads PyTorch: the URL conf, every view it imports, the WSGI
application and the pages a coordinator and a trainee open (the model page and the
trainee's feedback included) leave torch and MONAI unimported; the worker alone loads them
(readerstudy/predictions/worker.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: the test process has long imported torch for other tests.
PROBE = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.urls import get_resolver, resolve
resolve("/")  # imports ROOT_URLCONF and, through its include()s, every app's URLs and views
assert get_resolver().url_patterns
from readerstudy.wsgi import application

call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client
from readerstudy.accounts.services import reader_create
from readerstudy.studies.models import Study

study = Study.objects.create(slug="probe", title="Probe", modality="CT", mode="teaching")
coordinator = get_user_model().objects.create_user(username="coordinator", is_staff=True)
trainee = reader_create(username="trainee", password="a long probe password", role="resident",
                        years_experience=1)
pages = {
    coordinator: ["/coordinator/", "/coordinator/probe/", "/coordinator/probe/model/",
                  "/coordinator/probe/exports/", "/api/v1/studies/probe/inference/",
                  "/api/v1/studies/probe/predictions/", "/admin/", "/api/schema/"],
    trainee: ["/", "/api/v1/feedback/probe/C-1/"],
    None: ["/login/"],
}
status = {}
for user, urls in pages.items():
    client = Client()
    if user is not None:
        client.force_login(user)
    for url in urls:
        status[url] = client.get(url).status_code
print(json.dumps({
    "urlconf": settings.ROOT_URLCONF,
    "status": status,
    "loaded": sorted(m for m in ("torch", "monai") if m in sys.modules),
    "inference": sorted(m for m in sys.modules if m.startswith("inference.")),
}))
"""


def test_the_url_conf_and_the_pages_leave_torch_and_monai_unimported(tmp_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="readerstudy.settings",
               READERSTUDY_VAR_DIR=str(tmp_path), DATABASE_URL="")
    env.setdefault("SECRET_KEY", "a key for this import probe only")

    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, check=False)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["urlconf"] == "readerstudy.urls"
    # Every page rendered (the feedback on a case the trainee was never given is a 404).
    assert {url: code for url, code in result["status"].items() if code != 200} == {
        "/api/v1/feedback/probe/C-1/": 404}
    assert result["loaded"] == []
    # What the web process reads of the model package is torch-free.
    assert set(result["inference"]) <= {
        "inference.dicom_geometry", "inference.postprocess", "inference.preprocess",
    }
