"""The files of an export, written into a folder (the service zips it).

Layout::

    README.md                     what is where, the parameters, the data counted, notes
    reads.csv                     every analysable read: the statistics' input
    <test set>/                   all, internal, external (those with reads)
        results.csv .xlsx .json   every statistic (readerstudy.stats.analysis.analyse)
        table1_performance.csv ... table9_power.csv
        tables.xlsx tables.md tables.html
        figures/                  ROC curves, Bland-Altman plots (PNG and SVG)
        mrmc/                     iMRMC and RJafroc input files
        subgroups/<field>-<value>/ results and tables of each subgroup

Subgroups (institution, scanner vendor, field strength) are analysed where a test set holds
at least two recorded values of the field. An estimate the data do not allow (an AUC in a
subgroup with one benign case, say) is in the tables and results as "not estimable: <reason>"
instead of failing the export (:mod:`readerstudy.stats.estimable`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from django.utils import timezone

from readerstudy.analysis import display, figures, mrmc_files
from readerstudy.analysis.frames import SUBGROUPS
from readerstudy.analysis.results import analyse_reads
from readerstudy.analysis.tables import PublicationTables, publication_tables
from readerstudy.core.spreadsheet import csv_safe
from readerstudy.stats import io as stats_io
from readerstudy.stats.provenance import provenance, versions_text

logger = logging.getLogger(__name__)

TEST_SETS = ("all", "internal", "external")
SUBGROUP_LABELS = {
    "institution": "institution",
    "scanner_vendor": "scanner vendor",
    "field_strength": "field strength",
}

Progress = Callable[[int, str], None]

TABLES_README = [
    "- `table1_performance.csv`: per reader and the model, TP/P, TN/N, sensitivity,",
    "  specificity and accuracy (n/N, Wilson 95% CI), AUC from calls and from scores",
    "  (DeLong 95% CI), p-values against the model (exact McNemar, DeLong); the model's",
    "  definite three-tier cases on their own row.",
    "- `table2_counts.csv`: the 2 x 2 counts per reader.",
    "- `table3_agreement.csv`: Cohen's kappa between readers, reader vs model and first vs",
    "  repeat read (with the intervals in days), Fleiss' kappa of all readers.",
    "- `table3b_measurements.csv`: ICC(2,1) and Bland-Altman bias and limits of agreement",
    "  of each measurement between readers and first vs repeat read.",
    "- `table4_three_tier.csv`: three-tier calls: metrics on the definite cases and the",
    "  share sent to MRI.",
    "- `table5_mrmc.csv`: the multi-reader multi-case analysis (Obuchowski-Rockette-Hillis)",
    "  of the human readers' AUC: per condition the reader-averaged AUC, between conditions",
    "  the difference, under RRRC (random readers and cases), FRRC and RRFC.",
    "- `table6_features.csv`: each MRI feature in malignant vs benign cases (Fisher's exact",
    "  test, odds ratio, Holm-adjusted p) and the features combined by logistic regression",
    "  (Firth's method when the data are separated).",
    "- `table7_definite_cases.csv`: each reader against the three-tier model on the cases",
    "  both called definitely (share of such cases, exact McNemar, DeLong), beside the",
    "  all-case accuracy comparison with an uncertain call counted as wrong.",
    "- `table8_aided.csv`: each reader unaided against aided (\"CT\" vs \"CT + AI\"):",
    "  DeLong, McNemar, calls changed to the right or a wrong call; across readers the",
    "  Obuchowski-Rockette-Hillis RRRC difference and F test (numerator and denominator df).",
    "- `table9_power.csv`: sample size for a future study, this one its pilot: per pair of",
    "  conditions and number of readers, the power (Hillis, Obuchowski & Berbaum 2011; random",
    "  readers and cases) with this study's number of cases at the observed and at the chosen",
    "  difference of AUCs, and the cases needed for 80% power.",
    "- A table that does not apply to the data is a CSV with one `note` column saying so.",
]


@dataclass(frozen=True)
class Unit:
    """One analysis of the export: a test set, or a subgroup of it."""

    test_set: str
    folder: str
    title: str
    subgroup: str = ""
    value: object = None
    full: bool = True  # figures and MRMC files too


def _slug(value: object) -> str:
    text = re.sub(r"[^A-Za-z0-9.]+", "-", str(value)).strip("-").lower()
    return text or "blank"


def _value_label(column: str, value: float | str) -> str:
    """A subgroup value (a cell of the reads: a number or a text) as a label."""
    if column == "field_strength":
        return f"{float(value):g} T"
    return str(value)


def test_set_reads(reads: pd.DataFrame, test_set: str) -> pd.DataFrame:
    return reads if test_set == "all" else reads.loc[reads["test_set"] == test_set]


def _recorded(series: pd.Series) -> pd.Series:
    return series.loc[series.notna() & (series.astype(str).str.strip() != "")]


def plan(reads: pd.DataFrame) -> list[Unit]:
    """The analyses an export of ``reads`` holds, in the order they are computed."""
    units = []
    for test_set in TEST_SETS:
        subset = test_set_reads(reads, test_set)
        if subset.empty:
            continue
        units.append(Unit(test_set, test_set, f"{test_set} test set" if test_set != "all"
                          else "all test sets"))
        for column in SUBGROUPS:
            values = sorted(_recorded(subset[column]).unique(), key=str)
            if len(values) < 2:
                continue
            for value in values:
                label = _value_label(column, value)
                units.append(Unit(
                    test_set, f"{test_set}/subgroups/{column}-{_slug(label)}",
                    f"{test_set} test set, {SUBGROUP_LABELS[column]} {label}",
                    subgroup=column, value=value, full=False,
                ))
    return units


def unit_reads(reads: pd.DataFrame, unit: Unit) -> pd.DataFrame:
    subset = test_set_reads(reads, unit.test_set)
    if unit.subgroup:
        subset = subset.loc[subset[unit.subgroup] == unit.value]
    return subset


def write_unit(reads: pd.DataFrame, unit: Unit, root: Path, *, parameters,
               study_title: str) -> list[str]:
    """Write one unit's files under ``root / unit.folder``; returns its notes, each
    prefixed with the unit's title (for the README)."""
    directory = root / unit.folder
    directory.mkdir(parents=True, exist_ok=True)
    title = f"{study_title}: {unit.title}"
    notes: list[str] = []
    results = None
    try:
        results = analyse_reads(reads, n_boot=parameters.n_boot, seed=parameters.seed,
                                alpha=parameters.alpha, power_effect=parameters.power_effect)
        stats_io.write_results(csv_safe(results), directory)
    except ValueError as exc:
        notes.append(f"No results table: {exc}")
    try:
        tables = publication_tables(reads, alpha=parameters.alpha, results=results)
    except ValueError as exc:
        notes.append(f"No publication tables: {exc}")
        tables = PublicationTables.empty()
    if unit.full:
        _paths, mrmc_notes = mrmc_files.write_mrmc_files(reads, directory / "mrmc", title=title)
        notes += mrmc_notes
        notes += figures.write_figures(reads, directory / "figures", title=title,
                                       alpha=parameters.alpha, n_boot=parameters.n_boot,
                                       seed=parameters.seed)
    tables.notes.extend(notes)
    display.write_tables(tables, directory, title=title)
    return [f"{unit.title}: {note}" for note in tables.notes]


