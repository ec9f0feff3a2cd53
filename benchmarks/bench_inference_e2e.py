"""End to end through the app: stored de-identified DICOM -> Celery task -> stored prediction.

Prints, for the chosen device (CPU by default):

* per-case latency: one case per task (``predictions.predict_case``), from the stored
  series of an imported case to its stored ``Prediction`` (target < 1 s per CT case on
  CPU), with its Grad-CAM saliency map when ``--feedback`` makes the study a teaching
  study; the first case, which also loads the network, separately;
* throughput of a study of ``--cases`` cases (default 200) run as an inference job does it:
  chunks of ``--chunk`` cases, each preprocessed case by case and predicted in one
  network batch, stored, counted;
* the network alone, from ``benchmarks/bench_inference.py`` when it is present.

A few phantom CT series (``--series``, ``--slices`` x ``--matrix``^2) are imported through the
real import path; the other cases reuse their stored files (hard links under new names), so
200 cases cost the disk of a few. Everything lives in a temporary folder with its own
SQLite database; tasks run in this process (no broker). The network has random weights
(speed does not depend on them). Run::

    .venv/bin/python benchmarks/bench_inference_e2e.py
    .venv/bin/python benchmarks/bench_inference_e2e.py --cases 50 --slices 120 --matrix 256
    .venv/bin/python benchmarks/bench_inference_e2e.py --device cuda
    .venv/bin/python benchmarks/bench_inference_e2e.py --feedback   # with Grad-CAM maps
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _configure(tmp: Path, device: str) -> None:
    """Settings for a throw-away project in ``tmp``; must run before Django and torch load."""
    (tmp / "var").mkdir(parents=True, exist_ok=True)
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "readerstudy.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "benchmark-only-throw-away-project-key",
        "READERSTUDY_VAR_DIR": str(tmp / "var"),
        "READERSTUDY_MODEL_DIR": str(tmp / "models"),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _import_series(tmp: Path, *, series: int, slices: int, matrix: int):
    from fixtures.phantoms import build_dataset
    from readerstudy.imaging.importer import import_study
    from readerstudy.studies.models import Study

    started = time.perf_counter()
    root = tmp / "incoming"
    manifest = build_dataset(
        root, n_cases=series, seed=3, modalities=("CT",), test_sets=["internal"],
        ct_kwargs={"shape": (slices, matrix, matrix)},
    )
    written = time.perf_counter() - started
    study = Study.objects.create(slug="bench", title="Benchmark", modality="CT", repeat_sample_size=0)
    started = time.perf_counter()
    import_study(study=study, manifest_text=manifest.read_text(), dicom_root=root)
    print(f"setup             : {series} phantom series of {slices} x {matrix}^2 written in "
          f"{written:.1f} s, imported in {time.perf_counter() - started:.1f} s")
    return study


def _clone_cases(study, n: int) -> None:
    """Fill the study up to ``n`` cases that reuse the imported series' stored files."""
    from django.core.files.storage import storages
    from pydicom.uid import generate_uid

    from readerstudy.imaging.models import Instance, Series, VertebraLocation
    from readerstudy.studies.models import Case, ReferenceStandard

    storage = storages["dicom"]
    bases = list(Case.objects.filter(study=study).select_related("reference", "vertebra_location"))
    for i in range(n - len(bases)):
        base = bases[i % len(bases)]
        case = Case.objects.create(
            study=study, source_case_id=f"clone-{i}", patient_pseudonym=f"clone-{i}",
            test_set=base.test_set, vertebra_level=base.vertebra_level,
        )
        ReferenceStandard.objects.create(case=case, label=base.reference.label, source=base.reference.source)
        location = base.vertebra_location
        VertebraLocation.objects.create(case=case, center_x=location.center_x,
                                        center_y=location.center_y, center_z=location.center_z)
        axial = Series.objects.get(case=base, role=Series.Role.AXIAL)
        instances = list(axial.instances.all())
        axial.pk, axial.case, axial.series_uid = None, case, generate_uid()
        axial.save()
        clones = []
        for k, instance in enumerate(instances):
            name = f"clones/{case.code}/{k:05d}.dcm"
            target = Path(storage.path(name))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(storage.path(instance.storage_name), target)
            instance.pk, instance.series = None, axial
            instance.sop_uid, instance.storage_name = generate_uid(), name
            clones.append(instance)
        Instance.objects.bulk_create(clones)


def _register_model(tmp: Path):
    from inference.checkpoint import save_model
    from inference.networks import build_network
    from inference.preprocess import CT_INPUT_SPEC
    from readerstudy.predictions.registry import model_version_register

    card = {
        "name": "benchmark", "version": "0", "architecture": "ct_unet_encoder",
        "architecture_kwargs": {}, "input": dict(CT_INPUT_SPEC),
        "thresholds": {"lower": 0.3, "upper": 0.7}, "training_data": {},
        "validation_metrics": {}, "intended_use": "benchmark only",
    }
    return model_version_register(path=save_model(build_network("ct_unet_encoder"), tmp / "ckpt", card=card))


