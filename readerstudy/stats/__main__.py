"""Command line: ``python -m readerstudy.stats READS.csv --out DIR``.

Reads the long CSV of reads, runs :func:`readerstudy.stats.analysis.analyse`,
and writes ``results.csv``, ``results.xlsx``, ``results.json``,
``software.json`` (the software versions and the parameters, seed included) and the
figures (``DIR/plots/``, PNG and SVG; the ROC curves' confidence bands also as
``roc_bands_<condition>.csv``). Bad input exits with status 2 and a
message naming the line and column at fault; an output folder that cannot be
written exits with status 1. The CSV columns and the results
are described in ``docs/stats-interface.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from readerstudy.stats._validation import check_alpha
from readerstudy.stats.analyses.power import DEFAULT_EFFECT, check_effect
from readerstudy.stats.analysis import analyse
from readerstudy.stats.io import read_reads_csv, write_results
from readerstudy.stats.provenance import provenance


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m readerstudy.stats",
        description=(
            "Reader-study statistics from a long CSV of reads (columns reader, case; "
            "optional truth, score, call, condition, round, interval_days, reader_kind). "
            "See docs/stats-interface.md."
        ),
    )
    parser.add_argument("reads", type=Path, help="CSV of reads, one row per read")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument(
        "--n-boot", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="1 - confidence level (default 0.05)"
    )
    parser.add_argument(
        "--missing",
        choices=("raise", "drop"),
        default="raise",
        help="empty cells: refuse (default) or leave those reads out",
    )
    parser.add_argument(
        "--power-effect",
        type=float,
        default=DEFAULT_EFFECT,
        help=(
            "difference of reader-averaged AUCs a future study is planned for, beside the "
            f"observed one (the power rows; default {DEFAULT_EFFECT})"
        ),
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the figures")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 cannot write, 2 bad input)."""
    args = _parser().parse_args(argv)
    jobs = None
    try:
        reads = read_reads_csv(args.reads)
        check_alpha(args.alpha)
        check_effect(args.power_effect)
        if args.n_boot < 0:
            raise ValueError(f"n_boot must be a whole number >= 0, got {args.n_boot!r}")
        if not args.no_plots:
            from readerstudy.stats.plot_jobs import start_plots

            # The figures are drawn in worker processes while the statistics run here, one
            # per condition on two cores (matplotlib imported once, in the first, which
            # forks the second): the figures with the ROC bands' bootstrap cost more than
            # the statistics, so one worker alone would finish last.
            workers = min(2, os.cpu_count() or 1)
            jobs = start_plots(reads, args.out / "plots", alpha=args.alpha,
                               missing=args.missing, workers=workers, n_boot=args.n_boot,
                               seed=args.seed, background=True)
        results = analyse(
            reads, n_boot=args.n_boot, seed=args.seed, alpha=args.alpha, missing=args.missing,
            power_effect=args.power_effect,
        )
    except (OSError, ValueError) as exc:
        if jobs is not None:
            jobs.cancel()
        print(f"error: {args.reads}: {exc}", file=sys.stderr)
        return 2
    try:
        written = list(write_results(results, args.out).values())
        record = provenance(n_boot=args.n_boot, seed=args.seed, alpha=args.alpha,
                            missing=args.missing, power_effect=args.power_effect)
        software = args.out / "software.json"
        software.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        written.append(software)
        if jobs is not None:
            written += jobs.result()
            for note in jobs.notes:  # readers and pairs left out of a figure, by name
                print(f"note: {note}", file=sys.stderr)
    except OSError as exc:
        print(f"error: cannot write to {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"{len(results)} estimates; wrote {len(written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
