"""How fast the phantom generator is: prints figures, asserts nothing.

Targets (brief): a 160 x 160 x 120 CT phantom well under a second; the 512 x 512 x 300
serving-benchmark series under ~20 s; the demo dataset under ~2 minutes on two
cores and under ~1.5 GB.

    .venv/bin/python benchmarks/phantoms.py            # phantoms and DICOM writing
    .venv/bin/python benchmarks/phantoms.py --demo     # also build the demo dataset
    .venv/bin/python benchmarks/phantoms.py --write-serving DIR  # the 300-slice series
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures.phantoms import (
    PatientInfo,
    build_demo_dataset,
    make_ct_phantom,
    make_mri_phantom,
    write_ct_series,
)

SERVING_SHAPE = (300, 512, 512)


def _timed(label: str, action, repeat: int = 1):
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(f"{label:<46} wall {best_wall:7.2f} s   cpu {best_cpu:7.2f} s")
    return result


def _patient() -> PatientInfo:
    return PatientInfo(patient_id="BENCH0001", patient_name="BENCHMARK^PHANTOM",
                       birth_date=date(1950, 1, 1), sex="F", age=72)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="also build the demo dataset")
    parser.add_argument("--write-serving", type=Path, metavar="DIR",
                        help="write the 512 x 512 x 300 CT series to DIR")
    args = parser.parse_args()

    for label in ("benign", "malignant"):
        _timed(f"CT 120x160x160 {label}",
               lambda label=label: make_ct_phantom(label=label, seed=1, shape=(120, 160, 160)),
               repeat=3)
    _timed("CT default (256x256, ~3 levels) L1",
           lambda: make_ct_phantom(label="malignant", level="L1", seed=2), repeat=2)
    serving = _timed("CT 300x512x512 (serving benchmark)",
                     lambda: make_ct_phantom(label="malignant", level="L1", seed=3,
                                             shape=SERVING_SHAPE))
    _timed("MRI T1W + T2W 13x256x256",
           lambda: make_mri_phantom(label="benign", seed=4), repeat=2)
    with tempfile.TemporaryDirectory() as scratch:
        paths = _timed("write 300 CT slices 512x512 (uncompressed)",
                       lambda: write_ct_series(serving, Path(scratch) / "ct", patient=_patient()))
        size = sum(p.stat().st_size for p in paths) / 2**20
        print(f"{'':<46} {len(paths)} files, {size:.0f} MiB")
    if args.write_serving:
        write_ct_series(serving, args.write_serving, patient=_patient(), uid_seed="serving")
        print(f"serving series written to {args.write_serving}")
    if args.demo:
        with tempfile.TemporaryDirectory() as scratch:
            manifest = _timed("demo dataset (40 test + 120 training cases)",
                              lambda: build_demo_dataset(Path(scratch)))
            files = [p for p in manifest.parent.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files) / 2**30
            print(f"{'':<46} {len(files)} files, {size:.2f} GiB (cpu time excludes workers)")


if __name__ == "__main__":
    main()