def bench_latency(study, model, *, runs: int) -> None:
    from readerstudy.predictions import services
    from readerstudy.predictions.models import Prediction
    from readerstudy.predictions.tasks import predict_case

    job, _ = services.inference_job_start(study=study, model_version=model, dispatch=False)
    pks = services.inference_job_claim(job_pk=job.pk)[: runs + 1]
    walls = []
    for pk in pks:
        started = time.perf_counter()
        predict_case.apply(kwargs={"case_pk": pk, "model_version_pk": model.pk, "job_pk": job.pk})
        walls.append(time.perf_counter() - started)
    stored = [p.runtime_s for p in Prediction.objects.filter(case_id__in=pks[1:])]
    reading, network = _split(model, pks[1:])
    warm = sorted(walls[1:])
    print(f"first case        : {walls[0]:8.3f} s (loads and verifies the network too)")
    print(f"per-case latency  : {statistics.median(warm):8.3f} s median, "
          f"{warm[int(0.9 * (len(warm) - 1))]:.3f} s p90 over {len(warm)} cases "
          f"(stored DICOM -> stored prediction, one case per task; target < 1 s)")
    print(f"  of which        : {statistics.median(stored):8.3f} s reading, preprocessing and "
          "network (Prediction.runtime_s); the rest is task and database")
    print(f"  split           : {reading:8.3f} s reading the slices around the vertebra and "
          f"cutting the patch, {network:.3f} s network (one patch)")
    _forget(job.pk, pks)


def _split(model, pks: list[int]) -> tuple[float, float]:
    """Median time of the two halves of a case: stored slices -> patch, patch -> probability."""
    from inference.predict import case_patches, predict_patches
    from readerstudy.predictions import registry, selectors
    from readerstudy.studies.models import Case

    loaded = registry.model_version_load(model)
    reads = selectors.model_reads(loaded.input_spec)
    reading, network = [], []
    for case in Case.objects.filter(pk__in=pks):
        started = time.perf_counter()
        center = selectors.case_center(case)
        with selectors.case_series_paths(case, near=center, **reads) as series:
            patches = case_patches(loaded, series, center)
        reading.append(time.perf_counter() - started)
        started = time.perf_counter()
        predict_patches(loaded, patches)
        network.append(time.perf_counter() - started)
    return statistics.median(reading), statistics.median(network)


def _forget(job_pk: int, pks: list[int]) -> None:
    """Forget the latency run so the throughput job starts from nothing."""
    from readerstudy.predictions.models import InferenceJob, Prediction

    Prediction.objects.filter(case_id__in=pks).delete()
    InferenceJob.objects.filter(pk=job_pk).delete()


def bench_throughput(study, model, *, chunk: int) -> None:
    from readerstudy.predictions import services
    from readerstudy.predictions.tasks import predict_cases

    job, _ = services.inference_job_start(study=study, model_version=model, dispatch=False)
    started = time.perf_counter()
    pks = services.inference_job_claim(job_pk=job.pk)
    for part in services.chunked(pks, chunk):
        predict_cases.apply(kwargs={"case_pks": part, "model_version_pk": model.pk, "job_pk": job.pk})
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    print(f"study throughput  : {len(pks) / seconds:8.2f} cases/s ({len(pks)} cases in {seconds:.1f} s, "
          f"chunks of {chunk}; job {job.status} {job.done}/{job.total})")


def bench_network_alone(batch: int) -> None:
    path = REPO / "benchmarks" / "bench_inference.py"
    if not path.is_file():
        print("network alone     : benchmarks/bench_inference.py not present")
        return
    spec = importlib.util.spec_from_file_location("bench_inference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from inference.predict import select_device

    module.bench_network(select_device(), batch=batch, batches=3, channels=[16, 32, 64, 128])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--cases", type=int, default=200, help="cases in the study")
    parser.add_argument("--series", type=int, default=2, help="distinct phantom series imported")
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--matrix", type=int, default=512)
    parser.add_argument("--runs", type=int, default=10, help="cases timed one by one")
    parser.add_argument("--chunk", type=int, default=16, help="cases per task in the study run")
    parser.add_argument("--feedback", action="store_true",
                        help="a teaching study (mode 'teaching'): the worker stores a Grad-CAM map a case")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as folder:
        tmp = Path(folder)
        _configure(tmp, args.device)
        import torch

        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"device {'cuda' if torch.cuda.is_available() else 'cpu'}, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load average {load:.1f}")
        study = _import_series(tmp, series=args.series, slices=args.slices, matrix=args.matrix)
        if args.feedback:
            study.mode = "teaching"
            study.save(update_fields=["mode"])
        print(f"study             : {'teaching (Grad-CAM map a case)' if args.feedback else 'research (no maps)'}")
        _clone_cases(study, args.cases)
        model = _register_model(tmp)
        bench_latency(study, model, runs=args.runs)
        bench_throughput(study, model, chunk=args.chunk)
        bench_network_alone(32)


if __name__ == "__main__":
    main()
