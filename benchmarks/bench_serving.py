"""Serving speed: a 300-slice 512 x 512 CT series through the Django DICOMweb views versus the
same stored files from a plain static file server (the limit).

Prints, for both: the time one reader takes to fetch the whole series (WADO-URI files, and
WADO-RS frames for Django), instances per second with 20 concurrent readers, and the ratio.
Target: Django within 2x of static serving. Runs against real servers on loopback
(``manage.py runserver --noreload`` and ``python -m http.server``) in a temporary folder.

    .venv/bin/python benchmarks/bench_serving.py [--slices 300] [--size 512] [--readers 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def fetch(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return len(response.read())


def prepare(var_dir: Path, slices: int, size: int) -> tuple[str, list[str], list[str], list[str]]:
    """Import the series; return a reader's token, WADO-URI urls, frame urls and storage names."""
    os.environ["READERSTUDY_VAR_DIR"] = str(var_dir)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from readerstudy.accounts.services import reader_create
    from readerstudy.imaging.importer import import_study
    from readerstudy.imaging.selectors import viewer_series_for_case
    from readerstudy.studies import services
    from readerstudy.studies.models import Case, Study
    from tests.imaging.factory import ct_case, write_manifest

    call_command("migrate", verbosity=0)
    study = Study.objects.create(slug="bench", title="bench", modality="CT", repeat_sample_size=0)
    incoming = var_dir / "incoming"
    row = ct_case(incoming, n=slices, rows=size, columns=size, slice_spacing=1.0)
    started = time.perf_counter()
    import_study(study=study, manifest_text=write_manifest(var_dir / "m.csv", [row]).read_text(),
                 dicom_root=incoming)
    print(f"import of {slices} slices of {size}x{size} (+ derived sagittal): {time.perf_counter() - started:.1f} s")
    reader = reader_create(username="bench_reader", password="bench-password-123", role="resident",
                           years_experience=2)
    services.assignment_create(study=study, reader=reader)
    services.study_open(study=study)
    case = Case.objects.get(study=study)
    axial = viewer_series_for_case(case=case)[0]
    wado = [i["wado_uri"] for i in axial["instances"]]
    frames = [f"{i['frames_url']}/1" for i in axial["instances"]]
    from readerstudy.imaging.selectors import case_series_files

    return Token.objects.create(user=reader).key, wado, frames, case_series_files(case)["axial"]


def timed_series(urls: list[str], token: str | None) -> float:
    started = time.perf_counter()
    for url in urls:
        fetch(url, token)
    return time.perf_counter() - started


def concurrent_rate(urls: list[str], token: str | None, readers: int, per_reader: int) -> float:
    def one_reader(offset: int) -> int:
        for k in range(per_reader):
            fetch(urls[(offset + k) % len(urls)], token)
        return per_reader

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=readers) as pool:
        total = sum(pool.map(one_reader, [r * 13 for r in range(readers)]))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--per-reader", type=int, default=30, help="instances each concurrent reader fetches")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        var_dir = Path(tmp) / "var"
        var_dir.mkdir()
        token, wado, frames, names = prepare(var_dir, args.slices, args.size)
        django_port, static_port = free_port(), free_port()
        env = os.environ | {"READERSTUDY_VAR_DIR": str(var_dir), "DEBUG": "0"}
        servers = [
            subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{django_port}"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(static_port)],
                             cwd=var_dir / "dicom", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]
        try:
            django_base, static_base = f"http://127.0.0.1:{django_port}", f"http://127.0.0.1:{static_port}"
            wait_for(f"{django_base}/wado")
            wait_for(f"{static_base}/")
            django_urls = [django_base + u for u in wado]
            frame_urls = [django_base + u for u in frames]
            static_urls = [f"{static_base}/{name}" for name in names]
            fetch(django_urls[0], token)  # warm up (URL conf, imports)

            t_static = timed_series(static_urls, None)
            t_django = timed_series(django_urls, token)
            t_frames = timed_series(frame_urls, token)
            print(f"one reader, whole series ({len(names)} instances):")
            print(f"  static files            {t_static:6.2f} s")
            print(f"  Django WADO-URI         {t_django:6.2f} s   ratio {t_django / t_static:.2f}x")
            print(f"  Django WADO-RS frames   {t_frames:6.2f} s   ratio {t_frames / t_static:.2f}x")

            r_static = concurrent_rate(static_urls, None, args.readers, args.per_reader)
            r_django = concurrent_rate(django_urls, token, args.readers, args.per_reader)
            r_frames = concurrent_rate(frame_urls, token, args.readers, args.per_reader)
            print(f"{args.readers} concurrent readers, {args.per_reader} instances each:")
            print(f"  static files            {r_static:7.1f} instances/s")
            print(f"  Django WADO-URI         {r_django:7.1f} instances/s   ratio {r_static / r_django:.2f}x")
            print(f"  Django WADO-RS frames   {r_frames:7.1f} instances/s   ratio {r_static / r_frames:.2f}x")
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)


if __name__ == "__main__":
    main()
