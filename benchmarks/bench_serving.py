"""Serving speed: a 300-slice 512 x 512 CT phantom series through the Django DICOMweb views
versus the same stored files served as plain static files, by the same production server.

Target (the issue): Django within 2x of plain static serving.

One gunicorn (``--workers``/``--threads`` as printed) runs one WSGI application: WhiteNoise
serving the ``dicom`` storage folder under ``/static-dicom/`` (no Django, no authorisation:
the limit) in front of the Django project (session cookie, worklist check, ETag...). Both
sides therefore share the server, the workers, the sockets and the client. ``python -m
http.server`` on the same folder is printed as a second reference, and with
``--runserver`` the Django development server too (not a production figure).

The database is SQLite with persistent connections (``DATABASE_URL``, as a PostgreSQL
deployment has). Sessions come from Redis (``CACHE_URL``, cached_db sessions) when a
``redis-server`` is on the PATH, else from the database; the output says which.

When nginx is installed, the production set-up of ``docs/deployment.md`` is timed as well:
nginx proxying to a second gunicorn, compared with nginx serving the files itself.

Frames are timed both ways: as multipart/related (the WADO-RS default, built by Django) and
single part (``Accept: application/octet-stream``, as the viewer asks; sent by ``sendfile``).

Printed, all from one run: the time one reader takes to fetch the whole series, one request
after the other and over the 6 parallel connections a browser opens; instances per second
with 20 concurrent readers; the servers' CPU time per request (other load on the machine
barely moves it); and the ratios to static serving. Each figure is the median of
``--repeats`` runs taken in turns. Clients keep connections alive as browsers do.
Loopback only; about 2.5 minutes on two cores.

    .venv/bin/python benchmarks/bench_serving.py [--slices 300] [--size 512] [--readers 20]
        [--workers N] [--threads N] [--cache auto|redis|db] [--nginx auto|no] [--runserver]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC_PREFIX = "/static-dicom/"
# What the viewer sends for a frame: the frame alone, sent from the stored file by sendfile().
SINGLE_PART = {"Accept": "application/octet-stream"}


def wsgi_app():
    """The benchmark's WSGI application (gunicorn ``bench_serving:wsgi_app()``): WhiteNoise
    serving ``BENCH_STATIC_ROOT`` under ``/static-dicom/``, in front of the Django project."""
    from django.urls import resolve
    from whitenoise import WhiteNoise

    from readerstudy.wsgi import application

    resolve("/wado")  # import every view now, before gunicorn forks, not on a first request
    return WhiteNoise(application, root=os.environ["BENCH_STATIC_ROOT"], prefix=STATIC_PREFIX,
                      autorefresh=False, max_age=0)


NGINX_CONFIG = """
worker_processes 1;
pid {tmp}/nginx.pid;
events {{ worker_connections 512; }}
http {{
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  default_type application/octet-stream;
  client_body_temp_path {tmp}/nginx-body; proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fcgi; uwsgi_temp_path {tmp}/nginx-uwsgi; scgi_temp_path {tmp}/nginx-scgi;
  upstream readerstudy {{ server 127.0.0.1:{upstream}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    location {static_prefix} {{ alias {dicom}/; }}
    location / {{
      proxy_pass http://readerstudy;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffers 64 16k;
      proxy_busy_buffers_size 64k;
    }}
  }}
}}
"""

# Accepted sockets inherit TCP_NODELAY from the listener. Without it a keep-alive client waits
# for its own delayed ACK (40 ms on Linux) whenever a response ends in a small segment after
# gunicorn's separate header write; nginx in front sets it by default (tcp_nodelay on).
# gunicorn 27 sets it on its TCP listeners itself (gunicorn.sock.TCPSocket); the hook keeps the
# benchmark independent of that.
GUNICORN_CONFIG = """
import socket


def when_ready(server):
    for listener in server.LISTENERS:
        listener.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
