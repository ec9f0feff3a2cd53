"""How fast the reading page shows a CT: time to the first image and to the whole series.

A 300-slice axial CT (512 x 512, the project's phantom) is imported into a throw-away
database, the site runs on loopback as deployed (gunicorn, ``docs/deployment.md``, with
whitenoise for the viewer bundle; ``--server runserver`` for the development server), and
headless Chromium opens the case in a fresh browser context (empty cache) for each run. Times are from navigation start (``performance.timeOrigin``) to

- first image: the axial slice through the target vertebra (the phantom's lesion) rendered on screen;
- sagittal reformat first shown: the reformat's first render (it then fills in as slices arrive);
- whole series: every slice loaded and the reformats (sagittal, coronal) rendered with all of them.

Targets: first image < 0.4 s, whole series < 2 s (issue #17; on 2 cores with software WebGL).

In the same run, the same stored files are fetched by the same browser as static files (whitenoise,
the same server, a fresh context, all requests at once): the whole series' ratio to that transfer
says how far the page is from what the network and the server alone allow.

Usage::

    .venv/bin/python benchmarks/bench_viewer.py [--runs 3] [--slices 300] [--size 512]
        [--server gunicorn|runserver]
        [--workdir DIR]   # keep the imported case there and reuse it next time

Needs the built viewer (``cd frontend && npm run build``) and Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader",
]
TARGET_FIRST_IMAGE_S = 0.4
TARGET_SERIES_S = 2.0
STATIC_COPY = ROOT / "frontend" / "dist" / "bench-static"  # served under /static/bench-static/ (git-ignored)
USERNAME, PASSWORD = "bench-reader", "bench-reader-password"


def prepare(workdir: Path, *, slices: int, size: int) -> dict:
    """Imports one CT case into a fresh database under ``workdir``; returns what the runs need."""
    marker = workdir / "bench.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if (info["slices"], info["size"]) == (slices, size) and len(info.get("urls", [])) == 2:
            return info
        raise SystemExit(f"{workdir} holds a {info['slices']}-slice case; use another --workdir.")

    import django

    django.setup()
    from django.core.management import call_command

    from fixtures.phantoms.ct import make_ct_phantom
    from fixtures.phantoms.dicom_writer import PatientInfo, write_ct_series
    from readerstudy.accounts.services import reader_create
    from readerstudy.imaging.importer import import_study
    from readerstudy.imaging.manifest import REQUIRED_COLUMNS
    from readerstudy.studies import services
    from readerstudy.studies.models import Study

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    volume = make_ct_phantom(label="malignant", level="L1", seed=1, shape=(slices, size, size))
    x, y, z = volume.lesion_center_lps
    lines = [",".join(REQUIRED_COLUMNS)]
    # Two patients with the same images: the first is opened with an empty browser cache, the
    # second right after it, as a reader goes from case to case.
    for n in (1, 2):
        write_ct_series(volume, workdir / "incoming" / f"ct{n}", patient=PatientInfo(
            patient_id=f"BENCH-{n}", patient_name="BENCH^PHANTOM", birth_date=date(1950, 1, 1), sex="F", age=72))
        row = {key: "" for key in REQUIRED_COLUMNS} | {
            "patient_id": f"BENCH-{n}", "case_id": f"bench-{n}", "label": "malignant",
            "label_source": "histopathology", "test_set": "internal", "vertebra_level": "L1",
            "center_x": str(x), "center_y": str(y), "center_z": str(z), "age": "72", "sex": "F",
            "modality": "CT", "series": f"axial=ct{n}",
        }
        lines.append(",".join(row[key] for key in REQUIRED_COLUMNS))
    manifest = "\n".join(lines) + "\n"
    print(f"phantom written in {time.perf_counter() - started:.1f} s", flush=True)
    reader = reader_create(username=USERNAME, password=PASSWORD, role="resident", years_experience=2)
    study = Study.objects.create(slug="bench", title="Viewer benchmark", modality="CT", seed=1,
                                 repeat_sample_size=0)
    started = time.perf_counter()
    result = import_study(study=study, manifest_text=manifest, dicom_root=workdir / "incoming")
    print(f"imported {result.n_instances} instances in {time.perf_counter() - started:.1f} s", flush=True)
    shutil.rmtree(workdir / "incoming")
    services.assignment_create(study=study, reader=reader)
    services.study_open(study=study)
    info = {"slices": slices, "size": size,
            "urls": [f"/read/bench/{code}/?round=first" for code in result.case_codes]}
    marker.write_text(json.dumps(info))
    return info


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(kind: str, port: int) -> list[str]:
    if kind == "runserver":
        return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"]
    # As docs/deployment.md runs it: about 2 x cores + 1 workers, 2 threads each, keep-alive.
    workers = 2 * (os.cpu_count() or 1) + 1
    return [str(Path(sys.executable).parent / "gunicorn"), "readerstudy.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", "2", "--keep-alive", "5", "--preload"]


def start_server(kind: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # The request log goes to a file: a pipe nobody reads fills up and stalls the server.
    with log.open("w") as handle:
        server = subprocess.Popen(server_command(kind, port), cwd=ROOT, env=env, stdout=handle,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{base}/login/", timeout=2)
            return server, base
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the server did not start within 120 s")


MARKS = """() => {
  const at = (name) => { const m = performance.getEntriesByName(name)[0]; return m ? m.startTime : null; };
  const rr = window.readingRoom || {};
  return { first: at('reading-room:first-image'), series: at('reading-room:series-loaded'),
           state: rr.state, failures: rr.failures || [], timeline: rr.timeline || [],
           images: rr.progress ? rr.progress.total : null };
}"""

RENDERER = """() => {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return 'no WebGL 2 (CPU rendering)';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
}"""


def open_case(page, url: str, console: list[str]) -> dict:
    page.goto(url)
    try:
        page.wait_for_selector('body[data-viewer-state="loaded"], body[data-viewer-state="failed"]',
                               state="attached", timeout=120_000)
    except Exception:
        print("the page did not finish loading; its console said:\n  " + "\n  ".join(console[-20:]))
        raise
    result = page.evaluate(MARKS)
    result["renderer"] = page.evaluate(RENDERER)
    return result


STATIC_FETCH = """async (urls) => {
  const started = performance.now();
  const sizes = await Promise.all(urls.map((url) => fetch(url).then((r) => r.arrayBuffer()).then((b) => b.byteLength)));
  return { seconds: (performance.now() - started) / 1000, bytes: sizes.reduce((a, b) => a + b, 0) };
}"""


def copy_as_static(workdir: Path, slices: int) -> list[str]:
    """Hard links to one case's stored axial series under the viewer's static folder; their URLs."""
    by_series: dict[Path, list[Path]] = {}
    for path in sorted((workdir / "var" / "dicom").rglob("*")):
        if path.is_file() and path.suffix == ".dcm":
            by_series.setdefault(path.parent, []).append(path)
    files = next((f for f in by_series.values() if len(f) == slices), None)
    if files is None:
        raise SystemExit(f"no stored series of {slices} files under {workdir / 'var' / 'dicom'}")
    shutil.rmtree(STATIC_COPY, ignore_errors=True)
    STATIC_COPY.mkdir(parents=True)
    urls = []
    for n, source in enumerate(files):
        target = STATIC_COPY / f"{n:05d}.dcm"
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        urls.append(f"/static/bench-static/{target.name}")
    return urls


def static_transfer(browser, base: str, urls: list[str]) -> dict:
    """The stored files fetched as static files by a fresh browser context, all at once."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{base}/login/")
        return page.evaluate(STATIC_FETCH, urls)
    finally:
        context.close()


