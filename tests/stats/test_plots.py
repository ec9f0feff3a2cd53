"""Figures: ROC curves (model distinct, calls as points) and Bland-Altman plots, PNG and SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from readerstudy.stats.bland_altman import bland_altman
from readerstudy.stats.io import validate_reads
from readerstudy.stats.plot_jobs import NOT_IN_ROC, start_plots
from readerstudy.stats.plots import (
    MAX_PAIR_PANELS,
    _pair_results,
    bland_altman_figure,
    bland_altman_grid,
    bland_altman_summary,
    roc_figure,
    slug,
    write_plots,
)
from readerstudy.stats.roc import roc_curve


@pytest.fixture(scope="module")
def reads() -> pd.DataFrame:
    rng = np.random.default_rng(9)
    truth = rng.integers(0, 2, 40)
    cases = [f"c{i}" for i in range(40)]
    frames = []
    for reader, shift in (("reader1", 1.0), ("reader2", 1.5), ("model", 2.0)):
        score = truth * shift + rng.normal(size=40)
        frames.append(
            pd.DataFrame(
                {"reader": reader, "case": cases, "truth": truth, "score": score,
                 "call": np.where(score > 0.5, "malignant", "benign")}
            )
        )  # fmt: skip
    calls_only = np.where(truth + rng.normal(0, 0.6, 40) > 0.5, "malignant", "benign")
    frames.append(
        pd.DataFrame({"reader": "resident", "case": cases, "truth": truth, "call": calls_only})
    )
    return pd.concat(frames, ignore_index=True)


def test_roc_figure_draws_score_curves_call_points_and_a_distinct_model(reads):
    figure = roc_figure(validate_reads(reads))
    ax = figure.axes[0]
    labels = {line.get_label(): line for line in ax.get_lines()}
    model = next(line for name, line in labels.items() if name.startswith("model (AUC"))
    assert model.get_color() == "black" and model.get_linewidth() > 2
    assert any(name.startswith("reader1 (AUC") for name in labels)
    resident = labels["resident (call)"]
    assert resident.get_marker() == "o" and len(resident.get_xdata()) == 1
    r1 = reads[reads["reader"] == "reader1"]
    curve = roc_curve(r1)
    drawn = next(line for name, line in labels.items() if name.startswith("reader1 (AUC"))
    np.testing.assert_allclose(drawn.get_xdata(), curve["fpr"])
    np.testing.assert_allclose(drawn.get_ydata(), curve["tpr"])


def test_roc_figure_needs_truth(reads):
    with pytest.raises(ValueError, match="truth"):
        roc_figure(validate_reads(reads.drop(columns="truth")))


def test_bland_altman_figure_shows_bias_and_limits():
    rng = np.random.default_rng(1)
    a = rng.normal(size=30)
    pair = pd.DataFrame({"reader1": a, "model": a + rng.normal(0.2, 0.3, 30)})
    result = bland_altman(pair, x="reader1", y="model")
    ax = bland_altman_figure(result, reader="reader1", other="model").axes[0]
    levels = sorted(line.get_ydata()[0] for line in ax.get_lines())
    for value in (result.loa_low, result.estimate, result.loa_high):
        assert min(abs(level - value) for level in levels) < 1e-12
    assert ax.get_ylabel() == "reader1 - model"


@pytest.mark.slow
def test_write_plots_saves_png_and_svg_for_roc_and_the_bland_altman_figures(reads, tmp_path):
    written = write_plots(reads, tmp_path, n_boot=100)
    assert tmp_path / "roc_bands_all.csv" in written  # the ROC curves' confidence bands
    written = [p for p in written if p.suffix != ".csv"]
    names = sorted(p.name for p in written)
    stems = {n.rsplit(".", 1)[0] for n in names}
    assert stems == {"roc_all", "bland_altman_all", "bland_altman_all_summary"}
    assert len(names) == 2 * len(stems)
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert ET.parse(path).getroot().tag.endswith("svg")


def test_the_grid_has_a_panel_per_pair_and_the_summary_every_pairs_bias_and_limits(reads):
    data = validate_reads(reads)
    pairs = _pair_results(data, 0.05)
    assert [(a, b) for a, b, _ in pairs] == [("reader1", "reader2"), ("reader1", "model"),
                                             ("reader2", "model")]
    grid = bland_altman_grid(pairs)
    panels = [ax for ax in grid.axes if ax.get_visible()]
    assert len(panels) == 3
    for ax, (_, _, result) in zip(panels, pairs, strict=True):
        levels = sorted(line.get_ydata()[0] for line in ax.get_lines()[1:])
        for value in (result.loa_low, result.estimate, result.loa_high):
            assert min(abs(level - value) for level in levels) < 1e-12
    ax = bland_altman_summary(pairs).axes[0]
    bias = ax.get_lines()[0]
    np.testing.assert_allclose(bias.get_xdata(), [r.estimate for _, _, r in pairs])
    assert [t.get_text() for t in ax.texts] == [
        "reader1 - reader2", "reader1 - model", "reader2 - model"]


def test_many_pairs_draw_each_reader_against_the_model_as_panels(tmp_path):
    rng = np.random.default_rng(2)
    truth = np.arange(40) % 2
    rows = [{"reader": r, "case": f"c{i}", "truth": truth[i], "score": truth[i] + rng.normal(),
             "reader_kind": "model" if r == "model" else "human"}
            for r in [*(f"reader{k}" for k in range(1, 7)), "model"] for i in range(40)]
    written = write_plots(pd.DataFrame(rows), tmp_path)
    assert {p.stem for p in written} == {"roc_all", "roc_bands_all", "bland_altman_all",
                                        "bland_altman_all_summary"}
    pairs = _pair_results(validate_reads(pd.DataFrame(rows)), 0.05)
    assert len(pairs) == 21 > MAX_PAIR_PANELS


def test_slug_makes_names_safe_for_files():
    assert slug("MRI / T2w") == "MRI-T2w" and slug("") == "all"


def _late_reader(reads: pd.DataFrame) -> pd.DataFrame:
    """A reader who read only 3 cases: 2 malignant (scores 70, 40) and 1 benign (50)."""
    malignant = reads.loc[(reads["reader"] == "model") & (reads["truth"] == 1), "case"][:2]
    benign = reads.loc[(reads["reader"] == "model") & (reads["truth"] == 0), "case"][:1]
    return pd.DataFrame({"reader": "late", "case": [*malignant, *benign], "truth": [1, 1, 0],
                         "score": [70.0, 40.0, 50.0],
                         "call": ["malignant", "benign", "benign"]})


def test_a_reader_with_three_reads_is_drawn_and_one_without_a_benign_case_is_left_out(reads):
    # The user trial's bug: DeLong's variance (2 cases of each class) was asked of every curve
    # and one reader's 3 reads removed every ROC figure. A curve needs one case of each class.
    only_malignant = reads.loc[(reads["reader"] == "reader2") & (reads["truth"] == 1)].assign(
        reader="malignant-only")
    given = pd.concat([reads, _late_reader(reads), only_malignant], ignore_index=True)
    ax = roc_figure(validate_reads(given)).axes[0]
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    # The Mann-Whitney AUC by hand (Hanley & McNeil 1982, the probability that a malignant
    # case scores above a benign one, ties one half): 70 > 50 counts 1, 40 < 50 counts 0.
    assert "late (AUC 0.50)" in names
    assert any(n.startswith("model (AUC") for n in names)
    assert not any(n.startswith("malignant-only") for n in names)
    jobs = start_plots(given, "unused", n_boot=0)  # notes without drawing
    assert jobs.notes == [f"ROC figure: malignant-only left out ({NOT_IN_ROC})"]


def test_write_plots_draws_every_figure_when_one_pair_has_a_single_common_case(reads, tmp_path):
    # "solo" read one case, which the others scored too: its pairs cannot be drawn (a
    # Bland-Altman analysis needs 2), nor its ROC curve; the others are, and the notes name
    # solo and its pairs.
    solo = reads.loc[(reads["reader"] == "reader1")].head(1).assign(reader="solo")
    data = pd.concat([reads, solo], ignore_index=True)
    jobs = start_plots(data, tmp_path, n_boot=0)
    written = jobs.result()
    assert {p.stem for p in written} == {"roc_all", "bland_altman_all", "bland_altman_all_summary"}
    assert jobs.notes == [
        f"ROC figure: solo left out ({NOT_IN_ROC})",
        "Bland-Altman figures of scores: reader1 - solo; reader2 - solo; solo - model left out "
        "(fewer than 2 cases scored by both)"]
    pairs = _pair_results(validate_reads(data), 0.05)
    assert [(a, b) for a, b, _ in pairs] == [("reader1", "reader2"), ("reader1", "model"),
                                             ("reader2", "model")]


def _inside(figure) -> None:
    """Every text of ``figure`` lies inside it once drawn (nothing clipped at an edge)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = figure.bbox
    texts = [t for ax in figure.axes if ax.get_visible() for t in
             [*ax.texts, ax.xaxis.label, ax.yaxis.label, ax.title]] + list(figure.texts)
    for text in texts:
        if not text.get_text():
            continue
        extent = text.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 0.5 and extent.x1 <= box.x1 + 0.5, text.get_text()
        assert extent.y0 >= box.y0 - 0.5 and extent.y1 <= box.y1 + 0.5, text.get_text()