def _simulated_readers_note(simulated: list[str]) -> list[str]:
    """The README's warning when some readers are the demo's simulated readers."""
    if not simulated:
        return []
    return [
        f"- Simulated readers: {', '.join(f'`{name}`' for name in simulated)}. Their reads were",
        "  generated by the demo (`readerstudy.demo.simulate`), not made by people; the",
        "  `simulated` column of `reads.csv` marks them. Their numbers show what the tables",
        "  look like, not how radiologists read.",
    ]


def _readme(*, title: str, slug: str, fingerprint: str, data_state: dict[str, Any],
            parameters, reads: pd.DataFrame, units: list[Unit], notes: list[str]) -> str:
    readers = reads.drop_duplicates("reader")
    simulated = (sorted(readers.loc[readers["simulated"].eq(True), "reader"], key=str)
                 if "simulated" in readers else [])
    lines = [
        f"# {title}: analysis export",
        "",
        f"- Study: `{slug}`",
        f"- Produced: {timezone.now():%Y-%m-%d %H:%M} UTC",
        f"- Fingerprint: `{fingerprint}`",
        f"- Reads: {data_state.get('reads', {}).get('count')}; "
        f"model predictions: {data_state.get('predictions', {}).get('count')}",
        f"- Readers: {int((readers['reader_kind'] == 'human').sum())} human"
        f"{f' ({len(simulated)} of them simulated)' if simulated else ''}, "
        f"{int((readers['reader_kind'] == 'model').sum())} model version(s); "
        f"cases: {reads['case'].nunique()}",
        *_simulated_readers_note(simulated),
        f"- Parameters: {parameters.n_boot} bootstrap resamples, seed {parameters.seed}, "
        f"{100 * (1 - parameters.alpha):g}% confidence intervals; table 9 plans a future "
        f"study for an AUC difference of {parameters.power_effect:g}",
        f"- Software: {versions_text()} (also in `software.json`, with the parameters)",
        "",
        "## Conventions",
        "",
        "- `truth`: 1 malignant, 0 benign (reference standard). Cases without one, and",
        "  training cases, are left out.",
        "- `score`: probability of malignancy in percent (0-100) for readers and the model",
        "  (the model's probability x 100).",
        "- Reader AUC 'from calls' is (sensitivity + specificity) / 2 with DeLong's interval,",
        "  as the published tables report it; 'from scores' uses the 0-100 confidence.",
        "- p-values against the model: exact McNemar (sensitivity on malignant cases,",
        "  specificity on benign cases), DeLong's paired test for the AUC (of the scores when",
        "  reader and model both gave scores, else of the AUCs from calls).",
        "- A patient with several fractures (cases): the AUC intervals and p-values of",
        "  tables 1, 7 and 8 are clustered by patient (Obuchowski 1997; `_clustered` rows",
        "  of `results.csv`, beside DeLong's); `p_auc_method` says which. Tables 4 and 5",
        "  (per-reader three-tier AUCs, the MRMC analysis) keep DeLong's and the",
        "  Obuchowski-Rockette jackknife over cases.",
        "- ROC figures shade each curve's pointwise 95% band (stratified bootstrap, as",
        "  pROC's ci.se); `figures/roc_bands_<condition>.csv` holds the bands.",
        "- Proportions carry Wilson 95% intervals. Tables are rounded for print in",
        "  `tables.md`, `tables.html` and `tables.xlsx`; the CSV files keep full precision.",
        "- Not estimable: an estimate the data do not allow (too few cases of a class, a",
        "  reader who used one category only, no definite three-tier call, a single reader)",
        "  is printed as `not estimable: <reason>` where its number would be. In the CSV",
        "  files its value is empty and the reason is in the `note` column (`results.csv`,",
        "  `table3_agreement.csv`, `table5_mrmc.csv`) or in `<estimate>_note` next to it.",
        "  An empty cell without a note does not apply (the AUC from scores of a reader",
        "  who gave none; a p-value of the model against itself).",
        "- `results.csv` columns and metric names: docs/stats-interface.md of the project;",
        "  the tables: docs/exports.md.",
        "",
        "## Tables (in each test set and subgroup folder)",
        "",
        *TABLES_README,
        "",
        "## Contents",
        "",
        "- `reads.csv`: every analysed read (the input of the statistics).",
    ]
    lines += [f"- `{unit.folder}/`: {unit.title}" for unit in units]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def build_export(reads: pd.DataFrame, directory: Path, *, parameters, title: str, slug: str,
                 fingerprint: str, data_state: dict[str, Any],
                 progress: Progress | None = None) -> list[str]:
    """Write every file of an export of ``reads`` into ``directory``; returns the notes.

    ``progress(percent, step)`` is called before each analysis.
    """
    report = progress or (lambda percent, step: None)
    directory.mkdir(parents=True, exist_ok=True)
    csv_safe(reads).to_csv(directory / "reads.csv", index=False)
    units = plan(reads)
    notes: list[str] = []
    if not units:
        notes.append("No analysable reads yet (reads of test cases with a reference standard).")
    for i, unit in enumerate(units):
        report(round(100 * i / max(len(units), 1)), f"analysing {unit.title}")
        notes += write_unit(unit_reads(reads, unit), unit, directory, parameters=parameters,
                            study_title=title)
    record = provenance(n_boot=parameters.n_boot, seed=parameters.seed, alpha=parameters.alpha,
                        missing="drop", power_effect=parameters.power_effect)
    (directory / "software.json").write_text(json.dumps(record, indent=2) + "\n",
                                             encoding="utf-8")
    report(99, "writing the archive")
    (directory / "README.md").write_text(
        _readme(title=title, slug=slug, fingerprint=fingerprint, data_state=data_state,
                parameters=parameters, reads=reads, units=units, notes=notes),
        encoding="utf-8",
    )
    return notes
