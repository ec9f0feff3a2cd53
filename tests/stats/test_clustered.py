"""Clustered AUC (Obuchowski 1997): checked against the paper's formulas written out
literally, against DeLong's variance (to which it reduces with one case per patient), and
against a patient-level bootstrap of simulated clustered data.

No worked example with printed numbers was found for Obuchowski (1997), Biometrics
53:567-578 (the paper's own data are not public); the literal implementation below
follows the paper's estimators as the Cleveland Clinic's ``funcs_clusteredROC.R`` and
the FDA/DIDSR iMRMC package's ``doAUCcluster`` (an adaptation of it) write them:
``S10 = I10 / ((I10 - 1) M) sum_i (V10(X_i.) - m_i A)^2``, ``S01`` alike,
``S11 = I / (I - 1) sum_i (V10(X_i.) - m_i A)(V01(Y_i.) - n_i A)``,
``Var = S10 / M + S01 / N + 2 S11 / (M N)``; ``Cov = S10_12 / M + S01_12 / N +
(S11_12 + S11_21) / (M N)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from readerstudy.stats import clustered, roc
from readerstudy.stats.analysis import analyse
from readerstudy.stats.estimable import NotEstimableError
from readerstudy.stats.io import validate_reads
from tests.stats.refdata import refdata


@pytest.fixture(scope="module")
def asah() -> pd.DataFrame:
    data = refdata("aSAH.csv")
    return data.assign(poor=(data["outcome"] == "Poor").astype(int), patient=np.arange(len(data)))


def literal_obuchowski(truth, scores, clusters) -> tuple[np.ndarray, np.ndarray]:
    """Obuchowski (1997) by its formulas: loops over clusters, the kernel psi case by case."""
    truth, clusters = np.asarray(truth), np.asarray(clusters)
    scores = np.atleast_2d(scores)
    k = scores.shape[0]
    labels = list(dict.fromkeys(clusters.tolist()))
    pos, neg = truth == 1, truth == 0
    big_m, big_n = int(pos.sum()), int(neg.sum())

    def psi(x: float, y: float) -> float:
        return 1.0 if x > y else (0.5 if x == y else 0.0)

    aucs = np.array(
        [sum(psi(x, y) for x in s[pos] for y in s[neg]) / (big_m * big_n) for s in scores]
    )
    xs, ys = np.zeros((k, len(labels))), np.zeros((k, len(labels)))
    m, n = np.zeros(len(labels)), np.zeros(len(labels))
    for i, label in enumerate(labels):
        mine = clusters == label
        m[i], n[i] = (mine & pos).sum(), (mine & neg).sum()
        for r, s in enumerate(scores):
            # V10(X_i.): each positive of cluster i against all negatives, summed.
            xs[r, i] = sum(sum(psi(x, y) for y in s[neg]) / big_n for x in s[mine & pos])
            ys[r, i] = sum(sum(psi(x, y) for x in s[pos]) / big_m for y in s[mine & neg])
    i_all, i10, i01 = len(labels), int((m > 0).sum()), int((n > 0).sum())
    cov = np.zeros((k, k))
    for r in range(k):
        for q in range(k):
            dx_r, dx_q = xs[r] - m * aucs[r], xs[q] - m * aucs[q]
            dy_r, dy_q = ys[r] - n * aucs[r], ys[q] - n * aucs[q]
            s10 = i10 / ((i10 - 1) * big_m) * np.sum(dx_r * dx_q)
            s01 = i01 / ((i01 - 1) * big_n) * np.sum(dy_r * dy_q)
            s11_rq = i_all / (i_all - 1) * np.sum(dx_r * dy_q)
            s11_qr = i_all / (i_all - 1) * np.sum(dx_q * dy_r)
            cov[r, q] = s10 / big_m + s01 / big_n + (s11_rq + s11_qr) / (big_m * big_n)
    return aucs, cov


def clustered_cases(n_patients: int, seed: int, *, k: int = 2, ties: bool = False) -> pd.DataFrame:
    """1 to 4 fractures per patient, mostly of one kind within a patient (85% share the
    patient's), and a patient effect shared by every score of the patient's fractures, so
    that the cases of a patient are correlated."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, n_patients)
    patient = np.repeat(np.arange(n_patients), sizes)
    malignant = rng.random(n_patients) < 0.45
    truth = np.where(
        rng.random(patient.size) < 0.85, malignant[patient], ~malignant[patient]
    ).astype(int)
    effect = rng.normal(0.0, 1.0, n_patients)[patient]
    frame = pd.DataFrame({"truth": truth, "patient": patient})
    for r in range(k):
        score = 1.5 * truth + effect + rng.normal(0.0, 1.0, patient.size)
        frame[f"r{r}"] = np.round(score) if ties else score
    return frame


# -- the formulas -------------------------------------------------------------------


@pytest.mark.parametrize("ties", [False, True])
def test_covariance_equals_the_papers_formulas_written_out(ties):
    data = clustered_cases(25, seed=3, k=3, ties=ties)
    scores = data[["r0", "r1", "r2"]].to_numpy().T
    aucs, cov = clustered.clustered_covariance(data["truth"].to_numpy(), scores, data["patient"])
    want_aucs, want_cov = literal_obuchowski(data["truth"], scores, data["patient"])
    np.testing.assert_allclose(aucs, want_aucs, rtol=0, atol=1e-14)
    np.testing.assert_allclose(cov, want_cov, rtol=1e-12, atol=1e-16)
    assert (data.groupby("patient").size() > 1).any()


# -- one case per patient: DeLong ---------------------------------------------------


def test_one_case_per_patient_reduces_exactly_to_delong(asah):
    # With one case per cluster: I10 = M and I01 = N, so S10 = M / ((M - 1) M) sum (V10 -
    # A)^2 = DeLong's sample variance of V10 (denominator M - 1), S01 alike; no cluster
    # holds both classes, so every S11 term has a factor 0. The n / (n - 1)-type factors
    # I10 / (I10 - 1) and I01 / (I01 - 1) are exactly DeLong's 1 / (M - 1), 1 / (N - 1)
    # denominators: the factor between the two variances is 1.
    scores = asah[["s100b", "ndka", "wfns"]].to_numpy().T
    truth = asah["poor"].to_numpy()
    aucs, cov = clustered.clustered_covariance(truth, scores, asah["patient"])
    delong_aucs, delong_cov = roc.delong_covariance(truth, scores)
    np.testing.assert_allclose(aucs, delong_aucs, rtol=0, atol=1e-15)
    np.testing.assert_allclose(cov, delong_cov, rtol=1e-12, atol=0)


def test_one_case_per_patient_gives_procs_documented_interval(asah):
    # pROC docs (Robin et al. 2011): roc(aSAH$outcome, aSAH$s100b, ci = TRUE) prints
    # "Area under the curve: 0.7314", "95% CI: 0.6301-0.8326 (DeLong)".
    result = clustered.auc_clustered(asah, truth="poor", score="s100b")
    assert round(result.estimate, 4) == 0.7314
    assert (round(result.ci_low, 4), round(result.ci_high, 4)) == (0.6301, 0.8326)
    assert result.method == "Obuchowski (clustered), Wald"


def test_paired_with_one_case_per_patient_is_delongs_paired_test(asah):
    got = clustered.clustered_paired(asah, x="s100b", y="ndka", truth="poor")
    want = roc.delong_paired(asah, x="s100b", y="ndka", truth="poor")
    for field in ("estimate", "se", "ci_low", "ci_high", "statistic", "p_value"):
        assert getattr(got, field) == pytest.approx(getattr(want, field), rel=1e-10)
    assert got.n == want.n == 113


# -- a patient-level bootstrap ------------------------------------------------------


def cluster_bootstrap_se(
    data: pd.DataFrame, columns: list[str], n_boot: int, seed: int
) -> tuple[np.ndarray, float]:
    """SEs of the AUCs and of their difference over resamples of whole patients: a
    resample is the cases' weights (how often their patient was drawn)."""
    rng = np.random.default_rng(seed)
    codes = pd.factorize(data["patient"])[0]
    n_patients = codes.max() + 1
    drawn = np.stack(
        [
            np.bincount(rng.integers(0, n_patients, n_patients), minlength=n_patients)
            for _ in range(n_boot)
        ]
    )
    weights = drawn[:, codes].astype(float)  # (n_boot, cases)
    pos = data["truth"].to_numpy() == 1
    wp, wn = weights[:, pos], weights[:, ~pos]
    aucs = []
    for column in columns:
        s = data[column].to_numpy()
        psi = (s[pos][:, None] > s[~pos][None, :]) + 0.5 * (s[pos][:, None] == s[~pos][None, :])
        aucs.append(np.einsum("bi,ij,bj->b", wp, psi, wn) / (wp.sum(1) * wn.sum(1)))
    aucs = np.array(aucs)
    return aucs.std(axis=1, ddof=1), float((aucs[0] - aucs[1]).std(ddof=1))


def test_standard_errors_agree_with_a_patient_level_bootstrap():
    # 300 patients with 1-4 fractures each (about 750 cases), correlated within patients.
    # The bootstrap SE with B resamples has a Monte-Carlo relative error of about
    # 1 / sqrt(2 B) = 1.1% (B = 4000); both SEs estimate the same sampling SD, up to
    # terms of order 1 / patients. Allowed: 6% (seen: within 2% on three seeds). DeLong's
    # SE, which takes the fractures as independent, is about 20% smaller here: the test
    # tells the two apart.
    data = clustered_cases(300, seed=11)
    truth, scores = data["truth"].to_numpy(), data[["r0", "r1"]].to_numpy().T
    _, cov = clustered.clustered_covariance(truth, scores, data["patient"])
    _, delong_cov = roc.delong_covariance(truth, scores)
    boot_se, boot_diff_se = cluster_bootstrap_se(data, ["r0", "r1"], n_boot=4000, seed=1)
    se = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(se, boot_se, rtol=0.06)
    diff_se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert diff_se == pytest.approx(boot_diff_se, rel=0.06)
    assert (np.sqrt(np.diag(delong_cov)) < 0.9 * boot_se).all()


# -- estimability and input -----------------------------------------------------------


def test_one_patient_with_every_malignant_fracture_is_not_estimable():
    data = pd.DataFrame(
        {"truth": [1, 1, 0, 0, 0], "score": [5, 4, 3, 2, 1], "patient": ["a", "a", "b", "c", "c"]}
    )
    with pytest.raises(NotEstimableError, match=r"at least 2\s+patients"):
        clustered.auc_clustered(data)


def test_has_clusters_only_when_a_patient_has_two_cases():
    assert not clustered.has_clusters(["a", "b", "c"])
    assert clustered.has_clusters(["a", "b", "a"])


# -- in the results -------------------------------------------------------------------


def reads_of(data: pd.DataFrame, with_patient: bool = True) -> pd.DataFrame:
    rows = []
    for case, rec in enumerate(data.itertuples(index=False)):
        for reader, score in (("reader1", rec.r0), ("model", rec.r1)):
            rows.append(
                {
                    "reader": reader,
                    "case": f"c{case}",
                    "truth": rec.truth,
                    "score": score,
                    "call": "malignant" if score > 0.6 else "benign",
                }
                | ({"patient": f"p{rec.patient}"} if with_patient else {})
            )
    return pd.DataFrame(rows)


def test_results_add_clustered_rows_when_a_patient_has_several_fractures():
    data = clustered_cases(40, seed=5)
    results = analyse(reads_of(data), n_boot=0).set_index(["analysis", "reader", "other", "metric"])
    want = clustered.auc_clustered(data.rename(columns={"r0": "score"}))
    got = results.loc[("auc", "reader1", "", "auc_clustered")]
    delong = results.loc[("auc", "reader1", "", "auc_delong")]
    assert got["estimate"] == delong["estimate"] == pytest.approx(want.estimate)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((want.ci_low, want.ci_high))
    paired = clustered.clustered_paired(data, x="r0", y="r1")
    row = results.loc[("delong_paired", "reader1", "model", "auc_difference_clustered")]
    assert (row["estimate"], row["statistic"], row["p_value"]) == pytest.approx(
        (paired.estimate, paired.statistic, paired.p_value)
    )
    assert ("auc", "reader1", "", "auc_calls_clustered") in results.index
    assert ("delong_paired", "reader1", "model", "auc_calls_difference_clustered") in results.index


def test_results_are_unchanged_without_patients_or_with_one_case_each():
    data = clustered_cases(40, seed=5)
    plain = analyse(reads_of(data, with_patient=False), n_boot=0)
    one_each = reads_of(data).assign(patient=lambda f: f["case"])
    assert not plain["metric"].str.endswith("_clustered").any()
    pd.testing.assert_frame_equal(analyse(one_each, n_boot=0), plain)


def test_a_case_in_two_patients_is_refused_and_a_blank_patient_is_its_own():
    reads = pd.DataFrame({"reader": ["r1", "r2"], "case": ["c1", "c1"], "patient": ["p1", "p2"]})
    with pytest.raises(ValueError, match="'patient' differs between reads of the same case"):
        validate_reads(reads)
    blank = pd.DataFrame({"reader": ["r1", "r1"], "case": ["c1", "c2"], "patient": ["", "p1"]})
    assert validate_reads(blank)["patient"].tolist() == [None, "p1"]
