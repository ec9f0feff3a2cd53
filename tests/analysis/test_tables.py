"""The publication tables reproduce the published figures of STUDY-PROTOCOL.md from the same
counts, and their agreement statistics match established implementations."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from readerstudy.analysis.display import display_tables, fmt_estimate_ci, fmt_p, fmt_proportion
from readerstudy.analysis.frames import STATS_COLUMNS, reads_frame
from readerstudy.analysis.tables import publication_tables
from readerstudy.stats.analysis import analyse
from readerstudy.stats.features import holm, logistic_regression
from readerstudy.stats.mrmc import or_hillis
from readerstudy.studies.answer_form import FEATURES
from readerstudy.studies.models import Read, Round, Study
from tests.analysis.conftest import T0, add_reads, make_cases

pytestmark = pytest.mark.django_db

# STUDY-PROTOCOL.md, internal test set of the CT study (reader AUC from calls).
PUBLISHED_CT = {
    "resident_2y": ("33/49", "26/37", 0.69, (0.59, 0.78), "69% (59/86)"),
    "resident_4y": ("34/49", "27/37", 0.71, (0.61, 0.80), "71% (61/86)"),
    "attending_7y": ("46/49", "29/37", 0.86, (0.78, 0.93), "87% (75/86)"),
}


def _row(table: pd.DataFrame, reader: str, subset: str = "all cases") -> pd.Series:
    rows = table.loc[(table["reader"] == reader) & (table["subset"] == subset)]
    assert len(rows) == 1, f"{reader} ({subset}) appears {len(rows)} times"
    return rows.iloc[0]


def test_table_1_reproduces_the_published_ct_internal_test_set(published_ct_study):
    tables = publication_tables(reads_frame(published_ct_study))
    shown = display_tables(tables)["performance"].set_index("Reader")
    for reader, (tp_p, tn_n, auc, (low, high), accuracy) in PUBLISHED_CT.items():
        assert shown.loc[reader, "TP/P"] == tp_p
        assert shown.loc[reader, "TN/N"] == tn_n
        assert shown.loc[reader, "AUC from calls (95% CI)"].startswith(f"{auc:.2f} (")
        assert shown.loc[reader, "Accuracy, % (n/N)"] == accuracy
        # The published intervals: DeLong's interval of the binary calls comes within 0.01.
        row = _row(tables.performance, reader)
        assert row["auc_calls_ci_low"] == pytest.approx(low, abs=0.01)
        assert row["auc_calls_ci_high"] == pytest.approx(high, abs=0.01)
    assert shown.loc["resident_2y", "Role, experience"] == "Resident, 2 years"
    assert shown.loc["attending_7y", "Role, experience"] == "Attending, 7 years"


def test_table_1_reproduces_the_published_model_on_its_definite_cases(published_ct_study):
    tables = publication_tables(reads_frame(published_ct_study))
    model = "model:ct-unet@1.0"
    shown = display_tables(tables)["performance"].set_index("Reader")
    definite = shown.loc["ct-unet 1.0, definite cases"]  # the model's display name
    # STUDY-PROTOCOL.md: best model, definite cases 34/36, 26/30, AUC 0.91 (0.83, 0.97), 91% (60/66).
    assert (definite["TP/P"], definite["TN/N"]) == ("34/36", "26/30")
    assert definite["AUC from calls (95% CI)"].startswith("0.91 (0.83, ")
    assert definite["Accuracy, % (n/N)"] == "91% (60/66)"
    row = _row(tables.performance, model, "definite cases")
    assert row["auc_calls_ci_high"] == pytest.approx(0.97, abs=0.01)
    three_tier = display_tables(tables)["three_tier"].set_index("Reader").loc["ct-unet 1.0"]
    assert three_tier["Sent to MRI, % (n/N)"] == "23% (20/86)"
    assert three_tier["Accuracy, % (n/N)"] == "91% (60/66)"


def test_readers_are_listed_by_role_and_experience_then_the_model(published_ct_study):
    tables = publication_tables(reads_frame(published_ct_study))
    assert tables.performance["reader"].drop_duplicates().tolist() == [
        "resident_2y", "resident_4y", "attending_7y", "model:ct-unet@1.0"]


def test_p_values_against_the_model_are_exact_mcnemar_and_delong(published_ct_study):
    reads = reads_frame(published_ct_study)
    table = publication_tables(reads).performance
    row = _row(table, "resident_2y")
    assert row["versus"] == "model:ct-unet@1.0"
    # Exact McNemar by hand: binomial test of the discordant malignant cases (McNemar 1947).
    first = reads.loc[reads["round"] == "first"]
    wide = first.pivot_table(index="case", columns="reader", values="call", aggfunc="first")
    truth = first.drop_duplicates("case").set_index("case")["truth"]
    malignant = wide.loc[truth[truth == 1].index]
    reader_right = malignant["resident_2y"] == "malignant"
    model_right = malignant["model:ct-unet@1.0"] == "malignant"
    b, c = int((reader_right & ~model_right).sum()), int((~reader_right & model_right).sum())
    expected = stats.binomtest(min(b, c), b + c, 0.5).pvalue
    assert row["p_sensitivity"] == pytest.approx(expected)
    assert row["p_auc_method"] == "DeLong, AUC from calls"
    assert 0 <= row["p_auc"] <= 1


def test_the_tables_agree_with_the_results_table_of_the_statistics_package(published_ct_study):
    reads = reads_frame(published_ct_study)
    table = publication_tables(reads).performance
    results = analyse(reads[STATS_COLUMNS], n_boot=20, seed=0)

    def result(analysis, reader, metric, other=""):
        rows = results.loc[(results["analysis"] == analysis) & (results["metric"] == metric)
                           & (results["reader"].isin([reader, other]))
                           & (results["other"].isin([reader, other]))]
        assert len(rows) == 1, (analysis, reader, metric, other)
        return rows.iloc[0]

    model = "model:ct-unet@1.0"
    for reader in PUBLISHED_CT:
        row = _row(table, reader)
        auc = result("auc", reader, "auc_calls")
        assert [row["auc_calls"], row["auc_calls_ci_low"], row["auc_calls_ci_high"]] == \
            pytest.approx([auc["estimate"], auc["ci_low"], auc["ci_high"]])
        sensitivity = result("diagnostic", reader, "sensitivity")
        assert [row["sensitivity_ci_low"], row["sensitivity_ci_high"]] == pytest.approx(
            [sensitivity["ci_low"], sensitivity["ci_high"]])
        assert row["p_sensitivity"] == pytest.approx(
            result("mcnemar", reader, "sensitivity_exact", model)["p_value"])
        assert row["p_specificity"] == pytest.approx(
            result("mcnemar", reader, "specificity_exact", model)["p_value"])
        assert row["p_auc"] == pytest.approx(
            result("delong_paired", reader, "auc_calls_difference", model)["p_value"])


def test_mri_model_improves_on_the_first_year_resident(published_mri_study):
    """STUDY-PROTOCOL.md: ResNet50 vs the 1st-year resident, sensitivity 78% -> 94% and
    specificity 61% -> 91%, "both p < 0.001 by McNemar".

    From these marginals the specificity difference is p < 0.001 for any pairing of the
    calls. The sensitivity one cannot be: with 50 malignant cases, 39 vs 47 correct, the
    most extreme pairing (8 discordant cases, all in the model's favour) gives the exact
    two-sided p = 2 * 0.5**8 = 0.0078 (chi-square, uncorrected: 0.0047), the smallest any
    McNemar test of these counts can give. The table reports that value.
    """
    tables = publication_tables(reads_frame(published_mri_study))
    shown = display_tables(tables)["performance"].set_index("Reader")
    resident, model = shown.loc["resident_1st_year"], shown.loc["mri-resnet50 1.0"]
    assert resident["Sensitivity, % (n/N)"] == "78% (39/50)"
    assert model["Sensitivity, % (n/N)"] == "94% (47/50)"
    assert resident["Specificity, % (n/N)"] == "61% (86/140)"
    assert model["Specificity, % (n/N)"] == "91% (128/140)"
    row = _row(tables.performance, "resident_1st_year")
    assert row["p_specificity"] < 0.001
    assert resident["p specificity vs model (McNemar)"] == "<0.001"
    assert row["p_sensitivity"] == pytest.approx(2 * 0.5**8)
    assert row["p_sensitivity"] < 0.01


def test_mri_counts_table_matches_the_published_counts(published_mri_study):
    counts = publication_tables(reads_frame(published_mri_study)).counts.set_index("reader")
    # STUDY-PROTOCOL.md: MSK attending TP 47 TN 139 FN 3 FP 1; 4th-year resident 47/135/3/5.
    assert counts.loc["msk_attending", ["tp", "tn", "fn", "fp"]].tolist() == [47, 139, 3, 1]
    assert counts.loc["resident_4th_year", ["tp", "tn", "fn", "fp"]].tolist() == [47, 135, 3, 5]
    assert counts.loc["model:mri-resnet50@1.0", ["tp", "tn", "fn", "fp"]].tolist() == [47, 128, 3, 12]


def _repeat_study(make_reader, measurements=()) -> tuple[Study, list]:
    study = Study.objects.create(slug="repeat", title="Repeat study", modality="CT",
                                 ask_confidence=False, measurements=list(measurements), seed=3)
    cases = make_cases(study, malignant=12, benign=8)
    rng = np.random.default_rng(7)
    readers = [make_reader(f"r{i}", "resident", i + 1) for i in range(3)]
    for reader in readers:
        calls = ["malignant" if rng.random() < (0.8 if c.reference.label == "malignant" else 0.3)
                 else "benign" for c in cases]
        first = add_reads(study, reader, cases, calls)
        again = [call if rng.random() < 0.85 else
                 ("benign" if call == "malignant" else "malignant") for call in calls]
        interval_start = T0 + timedelta(days=30 + readers.index(reader) * 5)
        add_reads(study, reader, cases, again, round=Round.REPEAT, start=interval_start,
                  first_reads={r.case_id: r for r in first})
    return study, readers


def test_intra_reader_kappa_uses_the_repeat_reads_and_their_actual_intervals(make_reader):
    study, readers = _repeat_study(make_reader)
    reads = reads_frame(study)
    table = publication_tables(reads).agreement
    row = table.loc[(table["analysis"] == "intra-reader") & (table["reader"] == "r0")].iloc[0]
    own = reads.loc[reads["reader"] == "r0"]
    pairs = own.loc[own["round"] == "first"].merge(
        own.loc[own["round"] == "repeat"], on="case", suffixes=("_1", "_2"))
    # scikit-learn's cohen_kappa_score as the established implementation.
    assert row["estimate"] == pytest.approx(cohen_kappa_score(pairs["call_1"], pairs["call_2"]))
    assert row["n"] == 20
    intervals = Read.objects.filter(reader=readers[0], round=Round.REPEAT)
    days = sorted(r.repeat_interval_days for r in intervals)
    assert row["interval_days_min"] == pytest.approx(days[0])
    assert row["interval_days_max"] == pytest.approx(days[-1])
    assert row["interval_days_median"] == pytest.approx(float(np.median(days)))
    shown = display_tables(publication_tables(reads))["agreement"]
    intra = shown.loc[shown["Comparison"] == "intra-reader"].iloc[0]
    assert intra["Interval, days: median (range)"].startswith("30 (")
    kinds = set(table["analysis"])
    assert {"inter-reader", "intra-reader", "all readers"} <= kinds


def test_measurement_agreement_matches_pingouin(make_reader):
    study = Study.objects.create(slug="measure", title="Measure", modality="MR",
                                 ask_confidence=False, measurements=["anterior_height"], seed=3)
    cases = make_cases(study, malignant=15, benign=15)
    rng = np.random.default_rng(11)
    truth_height = rng.uniform(12, 30, size=len(cases))
    for name, bias in (("reader_1", 0.0), ("reader_2", 0.8)):
        values = truth_height + bias + rng.normal(0, 0.7, size=len(cases))
        add_reads(study, make_reader(name, "attending", 10), cases, ["benign"] * len(cases),
                  measurements=[{"anterior_height": round(float(v), 1)} for v in values])
    reads = reads_frame(study)
    table = publication_tables(reads).measurements
    row = table.loc[table["analysis"] == "inter-reader"].iloc[0]
    long = reads[["case", "reader", "measurement_anterior_height"]]
    reference = pingouin.intraclass_corr(long, targets="case", raters="reader",
                                         ratings="measurement_anterior_height").set_index("Type")
    # pingouin 0.7 names ICC(2,1) by McGraw & Wong: ICC(A,1); its interval is rounded to 0.01.
    assert row["icc"] == pytest.approx(reference.loc["ICC(A,1)", "ICC"])
    assert [row["icc_ci_low"], row["icc_ci_high"]] == pytest.approx(
        list(reference.loc["ICC(A,1)", "CI95"]), abs=0.005)
    wide = long.pivot_table(index="case", columns="reader", values="measurement_anterior_height")
    differences = wide["reader_1"] - wide["reader_2"]
    assert row["bias"] == pytest.approx(differences.mean())
    assert row["loa_high"] - row["loa_low"] == pytest.approx(
        2 * stats.norm.ppf(0.975) * differences.std(ddof=1))


@pytest.mark.parametrize(("value", "shown"), [(0.685, "0.69"), (0.6849, "0.68"), (0.125, "0.13")])
def test_rounding_for_print_rounds_halves_up_as_published_tables_do(value, shown):
    assert fmt_estimate_ci(value, 0.5, 0.9) == f"{shown} (0.50, 0.90)"


def test_print_formats_follow_the_published_tables():
    assert fmt_proportion(59, 86) == "69% (59/86)"
    assert fmt_proportion(0, 0) == "- (0/0)"
    assert fmt_p(0.0004) == "<0.001"
    assert fmt_p(0.0078125) == "0.008"
    assert fmt_p(float("nan")) == ""


def test_table_5_is_the_mrmc_analysis_of_the_human_readers_calls(published_ct_study):
    reads = reads_frame(published_ct_study)
    table = publication_tables(reads).mrmc.set_index("analysis")
    assert set(table["comparison"]) == {"reader-averaged AUC"} and set(table["rating"]) == {"calls"}
    assert (table["readers"] == 3).all() and (table["n"] == 86).all()
    # or_hillis (checked against RJafroc and MRMCaov in tests/stats/test_mrmc.py) on the
    # three readers' calls, the model left out.
    humans = reads.loc[reads["reader_kind"] == "human"].assign(
        value=lambda f: (f["call"] == "malignant").astype(float))
    expected = or_hillis(humans, rating="value").treatment_aucs
    for row in expected.itertuples():
        assert table.loc[row.analysis, ["estimate", "ci_low", "ci_high"]].tolist() == [
            row.estimate, row.ci_low, row.ci_high]
    # The mean of the published AUCs from calls, 0.69, 0.71 and 0.86.
    assert table.loc["RRRC", "estimate"] == pytest.approx((0.69 + 0.71 + 0.86) / 3, abs=0.005)
    shown = display_tables(publication_tables(reads))["mrmc"]
    assert shown["Analysis"].tolist()[0] == "RRRC (random readers and cases)"
    assert shown["Estimate (95% CI)"].iloc[0].startswith("0.75 (")


def _feature_study(make_reader) -> Study:
    study = Study.objects.create(slug="features", title="Features", modality="MR",
                                 ask_confidence=False, ask_features=True, seed=3)
    cases = make_cases(study, malignant=20, benign=20)
    rng = np.random.default_rng(5)
    features = []
    for case in cases:
        malignant = case.reference.label == "malignant"
        features.append({key: bool(rng.random() < (0.6 if malignant and i < 3 else 0.3))
                         for i, key in enumerate(FEATURES)})
    features[0]["skipped_lesions"] = True  # present in one case only
    for case_features in features[1:]:
        case_features["skipped_lesions"] = False
    add_reads(study, make_reader("msk_expert", "attending", 15), cases,
              ["malignant"] * 20 + ["benign"] * 20, features=features)
    return study


def test_table_6_is_fishers_test_per_feature_and_the_logistic_regression(make_reader):
    reads = reads_frame(_feature_study(make_reader))
    table = publication_tables(reads).features.set_index("feature")
    assert list(table.index) == list(FEATURES)
    columns = [f"feature_{key}" for key in FEATURES]
    per_case = reads[["truth", *columns]].astype(float)
    for key in ("no_collapse", "anterior_wedge"):
        present = per_case[f"feature_{key}"] == 1
        malignant = per_case["truth"] == 1
        counts = [[(present & malignant).sum(), (~present & malignant).sum()],
                  [(present & ~malignant).sum(), (~present & ~malignant).sum()]]
        # scipy's Fisher test and conditional odds ratio, as R's fisher.test.
        assert table.loc[key, "fisher_p"] == pytest.approx(stats.fisher_exact(counts).pvalue)
        expected = stats.contingency.odds_ratio(counts, kind="conditional")
        interval = expected.confidence_interval(0.95)
        assert table.loc[key, ["fisher_or", "fisher_or_ci_low", "fisher_or_ci_high"]].tolist() \
            == pytest.approx([expected.statistic, interval.low, interval.high])
        assert table.loc[key, "present_malignant"] == counts[0][0]
    regression = logistic_regression(per_case, features=columns, truth="truth")
    terms = regression.coefficients.set_index("term")
    assert table.loc["no_collapse", "logistic_or"] == pytest.approx(
        terms.loc["feature_no_collapse", "odds_ratio"])
    assert (table["logistic_method"] == regression.method).all()
    assert table["fisher_p_holm"].tolist() == pytest.approx(holm(table["fisher_p"].to_numpy()))
    shown = display_tables(publication_tables(reads))["features"].set_index("Feature")
    assert shown.loc[FEATURES["no_collapse"], "Odds ratio (95% CI), Fisher"].endswith(")")


def test_table_6_says_why_an_odds_ratio_or_the_regression_is_not_estimable(make_reader):
    reads = reads_frame(_feature_study(make_reader))
    with_lesions = reads.loc[reads["feature_skipped_lesions"] == True, "case"]  # noqa: E712
    assert len(with_lesions) == 1
    without = reads.loc[~reads["case"].isin(with_lesions)]
    table = publication_tables(without).features.set_index("feature")
    assert table.loc["skipped_lesions", "fisher_or_note"] == (
        "not estimable: the feature is present in no case")
    assert table.loc["skipped_lesions", "fisher_p"] == 1.0
    assert table.loc["skipped_lesions", "logistic_or_note"] == (
        "not estimable: left out of the regression: the feature is present in every case "
        "or in none")
    assert (table.drop(index="skipped_lesions")["logistic_or_note"] == "").all()

    benign_only = reads.loc[reads["truth"] == 0]
    table = publication_tables(benign_only).features
    assert (table["fisher_or_note"] == "not estimable: only one class (malignant or benign) "
            "among the cases").all()
    assert table["logistic_or_note"].str.startswith(
        "not estimable: 'truth' needs both benign and malignant cases").all()
    shown = display_tables(publication_tables(benign_only))["features"]
    assert (shown["Present, malignant % (n/N)"] == "not estimable: no malignant cases").all()


def test_an_empty_table_says_what_it_needs_in_markdown_and_html():
    from readerstudy.analysis import display

    empty = pd.DataFrame()
    assert display.markdown_table(empty, "mrmc") == (
        "_Not applicable to these data: it needs at least two human readers who read the same cases "
        "in two conditions._\n")
    assert display.markdown_table(empty) == "_Not applicable to these data._\n"
    assert set(display.NEEDS) == set(display.TITLES)  # every table says what it needs