MODEL_ID = "model:demo-phantom-ct@phantom-898bf49224cb"


def test_bland_altman_figures_use_display_names_name_the_quantity_and_clip_no_label(reads):
    data = validate_reads(reads.replace({"reader": {"model": MODEL_ID}}))
    pairs = _pair_results(data, 0.05)
    labels = {MODEL_ID: "demo-phantom-ct phantom-898bf…"}
    quantity = "Probability of malignancy (0-100)"
    grid = bland_altman_grid(pairs, labels=labels, quantity=quantity, title="Bland-Altman, CT")
    shown = [t.get_text() for ax in grid.axes for t in ax.texts]
    assert "reader1 - demo-phantom-ct phantom-898bf…" in shown
    assert not any(MODEL_ID in text for text in shown)
    assert [t.get_text() for t in grid.texts[:2]] == [
        f"Mean of the pair, {quantity}", f"Difference, reader - other\n{quantity}"]
    _inside(grid)
    summary = bland_altman_summary(pairs, labels=labels, quantity=quantity)
    assert summary.axes[0].get_xlabel() == f"Difference, reader - other: {quantity}"
    _inside(summary)
    # A name twice as long still fits: the figure widens for it.
    _inside(bland_altman_summary(pairs, labels={MODEL_ID: "x" * 70}))


