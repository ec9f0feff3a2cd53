"""python -m readerstudy.stats on CSVs built from the Van Dyke data: files, values, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from readerstudy.stats import clustered, roc
from readerstudy.stats.__main__ import main
from readerstudy.stats.analysis import RESULT_COLUMNS, analyse
from readerstudy.stats.io import read_reads_csv
from readerstudy.stats.mrmc import or_hillis
from tests.stats.refdata import refdata

REPO = Path(__file__).resolve().parents[2]




@pytest.fixture(scope="module")
def vandyke_csv(tmp_path_factory) -> Path:
    """Van Dyke et al. (1993): 5 readers x 2 modalities x 114 cases; calls = rating >= 3."""
    v = refdata("vandyke.csv")
    reads = pd.DataFrame(
        {
            "reader": "reader" + v["reader"].astype(str),
            "case": v["case"],
            "truth": v["truth"],
            "score": v["rating"],
            "call": np.where(v["rating"] >= 3, "malignant", "benign"),
            "condition": "modality" + v["treatment"].astype(str),
        }
    )
    path = tmp_path_factory.mktemp("cli") / "reads.csv"
    reads.to_csv(path, index=False)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "readerstudy.stats", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_writes_the_three_result_files_with_library_values(vandyke_csv, tmp_path):
    out = tmp_path / "out"
    done = run_cli(str(vandyke_csv), "--out", str(out), "--n-boot", "200", "--no-plots")
    assert done.returncode == 0, done.stderr
    assert "estimates" in done.stdout

    text = ["analysis", "condition", "reader", "other", "metric", "note"]
    results = pd.read_csv(
        out / "results.csv", dtype=dict.fromkeys(text, str), keep_default_na=False
    )
    numeric = [c for c in RESULT_COLUMNS if c not in text]
    results[numeric] = results[numeric].replace("", np.nan).astype(float)
    assert tuple(results.columns) == RESULT_COLUMNS
    expected = analyse(read_reads_csv(vandyke_csv), n_boot=200)
    pd.testing.assert_frame_equal(
        results, expected.astype({"n": "float64"}), check_dtype=False, check_exact=True
    )

    v = refdata("vandyke.csv")
    r1 = v[(v["reader"] == 1) & (v["treatment"] == 1)].sort_values("case")
    auc = roc.auc_delong(r1, score="rating")
    row = results.query(
        "metric == 'auc_delong' and reader == 'reader1' and condition == 'modality1'"
    )
    assert row["estimate"].item() == auc.estimate

    mrmc = or_hillis(v, treatment="treatment", rating="rating")
    rrrc = mrmc.comparisons.set_index("analysis").loc["RRRC"]
    row = results.query("metric == 'auc_difference_rrrc'")
    assert row["p_value"].item() == pytest.approx(rrrc.p_value, rel=1e-12)
    # RJafroc / MRMCaov on Van Dyke: RRRC p = 0.0517 (see tests/stats/test_mrmc.py).
    assert round(row["p_value"].item(), 4) == 0.0517

    records = json.loads((out / "results.json").read_text())
    assert len(records) == len(results) and records[0]["statistic"] is None
    sheets = load_workbook(out / "results.xlsx").sheetnames
    assert sheets[:2] == ["auc", "diagnostic"] and "mrmc" in sheets


@pytest.mark.slow
def test_cli_draws_roc_and_bland_altman_figures(tmp_path):
    v = refdata("vandyke.csv").query("treatment == 1 and reader <= 2")
    reads = pd.DataFrame(
        {"reader": np.where(v["reader"] == 1, "reader1", "model"), "case": v["case"],
         "truth": v["truth"], "score": v["rating"]}
    )  # fmt: skip
    path = tmp_path / "reads.csv"
    reads.to_csv(path, index=False)
    done = run_cli(str(path), "--out", str(tmp_path / "out"), "--n-boot", "50")
    assert done.returncode == 0, done.stderr
    plots = sorted(p.name for p in (tmp_path / "out" / "plots").iterdir())
    assert plots == [
        "bland_altman_all.png",
        "bland_altman_all.svg",
        "bland_altman_all_summary.png",
        "bland_altman_all_summary.svg",
        "roc_all.png",
        "roc_all.svg",
        "roc_bands_all.csv",
    ]


def test_bad_input_exits_2_naming_the_line_and_column(tmp_path, capsys):
    path = tmp_path / "reads.csv"
    path.write_text("reader,case,truth,score\nr1,1,1,0.9\nr1,2,0,0.1\nr2,1,1,abc\n")
    assert main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "column 'score' must be numeric: line 4" in err
    assert not (tmp_path / "out").exists()


def test_a_missing_file_exits_2(tmp_path, capsys):
    assert main([str(tmp_path / "nope.csv"), "--out", str(tmp_path / "out")]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_missing_out_option_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "reads.csv")])
    assert exit_info.value.code == 2


def test_an_unwritable_output_folder_exits_1(tmp_path, capsys):
    path = tmp_path / "reads.csv"
    path.write_text("reader,case,truth,score\nr1,1,1,0.9\nr1,2,0,0.1\n")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main([str(path), "--out", str(blocker / "out"), "--no-plots", "--n-boot", "10"]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_cli_records_the_software_versions_and_the_seed(vandyke_csv, tmp_path):
    import json
    from importlib import metadata

    out = tmp_path / "out"
    done = run_cli(str(vandyke_csv), "--out", str(out), "--n-boot", "50", "--seed", "7",
                   "--no-plots")
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "software.json").read_text(encoding="utf-8"))
    assert record["parameters"] == {"n_boot": 50, "seed": 7, "alpha": 0.05, "missing": "raise",
                                    "power_effect": 0.05}
    for package in ("numpy", "scipy", "pandas", "statsmodels"):
        assert record["software"][package] == metadata.version(package)


def test_cli_reports_clustered_aucs_and_writes_roc_bands_when_patients_have_several_cases(
        tmp_path):
    # Van Dyke et al. (1993), reader 1 and 2 of modality 1, the 114 cases grouped three to a
    # (made-up) patient: the AUC rows gain Obuchowski's clustered intervals beside DeLong's.
    v = refdata("vandyke.csv").query("treatment == 1 and reader <= 2")
    reads = pd.DataFrame(
        {"reader": np.where(v["reader"] == 1, "reader1", "model"), "case": v["case"],
         "truth": v["truth"], "score": v["rating"], "patient": "p" + (v["case"] // 3).astype(str)}
    )  # fmt: skip
    path = tmp_path / "reads.csv"
    reads.to_csv(path, index=False)
    assert main([str(path), "--out", str(tmp_path / "out"), "--n-boot", "50"]) == 0
    results = pd.read_csv(tmp_path / "out" / "results.csv").set_index(
        ["analysis", "reader", "metric"])
    reader1 = reads[reads["reader"] == "reader1"]
    want = clustered.auc_clustered(reader1)
    got = results.loc[("auc", "reader1", "auc_clustered")]
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((want.ci_low, want.ci_high))
    assert ("delong_paired", "reader1", "auc_difference_clustered") in results.index
    bands = pd.read_csv(tmp_path / "out" / "plots" / "roc_bands_all.csv")
    assert list(bands.columns) == ["reader", "condition", "fpr", "sensitivity", "lower",
                                   "upper"]
    assert set(bands["reader"]) == {"reader1", "model"}


def test_cli_power_effect_gives_the_power_rows_of_a_future_study(vandyke_csv, tmp_path):
    # The chosen effect reaches results.csv; the observed effect's cases for 6 readers are
    # RJafroc's SsSampleSizeKGivenJ(dataset02, J = 6, FOM = "Wilcoxon", method = "OR")
    # $KRRRC = 251 (tests/testthat/test-SsSampleSizeRoc.R; see tests/stats/test_sample_size.py).
    out = tmp_path / "out"
    assert main([str(vandyke_csv), "--out", str(out), "--n-boot", "0", "--no-plots",
                 "--power-effect", "0.08"]) == 0  # fmt: skip
    results = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    power = results[results["analysis"] == "power"].set_index("metric")
    assert power.loc["auc_power_effect_chosen", "estimate"] == 0.08
    assert power.loc["auc_cases_needed_rrrc_observed_readers_6", "estimate"] == 251
    assert (power.loc["auc_power_effect_observed", ["condition", "other"]] == [
        "modality1", "modality2"]).all()  # fmt: skip
    assert power.loc["power_target", "estimate"] == 0.8
    assert json.loads((out / "software.json").read_text())["parameters"]["power_effect"] == 0.08


@pytest.mark.parametrize("effect", ["0", "1.5", "nan"])
def test_cli_refuses_an_impossible_power_effect(vandyke_csv, tmp_path, capsys, effect):
    assert main([str(vandyke_csv), "--out", str(tmp_path / "o"), "--no-plots",
                 "--power-effect", effect]) == 2  # fmt: skip
    assert "power_effect must be a difference of reader-averaged AUCs" in capsys.readouterr().err
