"""The knee of a capacity search: the highest step of offered rate the target still kept up with.

A step holds when, over its seconds (the first one left out as the transition), the target acknowledged at
least 99 % of what was offered and the worst per-second p99 stayed under the run's ``p99_produce_ms``
threshold, if it has one. The knee is the last step that held before the first that did not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iocsim.loadtest.profile import LoadProfile
from iocsim.loadtest.thresholds import Threshold

KEPT_UP_RATIO = 0.99


def step_results(
    profile: LoadProfile, series: Sequence[Mapping[str, Any]], p99_limit_ms: float | None
) -> list[dict[str, Any]]:
    """Per step of every ``step`` stage: offered and achieved rate, worst p99, and whether it held."""
    results = []
    for stage in profile.stages:
        if stage.kind != "step":
            continue
        for start, duration, rate, _ in stage.segments():
            rows = [r for r in series if start + 1 <= r["t"] < start + duration]
            if not rows or rate <= 0:
                continue
            offered = sum(r["offered"] for r in rows) / len(rows)
            achieved = sum(r["acked"] for r in rows) / len(rows)
            p99s = [r["p99_ms"] for r in rows if r["p99_ms"] is not None]
            worst = max(p99s) if p99s else None
            held = offered > 0 and achieved >= KEPT_UP_RATIO * offered
            if p99_limit_ms is not None:
                held = held and worst is not None and worst < p99_limit_ms
            results.append(
                {"rate": rate, "offered": offered, "achieved": achieved, "worst_p99_ms": worst, "held": held}
            )
    return results


def knee_note(profile: LoadProfile, series: Sequence[Mapping[str, Any]], thresholds: Sequence[Threshold]) -> str | None:
    """One line for the report; None when the profile has no steps."""
    limits = [t.limit for t in thresholds if t.metric == "p99_produce_ms" and t.op in ("<", "<=")]
    steps = step_results(profile, series, min(limits) if limits else None)
    if not steps:
        return None
    failed = next((i for i, step in enumerate(steps) if not step["held"]), None)
    if failed is None:
        return f"capacity: every step held, up to {steps[-1]['rate']:,.0f} events/s (no knee found: step higher)"
    if failed == 0:
        return f"capacity: even the first step ({steps[0]['rate']:,.0f} events/s) did not hold"
    knee, broke = steps[failed - 1], steps[failed]
    p99 = f", p99 up to {broke['worst_p99_ms']:.0f} ms" if broke["worst_p99_ms"] is not None else ""
    return (
        f"capacity: knee at {knee['rate']:,.0f} events/s (the last step that held); at {broke['rate']:,.0f} "
        f"events/s {broke['achieved']:,.0f}/s were acknowledged{p99}"
    )
