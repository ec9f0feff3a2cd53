"""The reading room's keyboard is one table (readerstudy/studies/keymap.py): no key does two
things, an answer shortcut that a viewer key has is refused when the question is registered,
and the page, its help and the README all show that table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from readerstudy.studies import keymap, protocol
from readerstudy.studies.protocol import Choice, Kind, Question

README = Path(__file__).resolve().parents[2] / "README.md"


def grade(shortcuts: dict[str, str]) -> Question:
    """A site's question whose choices have the keys ``shortcuts`` (choice key -> shortcut)."""
    return Question("grade", Kind.CHOICE, "Genant grade",
                    choices=tuple(Choice(key, key.title(), shortcut) for key, shortcut in shortcuts.items()))


def test_no_viewer_key_is_bound_twice_and_no_built_in_answer_uses_one():
    keys = [key.lower() for binding in keymap.VIEWER_KEYS for key in binding.keys]
    assert len(keys) == len(set(keys))
    answer_keys = [c.shortcut.lower() for q in protocol.QUESTIONS.values() for c in q.choices if c.shortcut]
    assert answer_keys == ["b", "m"]
    assert not set(answer_keys) & keymap.viewer_keys()


@pytest.mark.parametrize(("shortcut", "why"), [
    ("A", "the shortcut 'A' is the viewer's key for angle, three points"),
    ("c", "the shortcut 'c' is the viewer's key for Cobb angle, two lines"),
    ("H", "the shortcut 'H' is the viewer's key for probe: the value at a point"),
    ("O", "the shortcut 'O' is the viewer's key for elliptical ROI: mean, SD, min, max, area"),
    ("3", "the shortcut '3' is a digit, which sets a scale"),
    ("B", "the shortcut 'B' already picks Call: Benign (osteoporotic)"),
    ("Up", "the shortcut 'Up' is not a single key"),
])
def test_a_choice_shortcut_that_another_key_has_is_refused_with_the_reason(shortcut, why):
    with pytest.raises(ValueError, match=re.escape(f"choice 'mild': {why}")):
        protocol.register(grade({"mild": shortcut}))
    assert "grade" not in protocol.QUESTIONS


def test_two_choices_of_one_question_cannot_share_a_key_and_free_keys_are_taken():
    with pytest.raises(ValueError, match=re.escape("choice 'severe': the shortcut 'g' already picks Genant grade: Mild")):
        protocol.register(grade({"mild": "G", "severe": "g"}))
    protocol.register(grade({"mild": "G", "severe": "S"}))
    try:
        assert [c.shortcut for c in protocol.QUESTIONS["grade"].choices] == ["G", "S"]
    finally:
        protocol.unregister("grade")


def test_the_readme_lists_the_table():
    built_in = [q for q in protocol.QUESTIONS.values() if q.shortcuts or any(c.shortcut for c in q.choices)]
    readme = "\n".join(line.strip() for line in README.read_text().splitlines())  # a list item's table
    assert keymap.markdown_table(built_in) in readme

