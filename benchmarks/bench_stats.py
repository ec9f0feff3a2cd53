"""Benchmark: a full analyse() of a simulated reader study, against a straightforward version.

Simulated study: 10 human readers and the model, 2 conditions (CT, MRI), 1,000
cases each (45% malignant), a continuous score and a benign/malignant call per
read; 2,000 bootstrap resamples per reader AUC.

The straightforward version computes the same statistics the obvious way, in
the same run on the same data:

- bootstrap: for each reader, a loop over resamples calling scikit-learn's
  ``roc_auc_score`` (stratified resampling, as analyse() does). Only
  ``--naive-resamples`` resamples per reader are timed (default 100) and the
  time is scaled to 2,000 - said so in the output;
- ICC: ``pingouin.intraclass_corr`` per condition;
- pairs: a loop over every pair of readers calling ``delong_paired``, the
  three McNemar helpers (exact and chi-square), ``cohen_kappa`` and
  ``bland_altman`` on the pair's columns; per reader ``auc_delong``,
  ``auc_from_calls`` and ``diagnostic_metrics``;
- Fleiss' kappa and the MRMC analysis: the library functions (no faster
  alternative exists; they cost the same in both).

Targets: analyse() under 2 s on 2 cores, and at least 20x faster than the
straightforward version. Both wall-clock and CPU time are printed: on a
machine shared with other jobs the wall clock overstates the time an idle
machine would take, while the CPU time of this (single-threaded) work does not.

Then the command line, ``python -m readerstudy.stats`` on the same reads, without
(``--no-plots``) and with its figures: wall clock and CPU time, and their ratio (target: with
figures within 1.5x of without, on two cores). The figures, 14 files: per condition the ROC
curves, one Bland-Altman figure with a panel per reader against the model (55 pairs are too
many for panels) and the summary of every pair, each as PNG and SVG, and the ROC curves'
bands (bootstrap, CSV; readers who scored the same cases share the resamples); they are
drawn while the statistics run, in a worker process that imports matplotlib once and forks
one more for the second condition. The CPU time counts every process: on a machine shared with other
jobs the wall clock says little.

Run: ``.venv/bin/python benchmarks/bench_stats.py`` (about two minutes;
``--command-only`` for the command line alone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd

N_CASES = 1000
N_READERS = 10
CONDITIONS = {"CT": 1.0, "MRI": 1.4}
N_BOOT = 2000


def simulate(seed: int = 0) -> pd.DataFrame:
    """Long reads: readers share a case effect, so their scores and calls correlate."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(N_CASES) < 0.45).astype(int)
    cases = [f"case{i:04d}" for i in range(N_CASES)]
    frames = []
    for condition, separation in CONDITIONS.items():
        case_effect = rng.normal(size=N_CASES)
        readers = [f"reader{i}" for i in range(1, N_READERS + 1)] + ["model"]
        for reader in readers:
            skill = 1.3 if reader == "model" else rng.uniform(0.7, 1.1)
            score = separation * skill * truth + 0.6 * case_effect + rng.normal(size=N_CASES)
            frames.append(
                pd.DataFrame(
                    {
                        "reader": reader,
                        "reader_kind": "model" if reader == "model" else "human",
                        "case": cases,
                        "truth": truth,
                        "score": score,
                        "call": np.where(score > 0.7, "malignant", "benign"),
                        "condition": condition,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def naive_bootstrap(truth: np.ndarray, score: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(truth == 1), np.flatnonzero(truth == 0)
    aucs = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
        aucs[b] = roc_auc_score(truth[idx], score[idx])
    return np.quantile(aucs, [0.025, 0.975])


def naive_analysis(reads: pd.DataFrame, naive_resamples: int) -> dict[str, float]:
    """The straightforward version; returns CPU seconds per part (bootstrap extrapolated)."""
    import pingouin as pg

    from readerstudy.stats import agreement, bland_altman, mcnemar, proportions, roc
    from readerstudy.stats.io import validate_reads
    from readerstudy.stats.mrmc import or_hillis

    times: dict[str, float] = {}
    start = time.process_time()
    data = validate_reads(reads)
    times["validation"] = time.process_time() - start

    boot = per_reader = pairs = icc_time = fleiss = 0.0
    for condition in CONDITIONS:
        here = data[data["condition"] == condition]
        score = here.pivot_table(index="case", columns="reader", values="score")
        call = here.pivot_table(index="case", columns="reader", values="call", aggfunc="first")
        truth = here.groupby("case")["truth"].first().reindex(score.index).to_numpy().astype(int)
        readers = list(score.columns)
        # One row per case, a column per reader's score and call: the statistics' input.
        wide = pd.concat([score.add_prefix("score_"), call.add_prefix("call_")], axis=1).assign(
            truth=truth)

        start = time.process_time()
        for reader in readers:
            naive_bootstrap(truth, score[reader].to_numpy(), naive_resamples, 0)
        boot += (time.process_time() - start) * N_BOOT / naive_resamples

        start = time.process_time()
        for reader in readers:
            roc.auc_delong(wide, score=f"score_{reader}")
            roc.auc_from_calls(wide, call=f"call_{reader}")
            proportions.diagnostic_metrics(wide, call=f"call_{reader}")
        per_reader += time.process_time() - start

        start = time.process_time()
        for i, a in enumerate(readers):
            for b in readers[i + 1 :]:
                scores, calls = {"x": f"score_{a}", "y": f"score_{b}"}, {"x": f"call_{a}",
                                                                          "y": f"call_{b}"}
                roc.delong_paired(wide, **scores)
                roc.delong_paired(wide.assign(**{c: wide[c] == "malignant"
                                                 for c in calls.values()}), **calls)
                for helper in (
                    mcnemar.mcnemar_sensitivity,
                    mcnemar.mcnemar_specificity,
                    mcnemar.mcnemar_accuracy,
                ):
                    for method in ("exact", "chi2"):
                        helper(wide, **calls, method=method)
                agreement.cohen_kappa(wide, **calls)
                bland_altman.bland_altman(wide, **scores)
        pairs += time.process_time() - start

        humans = here[here["reader_kind"] == "human"]
        start = time.process_time()
        pg.intraclass_corr(humans, targets="case", raters="reader", ratings="score")
        icc_time += time.process_time() - start
        start = time.process_time()
        agreement.fleiss_kappa(humans)
        fleiss += time.process_time() - start

    humans = data[data["reader_kind"] == "human"]
    start = time.process_time()
    or_hillis(humans)
    times["mrmc"] = time.process_time() - start
    times.update(
        {
            f"bootstrap (extrapolated from {naive_resamples} resamples)": boot,
            "per-reader AUC and proportions": per_reader,
            "pair loops": pairs,
            "ICC (pingouin)": icc_time,
            "Fleiss kappa": fleiss,
        }
    )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of analyse()")
    parser.add_argument(
        "--naive-resamples",
        type=int,
        default=100,
        help="bootstrap resamples timed per reader in the straightforward version",
    )
    parser.add_argument("--command-only", action="store_true",
                        help="time only the command line without and with figures")
    args = parser.parse_args()
    if args.command_only:
        bench_command(simulate(), args.repeats)
        return

    import warnings

    from readerstudy.stats.analysis import analyse

    reads = simulate()
    print(
        f"data: {N_READERS} readers + model x {len(CONDITIONS)} conditions x {N_CASES} cases "
        f"= {len(reads)} reads; {N_BOOT} bootstrap resamples; {os.cpu_count()} CPU cores"
    )
    analyse(reads.iloc[:2000], n_boot=50)  # warm imports and caches
    walls, cpus = [], []
    for _ in range(args.repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        results = analyse(reads, n_boot=N_BOOT)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    fast = statistics.median(cpus)
    print(
        f"analyse(): median CPU time {fast:.2f} s, median wall clock "
        f"{statistics.median(walls):.2f} s over {args.repeats} runs "
        f"(wall min {min(walls):.2f} s), {len(results)} estimates; "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = naive_analysis(reads, args.naive_resamples)
    naive = sum(parts.values())
    print(f"straightforward version: {naive:.1f} s CPU time in all")
    for name, seconds in parts.items():
        print(f"  {name}: {seconds:.2f} s")
    print(f"speed-up (CPU time): {naive / fast:.1f}x")
    print(
        f"targets: under 2 s -> {'met' if fast < 2 else 'NOT met'} (CPU time); "
        f">= 20x -> {'met' if naive / fast >= 20 else 'NOT met'}"
    )
    bench_command(reads, args.repeats)


def _command(csv: str, out: str, *plots: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process's children: the command and its workers) of
    one ``python -m readerstudy.stats`` run."""
    import resource
    import subprocess
    import sys

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([sys.executable, "-m", "readerstudy.stats", csv, "--out", out, *plots],
                   check=True, capture_output=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def bench_command(reads: pd.DataFrame, repeats: int) -> None:
    """The command line on the simulated study without and with its figures: wall clock
    (the target: with figures within 1.5x of without, on two cores) and CPU time."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        csv = str(Path(tmp) / "reads.csv")
        reads.to_csv(csv, index=False)
        timed: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
        for _ in range(repeats):
            timed["without"].append(_command(csv, str(Path(tmp) / "a"), "--no-plots"))
            timed["with"].append(_command(csv, str(Path(tmp) / "b")))
        files = len(list((Path(tmp) / "b" / "plots").iterdir()))
    wall = {k: statistics.median(w for w, _ in v) for k, v in timed.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in timed.items()}
    ratio = wall["with"] / wall["without"]
    print(f"command line, median of {repeats}: without figures {wall['without']:.2f} s wall "
          f"({cpu['without']:.2f} s CPU); with figures ({files} files) {wall['with']:.2f} s "
          f"wall ({cpu['with']:.2f} s CPU); ratio {ratio:.2f}x wall, "
          f"{cpu['with'] / cpu['without']:.2f}x CPU; load average {os.getloadavg()[0]:.1f}")
    print(f"target: with figures <= 1.5x without (wall) -> {'met' if ratio <= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
