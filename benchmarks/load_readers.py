"""Readers under load: N readers sign in at once, open their cases, load every image as the
viewer does and submit their reads, against gunicorn, PostgreSQL and a Celery worker.

Set-up (in this process, against ``DATABASE_URL``, which must be PostgreSQL): phantom CT cases
imported into a new open study (slug ``load-<random>``), ``--readers`` reader accounts assigned
to it. Then gunicorn (``--workers``/``--threads``) serves the project on a loopback port, with
sessions and cache in Redis when ``CACHE_URL`` is set, and a Celery worker runs beside them
when ``CELERY_BROKER_URL`` is set (reading enqueues no task: it takes its share of the CPU, as
in production).

Each reader, in its own thread, over one keep-alive connection as a browser tab would:
GET the login page, POST the login form (all readers at once: the login burst; a sign-in
answered 503 "many readers are signing in" is POSTed again after its ``Retry-After``), then until its
worklist has no next case: GET the worklist, GET the case (opens it), GET every frame of every
series of the case (``Accept: application/octet-stream``, as the viewer asks), POST the read;
one read in ten is POSTed a second time with the same submission id (a retry), which must
answer 200 with the first read.

Printed: p50/p95/max per endpoint (the refused sign-ins apart, and each reader's sign-in from
the first try to signed in), the image throughput (MB/s of frame bytes over the image
phase's wall time, all readers together), the wall time, and the check that every read is
stored exactly once (reads in the database == reads submitted, one per submission id, none
per (reader, case) twice). Exit status 1 when the check fails or a request failed.
Loopback only; bounded by ``--timeout`` (seconds).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rs_load CACHE_URL=redis://127.0.0.1:6379/13 \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 SECRET_KEY=x \\
        .venv/bin/python benchmarks/load_readers.py [--readers 50] [--cases 4] [--slices 48]
        [--size 256] [--workers N] [--threads 12] [--timeout 600]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.bench_serving import free_port, wait_for  # noqa: E402

PASSWORD = "load-test-password-123"
SINGLE_PART = {"Accept": "application/octet-stream"}


class Timings:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_endpoint: dict[str, list[float]] = defaultdict(list)
        self.failures: list[str] = []

    def add(self, endpoint: str, seconds: float) -> None:
        with self.lock:
            self.by_endpoint[endpoint].append(seconds)

    def move_last(self, endpoint: str, to: str) -> None:
        """File the last timing of ``endpoint`` under ``to`` (a refused sign-in)."""
        with self.lock:
            self.by_endpoint[to].append(self.by_endpoint[endpoint].pop())

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


class Browser:
    """One keep-alive connection with cookies, as one browser tab."""

    def __init__(self, port: int, timings: Timings) -> None:
        self.port, self.timings = port, timings
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, endpoint: str, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
                continue
            self.timings.add(endpoint, time.perf_counter() - started)
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            if response.will_close:
                self.connection.close()
                self.connection = None
            return response.status, data, response
        raise AssertionError("unreachable")

    def json(self, endpoint: str, method: str, path: str, payload: dict | None = None,
             expect: tuple[int, ...] = (200,)) -> dict:
        headers = {"Accept": "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers |= {"Content-Type": "application/json", "X-CSRFToken": self.cookies.get("csrftoken", ""),
                        "Referer": f"http://127.0.0.1:{self.port}/"}
        status, data, _ = self.request(endpoint, method, path, body, headers)
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
        return {"_status": status, **json.loads(data)} if data else {"_status": status}


def prepare(args: argparse.Namespace, var_dir: Path) -> tuple[str, list[str]]:
    """Phantom cases imported into a new open study with ``args.readers`` readers."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from fixtures.phantoms import PatientInfo, make_ct_phantom, write_ct_series
    from readerstudy.accounts.services import reader_create
    from readerstudy.imaging.importer import import_study
    from readerstudy.studies import services
    from readerstudy.studies.models import Study
    from tests.imaging.factory import manifest_row, write_manifest

    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database: the load test measures it.")
    call_command("migrate", verbosity=0)
    run = uuid.uuid4().hex[:6]
    rows = []
    started = time.perf_counter()
    for i in range(args.cases):
        label = "malignant" if i % 2 else "benign"
        phantom = make_ct_phantom(label=label, level="L1", seed=100 + i,
                                  shape=(args.slices, args.size, args.size))
        patient_id = f"LOAD{run}{i:03d}"
        write_ct_series(phantom, var_dir / "incoming" / patient_id / "ct_axial",
                        patient=PatientInfo(patient_id=patient_id, patient_name="LOAD^PHANTOM",
                                            birth_date=date(1950, 1, 1), sex="F", age=70),
                        uid_seed=f"load-{run}-{i}")
        x, y, z = phantom.lesion_center_lps
        rows.append(manifest_row(patient_id=patient_id, case_id=f"load-{run}-{i}", label=label,
                                 center_x=x, center_y=y, center_z=z,
                                 series=f"axial={patient_id}/ct_axial"))
    study = Study.objects.create(slug=f"load-{run}", title="load test", modality="CT",
                                 repeat_sample_size=0)
    import_study(study=study, manifest_text=write_manifest(var_dir / "m.csv", rows).read_text(),
                 dicom_root=var_dir / "incoming")
    print(f"set-up: {args.cases} phantom cases of {args.slices} x {args.size} x {args.size} "
          f"imported in {time.perf_counter() - started:.1f} s")
    usernames = []
    hashed = make_password(PASSWORD)  # the site's hasher, as a real sign-in checks it
    for n in range(args.readers):
        reader = reader_create(username=f"load_{run}_{n:02d}", password=PASSWORD,
                               role="resident", years_experience=2)
        reader.password = hashed
        reader.save(update_fields=["password"])
        services.assignment_create(study=study, reader=reader)
        usernames.append(reader.username)
    services.study_open(study=study)
    connection.close()
    return study.slug, usernames


