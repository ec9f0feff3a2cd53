"""The trainee's learning curve as inline SVG coordinates (no script on the page): one small
chart per measure, the rolling estimate with its 95% band, and the model's and the attendings'
level on the same cases as reference lines."""

from __future__ import annotations

import math
from typing import Any

WIDTH, HEIGHT, PAD = 360, 150, 28
LEFT = 40  # room for the tick labels
MEASURES = (("accuracy", "Accuracy"), ("sensitivity", "Sensitivity"), ("specificity", "Specificity"))


def _x(n: int, last: int) -> float:
    return LEFT if last <= 1 else LEFT + (n - 1) * (WIDTH - LEFT - PAD) / (last - 1)


def _y(value: float) -> float:
    return HEIGHT - PAD - value * (HEIGHT - 2 * PAD)


def _level(scores: Any, measure: str) -> dict[str, Any] | None:
    if scores is None:
        return None
    p = getattr(scores, measure)
    if math.isnan(p.estimate):
        return None
    return {"y": round(_y(p.estimate), 1), "proportion": p}


def learning_charts(progress: dict[str, Any]) -> list[dict[str, Any]]:
    """Per measure: the polyline of the rolling estimate, the polygon of its interval, the
    reference lines (model, attendings) and the axis ticks, in SVG user units."""
    curve, charts = progress["curve"], []
    last = curve[-1]["n"] if curve else 0
    for measure, label in MEASURES:
        points = [(row["n"], getattr(row["scores"], measure)) for row in curve]
        points = [(n, p) for n, p in points if not math.isnan(p.estimate)]
        line = " ".join(f"{_x(n, last):.1f},{_y(p.estimate):.1f}" for n, p in points)
        upper = [f"{_x(n, last):.1f},{_y(p.ci_high):.1f}" for n, p in points]
        lower = [f"{_x(n, last):.1f},{_y(p.ci_low):.1f}" for n, p in reversed(points)]
        charts.append({
            "measure": measure, "label": label, "line": line, "band": " ".join(upper + lower),
            "dots": [{"x": round(_x(n, last), 1), "y": round(_y(p.estimate), 1)} for n, p in points],
            "last": points[-1][1] if points else None,
            "model": _level(progress["model"], measure), "attendings": _level(progress["attendings"], measure),
            "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - PAD,
            "ticks": [{"y": round(_y(v), 1), "label": f"{int(v * 100)}%"} for v in (0.0, 0.5, 1.0)],
            "bottom": HEIGHT - PAD, "n_last": last,
        })
    return charts