"""


# -- setting up --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, log: Path, path: str = "/", timeout: float = 180) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f} s; its log ends:\n{tail}")


@dataclass
class Prepared:
    session_cookie: str
    wado: list[str]
    frames: list[str]
    static: list[str]
    n_bytes: int


def prepare(var_dir: Path, slices: int, size: int) -> Prepared:
    """Draw the phantom, import it into an open study with one reader, sign that reader in;
    return the session cookie and the URLs of the axial series (Django and static)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from fixtures.phantoms import PatientInfo, make_ct_phantom, write_ct_series
    from readerstudy.accounts.services import reader_create
    from readerstudy.imaging.importer import import_study
    from readerstudy.imaging.selectors import case_series_files, viewer_series_for_case
    from readerstudy.studies import services
    from readerstudy.studies.models import Case, Study
    from tests.imaging.factory import manifest_row, write_manifest

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    phantom = make_ct_phantom(label="malignant", level="L1", seed=3, shape=(slices, size, size))
    patient = PatientInfo(patient_id="BENCH0001", patient_name="BENCHMARK^PHANTOM",
                          birth_date=date(1950, 1, 1), sex="F", age=72)
    write_ct_series(phantom, var_dir / "incoming" / "BENCH0001" / "ct_axial", patient=patient,
                    uid_seed="serving")
    x, y, z = phantom.lesion_center_lps
    row = manifest_row(patient_id="BENCH0001", case_id="bench-1", center_x=x, center_y=y, center_z=z,
                       series="axial=BENCH0001/ct_axial")
    print(f"phantom {slices} x {size} x {size} drawn and written: {time.perf_counter() - started:.1f} s")

    study = Study.objects.create(slug="bench", title="bench", modality="CT", repeat_sample_size=0)
    started = time.perf_counter()
    import_study(study=study, manifest_text=write_manifest(var_dir / "m.csv", [row]).read_text(),
                 dicom_root=var_dir / "incoming")
    print(f"import (+ derived sagittal): {time.perf_counter() - started:.1f} s")
    reader = reader_create(username="bench_reader", password="bench-password-123", role="resident",
                           years_experience=2)
    services.assignment_create(study=study, reader=reader)
    services.study_open(study=study)

    client = Client()
    client.force_login(reader)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    case = Case.objects.get(study=study)
    axial = viewer_series_for_case(case=case)[0]
    names = case_series_files(case)["axial"]
    storage_root = Path(settings.STORAGES["dicom"]["OPTIONS"]["location"])
    return Prepared(
        session_cookie=cookie,
        wado=[i["wado_uri"] for i in axial["instances"]],
        frames=[f"{i['frames_url']}/1" for i in axial["instances"]],
        static=[STATIC_PREFIX + name for name in names],
        n_bytes=sum((storage_root / name).stat().st_size for name in names),
    )


# -- the client ----------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it (as a browser does)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port, self.headers = port, headers
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> int:
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.connection.request("GET", path, headers=self.headers)
                response = self.connection.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
                continue
            if response.will_close:
                self.close()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
            return len(body)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of these processes (Linux ``/proc``; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def server_pids(process: subprocess.Popen) -> list[int]:
    """The server process and its children (gunicorn's workers)."""
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    except OSError:
        children = []
    return [process.pid, *map(int, children)]


@dataclass
class Target:
    label: str
    port: int
    urls: list[str]
    headers: dict[str, str]
    servers: list[subprocess.Popen]
    cpu: float = 0.0
    requests: int = 0

    def measured(self, run: Callable[[], float], n_requests: int) -> float:
        """``run()``'s result, adding the servers' CPU time and requests to this target's count."""
        pids = [pid for server in self.servers for pid in server_pids(server)]
        before = cpu_seconds(pids)
        result = run()
        self.cpu += cpu_seconds(pids) - before
        self.requests += n_requests
        return result


def fetch_series(target: Target, connections: int) -> float:
    """Seconds to fetch every URL of ``target`` over ``connections`` parallel connections."""
    pending = iter(target.urls)
    lock = threading.Lock()

    def worker() -> int:
        connection, n = Connection(target.port, target.headers), 0
        try:
            while True:
                with lock:
                    url = next(pending, None)
                if url is None:
                    return n
                n += connection.get(url)
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(lambda _: worker(), range(connections)))
    return time.perf_counter() - started


def concurrent_rate(target: Target, readers: int, per_reader: int) -> float:
    """Instances per second when ``readers`` readers each fetch ``per_reader`` instances."""

    def one_reader(offset: int) -> int:
        connection = Connection(target.port, target.headers)
        try:
            for k in range(per_reader):
                connection.get(target.urls[(offset + k) % len(target.urls)])
        finally:
            connection.close()
        return per_reader

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=readers) as pool:
        total = sum(pool.map(one_reader, [r * 13 for r in range(readers)]))
    return total / (time.perf_counter() - started)


def interleaved(targets: list[Target], repeats: int, run: Callable[[Target], float],
                n_requests: int) -> list[float]:
    """The median of ``repeats`` runs per target, the targets taking turns in each round so
    that a burst of load from elsewhere on the machine spreads over all of them."""
    results: list[list[float]] = [[] for _ in targets]
    for _ in range(repeats):
        for i, target in enumerate(targets):
            results[i].append(target.measured(lambda target=target: run(target), n_requests))
    return [statistics.median(r) for r in results]


