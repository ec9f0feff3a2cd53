"""Speed of the CT model path: network alone, preprocessing, DICOM to probability.

Prints, for the chosen device:

* network-alone throughput in cases/s on batches of 32 CT patches (target >= 10 on CPU);
* preprocessing time per CT case from DICOM files on disk (a ~300-slice phantom series):
  the full series load, and what a prediction does (headers of every file, pixels of
  the slices the 64 mm patch touches, resampling);
* end-to-end time per case from DICOM files to probability (target < 1 s on CPU).

The network has random weights (speed does not depend on them). Run::

    .venv/bin/python benchmarks/bench_inference.py            # CUDA if present, else CPU
    .venv/bin/python benchmarks/bench_inference.py --device cpu --slices 300 --matrix 512
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.checkpoint import load_model, save_model
from inference.networks import build_network
from inference.predict import predict_case, select_device
from inference.preprocess import (
    CT_INPUT_SPEC,
    ct_patch,
    load_series,
    load_series_around,
)


def _timed(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def bench_network(device: torch.device, *, batch: int, batches: int, channels: list[int]) -> None:
    network = build_network("ct_unet_encoder", channels=channels).to(device).eval()
    x = torch.rand(batch, 1, 64, 64, 64, device=device)

    def run() -> None:
        with torch.inference_mode():
            network(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    run()  # warm-up: kernel selection, allocator
    times = _timed(run, batches)
    per_batch = statistics.median(times)
    print(
        f"network alone     : {batch / per_batch:8.1f} cases/s  "
        f"(median of {batches} batches of {batch}, {per_batch:.3f} s per batch, "
        f"channels {channels})"
    )


def _phantom_series(directory: Path, *, slices: int, matrix: int) -> tuple[list[Path], np.ndarray]:
    from datetime import date

    from fixtures.phantoms.ct import make_ct_phantom
    from fixtures.phantoms.dicom_writer import PatientInfo, write_ct_series

    started = time.perf_counter()
    volume = make_ct_phantom(
        label="malignant", seed=5, shape=(slices, matrix, matrix), in_plane_mm=0.7,
        slice_mm=1.0 if slices <= 200 else 0.625,
    )  # fmt: skip
    patient = PatientInfo(
        patient_id="BENCH-1", patient_name="BENCH^MARK", birth_date=date(1950, 1, 1),
        sex="F", age=72,
    )  # fmt: skip
    paths = write_ct_series(volume, directory, patient=patient, uid_seed="bench")
    print(
        f"phantom series    : {len(paths)} slices of {matrix}x{matrix}, spacing "
        f"{volume.spacing} mm, written in {time.perf_counter() - started:.1f} s"
    )
    return paths, np.asarray(volume.lesion_center_lps, dtype=np.float64)


def bench_preprocessing(paths: list[Path], center: np.ndarray, *, repeats: int) -> None:
    half = CT_INPUT_SPEC["patch_size"][0] / 2 * CT_INPUT_SPEC["spacing_mm"]
    full = statistics.median(_timed(lambda: load_series(paths), max(1, repeats // 2)))
    volume = load_series(paths)
    patch_only = statistics.median(_timed(lambda: ct_patch(volume, center), repeats))
    slab = statistics.median(
        _timed(lambda: ct_patch(load_series_around(paths, center, half_size_mm=half), center),
               repeats)
    )  # fmt: skip
    print(f"full series load  : {full:8.3f} s per case (every slice decoded)")
    print(f"ct_patch alone    : {patch_only:8.3f} s per case (64^3 at 1 mm from a loaded volume)")
    print(
        f"preprocessing     : {slab:8.3f} s per case (headers + slab around the vertebra + patch)"
    )


def bench_end_to_end(
    paths: list[Path], center: np.ndarray, device: torch.device, *, repeats: int,
    channels: list[int],
) -> None:  # fmt: skip
    with tempfile.TemporaryDirectory() as model_dir:
        network = build_network("ct_unet_encoder", channels=channels)
        card = {
            "name": "benchmark", "version": "0", "architecture": "ct_unet_encoder",
            "architecture_kwargs": {"channels": channels}, "input": dict(CT_INPUT_SPEC),
            "thresholds": {"lower": 0.3, "upper": 0.7}, "training_data": {},
            "validation_metrics": {}, "intended_use": "benchmark only",
        }  # fmt: skip
        model = load_model(save_model(network, model_dir, card=card))
        series = {"axial": paths}
        predict_case(model, series, center, device=device)  # warm-up
        runs = [
            predict_case(model, series, center, device=device).runtime_s for _ in range(repeats)
        ]
    print(
        f"end to end        : {statistics.median(runs):8.3f} s per case "
        f"(DICOM files -> probability, median of {repeats})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: auto)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--matrix", type=int, default=512)
    parser.add_argument(
        "--channels", default="16,32,64,128", help="encoder channels (default: the card default)"
    )
    parser.add_argument("--skip-dicom", action="store_true", help="network throughput only")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    channels = [int(c) for c in args.channels.split(",")]
    print(
        f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    bench_network(device, batch=args.batch, batches=args.batches, channels=channels)
    if args.skip_dicom:
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths, center = _phantom_series(Path(tmp), slices=args.slices, matrix=args.matrix)
        bench_preprocessing(paths, center, repeats=args.repeats)
        bench_end_to_end(paths, center, device, repeats=args.repeats, channels=channels)


if __name__ == "__main__":
    main()
