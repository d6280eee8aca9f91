"""Poisson tail probabilities for counts of rare reports.

Counts of citizen reports in a window are Poisson with a small mean, so a
normal approximation (a z-score) would call two reports "a 40-sigma event".
The exact upper tail ``P(N >= k)`` is summed from its largest term down,
which stays accurate for tails far below 1e-12, where ``1 - cdf`` would
cancel to zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_MAX_TERMS = 10_000
_DIRECT_UP_TO = 30.0


def poisson_sf(k: int, mu: float) -> float:
    """``P(N >= k)`` for ``N ~ Poisson(mu)``."""
    if k <= 0:
        return 1.0
    if mu <= 0.0:
        return 0.0
    if k > mu:
        return _tail(math.exp(-mu + k * math.log(mu) - math.lgamma(k + 1)), k, mu)
    term = math.exp(-mu)
    below = 0.0
    for i in range(k):
        below += term
        term *= mu / (i + 1)
    return min(1.0, max(0.0, 1.0 - below))


def _tail(term: float, k: int, mu: float) -> float:
    """``P(N >= k)`` from ``term = P(N = k)`` when ``k > mu`` (the terms then shrink)."""
    total, i = 0.0, k
    while term > 0.0 and i < k + _MAX_TERMS:
        total += term
        if term <= total * 1e-17:
            break
        i += 1
        term *= mu / i
    return min(1.0, total)


def count_threshold(mu: float, level: float) -> int:
    """The smallest count ``k >= 1`` with ``P(N >= k) < level``: how many reports it takes."""
    if mu <= 0.0:
        return 1
    if mu > _DIRECT_UP_TO:
        k = max(1, math.floor(mu))
        while k > 1 and poisson_sf(k - 1, mu) < level:
            k -= 1
        while poisson_sf(k, mu) >= level:
            k += 1
        return k
    # Small means: walk the pmf up; below the mode the tail is 1 minus the running
    # sum, above it the tail is summed from its first term.
    term, below, k = math.exp(-mu), 0.0, 0
    while (1.0 - below if k <= mu else _tail(term, k, mu)) >= level:
        below += term
        k += 1
        term *= mu / k
    return max(k, 1)


@dataclass(frozen=True)
class WindowTest:
    """The verdict on one window: ``count`` reports where ``expected`` were due.

    ``alarm``: the count may start an alarm; ``holds``: it may keep one going.
    """

    window_seconds: float
    count: int
    expected: float
    p_value: float
    threshold: int
    alarm: bool
    holds: bool


def judge_window(
    window_seconds: float, count: int, expected: float, level: float, min_count: int, clear_level: float | None = None
) -> WindowTest:
    """Alarm when the count is both at least ``min_count`` and improbable at ``level``."""
    p_value = poisson_sf(count, expected)
    threshold = max(min_count, count_threshold(expected, level))
    alarm = count >= threshold
    holds = alarm or (count >= min_count and p_value < (level if clear_level is None else clear_level))
    return WindowTest(window_seconds, count, expected, p_value, threshold, alarm, holds)


def most_telling(tests: list[WindowTest]) -> WindowTest:
    """The alarming window with the smallest p-value, else the least probable window."""
    alarms = [t for t in tests if t.alarm] or [t for t in tests if t.holds]
    return min(alarms or tests, key=lambda t: (t.p_value, t.window_seconds))