def test_roc_legend_explains_the_markers_and_the_models_point_is_drawn_whole(reads):
    data = validate_reads(reads.replace({"reader": {"model": MODEL_ID}}))
    ax = roc_figure(data, labels={MODEL_ID: "demo-phantom-ct phantom-898bf…"}).axes[0]
    legend = ax.get_legend()
    names = [t.get_text() for t in legend.get_texts()]
    assert "reader's benign/malignant call" in names and "model's benign/malignant call" in names
    assert any(n.startswith("demo-phantom-ct phantom-898bf… (AUC") for n in names)
    star = next(line for line in ax.get_lines() if line.get_marker() == "*")
    # Visible: a dark edge on white, above the curves, not clipped at an axis.
    assert star.get_markeredgecolor() == "black" and star.get_markerfacecolor() == "white"
    assert not star.get_clip_on() and star.get_zorder() > max(
        line.get_zorder() for line in ax.get_lines() if line.get_marker() in ("None", ""))
    calls = data[(data["reader"] == MODEL_ID) & data["call"].isin(["benign", "malignant"])]
    called = calls["call"] == "malignant"
    assert star.get_xdata()[0] == pytest.approx(called[calls["truth"] == 0].mean())  # 1 - spec.
    assert star.get_ydata()[0] == pytest.approx(called[calls["truth"] == 1].mean())  # sens.
