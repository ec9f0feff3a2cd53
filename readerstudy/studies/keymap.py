"""The reading room's keyboard, in one table: which key does what.

The page's key handler (``frontend/src/reading.js``) dispatches the viewer's keys from this
table, which the page's configuration carries; the in-page help and the README list it; and
:func:`readerstudy.studies.protocol.register` refuses an answer shortcut that a viewer key or
another answer already has. Before, the viewer's keys were a ``switch`` in the page script and
a question's choice could be given ``A`` (the angle tool's key): pressing it picked the tool,
never the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Binding:
    """Keys and the viewer action they trigger.

    ``keys`` are ``KeyboardEvent.key`` values (letters in lower case, "ArrowUp", "PageDown");
    ``action`` is what the page does ("tool:angle", ("scroll:-1",), "reset"...); ``shown`` and
    ``help`` are the keys and their meaning as the help lists them.
    """

    keys: tuple[str, ...]
    action: str
    shown: tuple[str, ...]
    help: str


# The viewer's keys, in the help's order. Answer keys (a choice's shortcut, 1-9 on a scale)
# come from the answer form and may use none of these.
VIEWER_KEYS: tuple[Binding, ...] = (
    Binding(("ArrowUp", "ArrowLeft"), "scroll:-1", ("↑", "←"), "previous slice (also the wheel)"),
    Binding(("ArrowDown", "ArrowRight"), "scroll:1", ("↓", "→"), "next slice"),
    Binding(("PageUp",), "scroll:-10", ("PgUp",), "ten slices back"),
    Binding(("PageDown",), "scroll:10", ("PgDn",), "ten slices on"),
    Binding(("w",), "tool:windowLevel", ("W",), "window/level by dragging"),
    Binding(("p",), "tool:pan", ("P",), "pan (also the middle button)"),
    Binding(("z",), "tool:zoom", ("Z",), "zoom, dragging up magnifies (also the right button)"),
    Binding(("l",), "tool:length", ("L",), "length (fills a mm field)"),
    Binding(("a",), "tool:angle", ("A",), "angle, three points (fills the vertebral angle)"),
    Binding(("c",), "tool:cobbAngle", ("C",), "Cobb angle, two lines (fills the vertebral angle)"),
    Binding(("h",), "tool:probe", ("H",), "probe: the value at a point (HU on CT)"),
    Binding(("o",), "tool:ellipticalRoi", ("O",), "elliptical ROI: mean, SD, min, max, area"),
    Binding(("x",), "tool:crosshairs", ("X",), "crosshairs: click a point, the other views go through it"),
    Binding(("r",), "reset", ("R",), "reset zoom, pan and window; the reformat back to the target"),
    Binding(("f",), "fullscreen", ("F",), "full screen"),
    Binding(("Enter",), "submit", ("Enter",), "submit (asks to confirm), also from a measurement field"),
)
# Window presets are Shift with a digit (the page reads the digit from ``KeyboardEvent.code``,
# which Shift does not change): listed in the help, never a conflict with an answer's key.
PRESET_HELP = (("Shift+1", "Shift+2"), "window presets (CT: bone, soft tissue)")
# A scale's shortcuts are the digits 1-9 (the first, second... of its values).
SCALE_KEYS = frozenset("123456789")


def viewer_keys() -> frozenset[str]:
    """Every key the viewer takes, as ``KeyboardEvent.key`` (letters in lower case)."""
    return frozenset(key for binding in VIEWER_KEYS for key in binding.keys)


def shortcut_conflict(shortcut: str, taken: dict[str, str]) -> str:
    """Why ``shortcut`` cannot pick an answer ("" when it can): it must be one letter or sign
    that no viewer key, no scale and no other answer (``taken``: key -> what has it) uses."""
    key = shortcut.lower()
    if len(shortcut) != 1 or not shortcut.isprintable() or shortcut.isspace():
        return f"the shortcut {shortcut!r} is not a single key"
    if key in viewer_keys():
        action = next(b for b in VIEWER_KEYS if key in b.keys)
        return f"the shortcut {shortcut!r} is the viewer's key for {action.help.split(' (')[0]}"
    if key in SCALE_KEYS:
        return f"the shortcut {shortcut!r} is a digit, which sets a scale"
    if key in taken:
        return f"the shortcut {shortcut!r} already picks {taken[key]}"
    return ""


def for_page() -> list[dict[str, Any]]:
    """The viewer's keys as the page's key handler takes them."""
    return [{"keys": list(b.keys), "action": b.action} for b in VIEWER_KEYS]


def help_rows(questions: Iterable[Any] = ()) -> list[tuple[tuple[str, ...], str]]:
    """(keys, meaning) for the in-page help: the answer keys of ``questions`` (the study's form,
    :class:`~readerstudy.studies.protocol.Question`), then the viewer's."""
    rows: list[tuple[tuple[str, ...], str]] = []
    for q in questions:
        for choice in q.choices:
            if choice.shortcut:
                rows.append(((choice.shortcut.upper(),), f"{q.label}: {choice.label}"))
        if q.shortcuts:
            values = " / ".join(f"{v:g}{q.unit}" for v in q.shortcuts)
            rows.append(((f"1–{len(q.shortcuts)}",), f"{q.label}: {values}"))
    rows.extend((b.shown, b.help) for b in VIEWER_KEYS)
    rows.append(PRESET_HELP)
    return rows


def markdown_table(questions: Iterable[Any] = ()) -> str:
    """The keys as the README lists them, with the answer keys of ``questions`` (a test keeps
    the README's table the same as this one)."""
    lines = ["| keys | what they do |", "|---|---|"]
    lines += [f"| {' '.join(f'`{k}`' for k in keys)} | {meaning} |" for keys, meaning in help_rows(questions)]
    return "\n".join(lines)
