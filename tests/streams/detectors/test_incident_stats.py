from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocsim.streams.detectors.incident_stats import count_threshold, judge_window, most_telling, poisson_sf


def exact_sf(k: int, mu: float) -> float:
    """P(N >= k) with rational arithmetic on a rational mu (slow, exact up to the truncation)."""
    m = Fraction(mu)
    term, total = Fraction(1), Fraction(0)
    for i in range(k + 200):
        if i >= k:
            total += term
        term = term * m / (i + 1)
    return float(total) * math.exp(-mu)


@pytest.mark.parametrize(
    ("k", "mu"), [(0, 0.5), (1, 1e-6), (2, 1e-4), (3, 0.002), (5, 0.5), (2, 3.0), (10, 9.5), (40, 10.0)]
)
def test_poisson_tail_matches_exact_sum(k: int, mu: float) -> None:
    assert poisson_sf(k, mu) == pytest.approx(exact_sf(k, mu), rel=1e-9, abs=1e-300)


def test_tail_stays_accurate_far_below_one_minus_cdf_precision() -> None:
    # 1 - cdf would round to 0 here; the tail is about mu^k / k!
    assert poisson_sf(6, 1e-4) == pytest.approx(1e-24 / 720, rel=1e-3)
    assert poisson_sf(0, 0.0) == 1.0 and poisson_sf(1, 0.0) == 0.0


@settings(max_examples=200)
@given(st.floats(1e-7, 60.0), st.sampled_from([1e-2, 1e-4, 1e-6, 3.3e-7]))
def test_threshold_is_the_smallest_improbable_count(mu: float, level: float) -> None:
    k = count_threshold(mu, level)
    assert k >= 1
    assert poisson_sf(k, mu) < level
    assert k == 1 or poisson_sf(k - 1, mu) >= level


@settings(max_examples=25, deadline=None)
@given(st.floats(1e-3, 40.0), st.sampled_from([1e-2, 1e-3]))
def test_false_alarm_rate_per_window_is_at_most_the_level(mu: float, level: float) -> None:
    """Windows of Poisson(mu) counts with mu known alarm at most ``level`` of the time.

    The exact alarm probability is P(N >= threshold) < level; the sample of
    200,000 windows (fixed seed) may exceed it by at most 5 standard errors,
    a bound a correct rule breaks with probability below 1e-6 per example.
    """
    n = 200_000
    counts = np.random.default_rng(20250714).poisson(mu, n)
    threshold = judge_window(900.0, 0, mu, level, 1).threshold
    rate = float(np.mean(counts >= threshold))
    assert rate <= level + 5 * math.sqrt(level * (1 - level) / n)
    assert [judge_window(900.0, int(c), mu, level, 1).alarm for c in counts[:200]] == list(counts[:200] >= threshold)


def test_min_count_keeps_a_lone_report_from_alarming() -> None:
    lone = judge_window(900.0, 1, 1e-9, 1e-6, 2)
    assert not lone.alarm and lone.threshold == 2 and lone.p_value < 1e-6
    assert judge_window(900.0, 2, 1e-9, 1e-6, 2).alarm


def test_most_telling_prefers_alarms_then_smallest_p_value() -> None:
    quiet = judge_window(900.0, 1, 0.5, 1e-6, 2)
    loud = judge_window(3600.0, 4, 0.01, 1e-6, 2)
    louder = judge_window(1800.0, 4, 0.001, 1e-6, 2)
    assert most_telling([quiet, loud, louder]) == louder
    assert most_telling([quiet]) == quiet
