"""Table 9, sample size for a future study: laid out from the ``power`` rows of the results,
with a stated reason where the pilot's MRMC analysis is not estimable."""

from __future__ import annotations

import pandas as pd
import pytest

from readerstudy.analysis import display
from readerstudy.analysis.results import analyse_reads
from readerstudy.analysis.tables import publication_tables
from readerstudy.stats.analyses.power import READERS
from tests.analysis.test_tables_agree_with_results import study_reads

ONE_READER = "not estimable: needs at least 2 human readers who read in every condition, got 1"


@pytest.fixture(scope="module")
def reads() -> pd.DataFrame:
    """Four human readers and the model, conditions "MRI" and "MRI + AI", 36 cases."""
    return study_reads()


def test_table_9_has_every_number_of_readers_for_scores_and_calls(reads):
    results = analyse_reads(reads, n_boot=0)
    table = publication_tables(reads, results=results).power
    assert set(table["rating"]) == {"scores", "calls"}
    assert (table[["condition", "other"]] == ["MRI", "MRI + AI"]).all().all()
    scores = table.loc[table["rating"] == "scores"]
    assert scores["readers"].tolist() == sorted({*READERS, 4})  # 4: this study's readers
    assert (scores["pilot_readers"] == 4).all() and (scores["cases"] == 36).all()
    assert (scores["target_power"] == 0.8).all() and (scores["effect_chosen"] == 0.05).all()
    # More readers, more power; fewer cases needed.
    assert scores["power_chosen"].is_monotonic_increasing
    assert scores["cases_needed_chosen"].dropna().is_monotonic_decreasing
    shown = display.power_display(table)
    assert "4 (this study)" in shown["Readers"].tolist()
    assert {"Power, observed effect", "Cases for 80% power, chosen effect"} <= set(shown.columns)


def test_a_chosen_effect_reaches_the_table(reads):
    results = analyse_reads(reads, n_boot=0)
    bigger = analyse_reads(reads, n_boot=0, power_effect=0.1)
    table = publication_tables(reads, results=bigger).power
    assert (table["effect_chosen"] == 0.1).all()
    before = publication_tables(reads, results=results).power
    assert (table["power_chosen"] >= before["power_chosen"]).all()


def test_one_human_reader_gives_the_reason_not_a_crash(reads):
    one = reads[reads["reader"].isin(["res1", "model:net@1.0"])]
    table = publication_tables(one).power
    assert len(table) == 2  # scores and calls
    assert set(table["note"]) == {ONE_READER}
    assert set(table["power_observed_note"]) == {ONE_READER}
    assert display.power_display(table)["Readers"].tolist() == [ONE_READER, ONE_READER]


def test_one_condition_has_no_table_9(reads, tmp_path):
    tables = publication_tables(reads[reads["condition"] == "MRI"])
    assert tables.power.empty
    display.write_tables(tables, tmp_path, title="One condition")
    assert pd.read_csv(tmp_path / "table9_power.csv")["note"].tolist() == [
        display.NOT_APPLICABLE]
    assert "Table 9. Sample size for a future study" in (tmp_path / "tables.md").read_text()


def test_table_9_is_written_with_its_methods_footnote(reads, tmp_path):
    display.write_tables(publication_tables(reads), tmp_path, title="Study")
    markdown = (tmp_path / "tables.md").read_text()
    assert "Hillis, Obuchowski & Berbaum (2011) power" in markdown
    assert pd.read_csv(tmp_path / "table9_power.csv")["readers"].notna().all()