# -- running -------------------------------------------------------------------------------------


def start(command: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(list(command), cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_gunicorn(args: argparse.Namespace, *, port: int, tmp: Path, env: dict[str, str],
                   log: Path) -> subprocess.Popen:
    config = tmp / "gunicorn.conf.py"
    config.write_text(GUNICORN_CONFIG)
    return start(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", str(config), "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads), "--keep-alive", "5", "--preload",
         "--chdir", str(ROOT / "benchmarks"), "bench_serving:wsgi_app()"],
        cwd=ROOT, env=env, log=log)


def gunicorn_version() -> str:
    from importlib.metadata import version

    return version("gunicorn")


def report(title: str, rows: list[tuple[str, float]], *, unit: str, reference: float,
           higher_is_better: bool, versus: str = "static") -> None:
    print(title)
    for label, value in rows:
        if min(value, reference) <= 0:  # too few clock ticks to tell
            print(f"  {label:<50} {value:8.2f} {unit:<12}   n/a")
            continue
        ratio = reference / value if higher_is_better else value / reference
        print(f"  {label:<50} {value:8.2f} {unit:<12} {ratio:5.2f}x {versus}")


def measure_and_report(targets: list[Target], args: argparse.Namespace, *, versus: str) -> None:
    """Every figure for ``targets``, the first being the reference the ratios are to."""
    n = len(targets[0].urls)
    sequential = interleaved(targets, args.repeats, lambda t: fetch_series(t, 1), n)
    parallel = interleaved(targets, args.repeats, lambda t: fetch_series(t, 6), n)
    rates = interleaved(targets, args.repeats, lambda t: concurrent_rate(t, args.readers, args.per_reader),
                        args.readers * args.per_reader)
    labels = [t.label for t in targets]
    report(f"one reader, whole series, one request at a time (median of {args.repeats}):",
           list(zip(labels, sequential, strict=True)), unit="s", reference=sequential[0],
           higher_is_better=False, versus=versus)
    report(f"one reader, whole series, 6 parallel connections (median of {args.repeats}):",
           list(zip(labels, parallel, strict=True)), unit="s", reference=parallel[0],
           higher_is_better=False, versus=versus)
    report(f"{args.readers} concurrent readers, {args.per_reader} instances each (median of {args.repeats}):",
           list(zip(labels, rates, strict=True)), unit="instances/s", reference=rates[0],
           higher_is_better=True, versus=versus)
    cpu = [(t.label, 1e3 * t.cpu / t.requests) for t in targets]
    report("server CPU per request, all of the above (user + system; insensitive to other load):",
           cpu, unit="ms", reference=cpu[0][1], higher_is_better=False, versus=versus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--per-reader", type=int, default=30, help="instances each concurrent reader fetches")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn worker processes (default: 2 x cores + 1)")
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--repeats", type=int, default=3, help="each figure: median of this many runs")
    parser.add_argument("--cache", choices=["auto", "redis", "db"], default="auto",
                        help="sessions from Redis (cached_db) or from the database")
    parser.add_argument("--nginx", choices=["auto", "no"], default="auto",
                        help="also time the production set-up behind nginx when nginx is on the PATH")
    parser.add_argument("--runserver", action="store_true", help="also time manage.py runserver")
    args = parser.parse_args()
    redis_server = shutil.which("redis-server") if args.cache != "db" else None
    if args.cache == "redis" and redis_server is None:
        parser.error("--cache redis: no redis-server on the PATH")
    nginx = shutil.which("nginx") or next(
        (str(p) for p in (Path("/usr/sbin/nginx"), Path("/usr/local/sbin/nginx")) if p.exists()), None)
    if args.nginx == "no":
        nginx = None

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx's worker (nobody) reads the stored files
        var_dir, logs = tmp / "var", tmp / "logs"
        var_dir.mkdir()
        logs.mkdir()
        ports = {name: free_port() for name in
                 ("gunicorn", "http.server", "runserver", "redis", "nginx", "gunicorn-behind-nginx")}
        env = os.environ | {
            "READERSTUDY_VAR_DIR": str(var_dir), "DEBUG": "0",
            "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
            "BENCH_STATIC_ROOT": str(var_dir / "dicom"), "PYTHONPATH": str(ROOT),
        }
        servers: dict[str, subprocess.Popen] = {}
        try:
            if redis_server:
                servers["redis"] = start([redis_server, "--port", str(ports["redis"]), "--bind", "127.0.0.1",
                                          "--save", "", "--appendonly", "no"], cwd=tmp, env=env,
                                         log=logs / "redis.log")
                env["CACHE_URL"] = f"redis://127.0.0.1:{ports['redis']}/0"
            os.environ.update(env)
            prepared = prepare(var_dir, args.slices, args.size)
            dicom = var_dir / "dicom"

            servers["gunicorn"] = start_gunicorn(args, port=ports["gunicorn"], tmp=tmp, env=env,
                                                 log=logs / "gunicorn.log")
            servers["http.server"] = start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                            str(ports["http.server"])], cwd=dicom, env=env,
                                           log=logs / "http.server.log")
            if args.runserver:
                servers["runserver"] = start([sys.executable, "manage.py", "runserver", "--noreload",
                                              f"127.0.0.1:{ports['runserver']}"], cwd=ROOT, env=env,
                                             log=logs / "runserver.log")
            if nginx:
                servers["gunicorn-behind-nginx"] = start_gunicorn(
                    args, port=ports["gunicorn-behind-nginx"], tmp=tmp, env=env,
                    log=logs / "gunicorn-behind-nginx.log")
                (tmp / "nginx.conf").write_text(NGINX_CONFIG.format(
                    tmp=tmp, upstream=ports["gunicorn-behind-nginx"], port=ports["nginx"], dicom=dicom,
                    static_prefix=STATIC_PREFIX))
                servers["nginx"] = start([nginx, "-p", str(tmp), "-e", str(logs / "nginx.log"),
                                          "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
                                         cwd=tmp, env=env, log=logs / "nginx.out")
            for name in servers:
                if name != "redis":
                    wait_for(ports[name], logs / f"{name}.log")

            session = {"Cookie": prepared.session_cookie}
            plain = [u.removeprefix(STATIC_PREFIX.rstrip("/")) for u in prepared.static]
            targets = [
                Target("static files (WhiteNoise, gunicorn)", ports["gunicorn"], prepared.static, {},
                       [servers["gunicorn"]]),
                Target("Django WADO-URI (gunicorn)", ports["gunicorn"], prepared.wado, session,
                       [servers["gunicorn"]]),
                Target("Django WADO-RS frames (gunicorn)", ports["gunicorn"], prepared.frames, session,
                       [servers["gunicorn"]]),
                Target("Django WADO-RS frame, single part (gunicorn)", ports["gunicorn"], prepared.frames,
                       session | SINGLE_PART, [servers["gunicorn"]]),
                Target("static files (python -m http.server)", ports["http.server"], plain, {},
                       [servers["http.server"]]),
            ]
            if args.runserver:
                targets.append(Target("Django WADO-RS frames (runserver)", ports["runserver"], prepared.frames,
                                      session, [servers["runserver"]]))
            behind_nginx = []
            if nginx:
                pair = [servers["nginx"], servers["gunicorn-behind-nginx"]]
                behind_nginx = [
                    Target("static files (nginx)", ports["nginx"], prepared.static, {}, pair),
                    Target("Django WADO-URI (nginx proxy)", ports["nginx"], prepared.wado,
                           session, pair),
                    Target("Django WADO-RS frames (nginx proxy)", ports["nginx"], prepared.frames, session, pair),
                    Target("Django WADO-RS frame, single part (nginx proxy)", ports["nginx"], prepared.frames,
                           session | SINGLE_PART, pair),
                ]
            for target in targets + behind_nginx:  # warm up every worker (connections, first grants)
                concurrent_rate(target, readers=args.workers * args.threads, per_reader=2)

            print(f"gunicorn {gunicorn_version()}: {args.workers} workers x {args.threads} threads (gthread), "
                  f"preloaded, TCP_NODELAY, sendfile; sessions from "
                  f"{'Redis (cached_db)' if redis_server else 'the database'}; SQLite with persistent "
                  f"connections; {os.cpu_count()} cores shared by servers and client")
            print(f"series: {len(prepared.static)} instances, {prepared.n_bytes / 2**20:.0f} MiB; image access "
                  f"grants: {os.environ.get('READERSTUDY_IMAGE_ACCESS_CACHE_SECONDS', '5 (default)')} s")
            started = time.perf_counter()
            measure_and_report(targets, args, versus="static")
            if behind_nginx:
                print("behind nginx (the production set-up, docs/deployment.md); ratios to nginx's own "
                      "static serving:")
                measure_and_report(behind_nginx, args, versus="nginx")
            else:
                print("(nginx not timed: none on the PATH, or --nginx no)")
            print(f"measured in {time.perf_counter() - started:.0f} s")
        finally:
            for server in reversed(list(servers.values())):
                stop(server)


if __name__ == "__main__":
    main()