def reader_session(port: int, slug: str, username: str, timings: Timings, start: threading.Barrier,
                   submitted: list[str], image_bytes: list[int], deadline: float) -> None:
    browser = Browser(port, timings)
    try:
        status, page, _ = browser.request("GET /login/", "GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"login page: {status}")
        form = urlencode({"username": username, "password": PASSWORD,
                          "csrfmiddlewaretoken": token.group(1).decode()}).encode()
        start.wait()  # every reader signs in at the same moment
        signing_in = time.perf_counter()
        while True:
            status, _, response = browser.request("POST /login/", "POST", "/login/", form, {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{port}/login/"})
            if status != 503 or time.monotonic() > deadline:
                break
            # Too many sign-ins at once: the page says so; the reader tries again when asked.
            timings.move_last("POST /login/", "POST /login/ (503 busy)")
            time.sleep(float(response.headers.get("Retry-After", "5")))
        if status != 302:
            raise RuntimeError(f"sign-in of {username}: {status}")
        timings.add("sign-in, all tries", time.perf_counter() - signing_in)
        while time.monotonic() < deadline:
            worklist = browser.json("GET worklist", "GET", f"/api/v1/reading/{slug}/worklist/")
            if not worklist["next"]:
                return
            code = worklist["next"]["code"]
            case = browser.json("GET case", "GET", f"/api/v1/reading/{slug}/cases/{code}/")
            for series in case["series"]:
                for instance in series["instances"]:
                    for frame in range(1, instance["number_of_frames"] + 1):
                        status, data, _ = browser.request(
                            "GET frame", "GET", f"{instance['frames_url']}/{frame}", None, SINGLE_PART)
                        if status != 200:
                            raise RuntimeError(f"frame: {status}")
                        image_bytes.append(len(data))
            submission = str(uuid.uuid4())
            read = {"case": code, "round": "first", "submission_id": submission,
                    "call": "benign", "confidence": 20}
            browser.json("POST read", "POST", f"/api/v1/reading/{slug}/reads/", read, expect=(201,))
            submitted.append(submission)
            if random.random() < 0.1:  # a retry of the same submission: the first read comes back
                again = browser.json("POST read (retry)", "POST", f"/api/v1/reading/{slug}/reads/",
                                     read, expect=(200,))
                if again["submission_id"] != submission:
                    raise RuntimeError("a retried submission came back as another read")
    except Exception as exc:
        timings.fail(f"{username}: {type(exc).__name__}: {exc}")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--cases", type=int, default=4, help="cases per reader (all read every case)")
    parser.add_argument("--slices", type=int, default=48)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=12,
                        help="per worker; 12 as docs/deployment.md recommends")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (loopback).")

    with tempfile.TemporaryDirectory(prefix="load-readers-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["READERSTUDY_VAR_DIR"] = str(tmp / "var")
        slug, usernames = prepare(args, tmp)
        env = dict(os.environ)
        port = free_port()
        processes = [subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "readerstudy.wsgi", "--workers",
             str(args.workers), "--threads", str(args.threads), "--worker-class", "gthread",
             "--keep-alive", "5", "--preload", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=(tmp / "gunicorn.log").open("wb"), stderr=subprocess.STDOUT)]
        broker = os.environ.get("CELERY_BROKER_URL")
        if broker:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "readerstudy", "worker", "-P", "solo",
                 "-Q", f"load-{slug}", "-n", f"load-{slug}@%h", "--without-gossip",
                 "--without-mingle", "-l", "WARNING"],
                cwd=ROOT, env=env,
                stdout=(tmp / "worker.log").open("wb"), stderr=subprocess.STDOUT))
        try:
            wait_for(port, tmp / "gunicorn.log", path="/login/")
            timings = Timings()
            submitted: list[str] = []
            image_bytes: list[int] = []
            barrier = threading.Barrier(len(usernames), timeout=120)
            deadline = time.monotonic() + args.timeout
            threads = [threading.Thread(target=reader_session, args=(
                port, slug, name, timings, barrier, submitted, image_bytes, deadline))
                for name in usernames]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(1.0, deadline - time.monotonic() + 30))
            wall = time.perf_counter() - started
            frames = timings.by_endpoint.get("GET frame", [])
            check = stored_exactly_once(slug, submitted, len(usernames) * args.cases)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

    print(f"\n{len(usernames)} readers, {args.cases} cases each ({args.slices} frames of "
          f"{args.size} x {args.size}), gunicorn {args.workers} workers x {args.threads} threads, "
          f"PostgreSQL{', Redis cache and sessions' if os.environ.get('CACHE_URL') else ''}"
          f"{', a Celery worker' if broker else ''}; wall {wall:.1f} s")
    print(f"{'endpoint':<22}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for endpoint, values in sorted(timings.by_endpoint.items()):
        print(f"{endpoint:<22}{len(values):>7}{percentile(values, 50) * 1e3:>10.1f}"
              f"{percentile(values, 95) * 1e3:>10.1f}{max(values) * 1e3:>10.1f}")
    if frames:
        print(f"images: {sum(image_bytes) / 1e6:.1f} MB in {len(frames)} frames, "
              f"{sum(image_bytes) / 1e6 / wall:.1f} MB/s over the run (all readers together)")
    print(check)
    for failure in timings.failures[:10]:
        print("FAILED", failure)
    if timings.failures or not check.startswith("OK"):
        sys.exit(1)


def stored_exactly_once(slug: str, submitted: list[str], expected: int) -> str:
    from django.db import connection
    from django.db.models import Count

    from readerstudy.studies.models import Read

    connection.close()
    reads = Read.objects.filter(study__slug=slug)
    stored = reads.count()
    ids = set(map(str, reads.values_list("submission_id", flat=True)))
    doubled = reads.values("reader", "case").annotate(n=Count("pk")).filter(n__gt=1).count()
    ok = stored == len(submitted) == expected and ids == set(submitted) and doubled == 0
    return (f"{'OK' if ok else 'MISMATCH'}: {stored} reads stored, {len(submitted)} submitted "
            f"({expected} expected), {len(ids & set(submitted))} submission ids matched, "
            f"{doubled} (reader, case) pairs stored twice")


if __name__ == "__main__":
    main()