def run_once(browser, base: str, urls: list[str]) -> tuple[dict, dict]:
    """One reader session in a fresh browser context: the first case cold, the next warm."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"error: {error}"))
        page.goto(f"{base}/login/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        cold = open_case(page, base + urls[0], console)
        warm = open_case(page, base + urls[1], console)
        return cold, warm
    finally:
        context.close()


def sagittal_shown(result: dict) -> float:
    """When the sagittal reformat first appeared (seconds), filling in as slices arrive."""
    times = [t for label, t in result["timeline"] if label.startswith("reformat") and label.endswith("shown")]
    return times[0] / 1000 if times else float("nan")


def describe(result: dict) -> str:
    first = result["first"] / 1000 if result["first"] is not None else float("nan")
    series = result["series"] / 1000 if result["series"] is not None else float("nan")
    text = (f"first image {first:.2f} s, sagittal reformat first shown {sagittal_shown(result):.2f} s, "
            f"whole series ({result['images']} images) {series:.2f} s")
    if result["state"] != "loaded":
        text += f", state {result['state']}, failures {result['failures'][:3]}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--workdir", type=Path, help="keep the imported case here and reuse it")
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn",
                        help="the production server (default) or Django's development server")
    args = parser.parse_args()
    if not (ROOT / "frontend/dist/viewer/.vite/manifest.json").exists():
        raise SystemExit("Build the viewer first: cd frontend && npm ci && npm run build")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    (workdir / "var").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, READERSTUDY_VAR_DIR=str(workdir / "var"), DJANGO_SETTINGS_MODULE="readerstudy.settings",
               DEBUG="false", CELERY_TASK_ALWAYS_EAGER="true", DATABASE_URL="")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    info = prepare(workdir, slices=args.slices, size=args.size)

    from playwright.sync_api import sync_playwright

    static_urls = copy_as_static(workdir, info["slices"])
    server, base = start_server(args.server, env, workdir / "server.log")
    results = []
    statics = []
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            version = browser.version
            for run in range(1, args.runs + 1):
                cold, warm = run_once(browser, base, info["urls"])
                results.append((cold, warm))
                statics.append(static_transfer(browser, base, static_urls))
                print(f"run {run}, the same {len(static_urls)} files as static files: "
                      f"{statics[-1]['bytes'] / 2**20:.0f} MiB in {statics[-1]['seconds']:.2f} s", flush=True)
                print(f"run {run}, first case (empty cache): {describe(cold)}", flush=True)
                print("  steps (ms): " + ", ".join(f"{label} {t}" for label, t in cold["timeline"]))
                print(f"run {run}, next case (viewer cached): {describe(warm)}", flush=True)
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: gunicorn's workers take their time
            server.kill()
            server.wait(timeout=30)
        shutil.rmtree(STATIC_COPY, ignore_errors=True)
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"CT {info['slices']} x {info['size']} x {info['size']}, {args.runs} runs, server {args.server}, "
          f"Chromium {version}, "
          f"WebGL: {results[0][0]['renderer']}; {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    static_s = statistics.median(s["seconds"] for s in statics)
    print(f"static files: median {static_s:.2f} s for the series' {statics[0]['bytes'] / 2**20:.0f} MiB")
    for index, name in ((0, "first case, empty cache"), (1, "next case, viewer cached")):
        first = statistics.median(r[index]["first"] for r in results) / 1000
        series = statistics.median(r[index]["series"] for r in results) / 1000
        sagittal = statistics.median(sagittal_shown(r[index]) for r in results)
        print(f"{name}: median first image {first:.2f} s (target < {TARGET_FIRST_IMAGE_S} s, "
              f"{'OK' if first < TARGET_FIRST_IMAGE_S else 'SLOW'}), sagittal reformat first shown "
              f"{sagittal:.2f} s, median whole series {series:.2f} s "
              f"(target < {TARGET_SERIES_S:.0f} s, {'OK' if series < TARGET_SERIES_S else 'SLOW'}), "
              f"{series / static_s:.1f} x the static transfer")


if __name__ == "__main__":
    main()
