"""The per-observation judgement of one camera: tamper (covered, defocused, turned) and activity.

Tamper conditions are *level shifts* against a short-term reference of the
healthy view. Light changes through dawn and dusk over an hour and the
reference follows it; a hand over the lens, lost focus or a turned mount
changes the picture from one clip to the next. Once a condition holds, the
reference is frozen and the anomalous level is tracked instead, so the
condition lasts exactly as long as the picture stays nearer the anomalous
level than the healthy one, even if night falls meanwhile.

Activity compares blobs and motion with the larger of the short-term level
and the level learned for the local hour, so a crowd is both a jump and
unusual for the hour; at night, in a scene that is normally empty then, a
CUSUM of blobs tells loitering people from a passer-by. Nothing is learned
from clips under suspicion (a crowd, or a CUSUM above zero), so a scene
counts as empty only once its short-term level has stayed low for a while
(``peak``, which falls slowly): a square emptying late in the evening has
quiet minutes between its last passers-by, and a level frozen in one of them
would take the next few for loiterers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from iocsim.contract import CameraMetrics
from iocsim.streams.detectors.camera_settings import (
    COVERED_RULE,
    CROWD_RULE,
    DEFOCUSED_RULE,
    INTRUSION_RULE,
    TURNED_RULE,
    CameraDetectorSettings,
    normally_empty_prior,
)
from iocsim.streams.detectors.camera_state import HOURS, Activity, CameraState, Condition, Tamper


class Verdict(NamedTuple):
    """Whether a rule's condition holds on one observation, with its evidence.

    A named tuple, not a dataclass: six are made per observation and almost all
    are dropped unseen by the gates, so they should cost as little as a tuple.
    """

    rule: str
    active: bool
    observed: float
    baseline: float
    threshold: float


def larger(a: float, b: float) -> float:
    """``max(a, b)``, ties and all, at the cost of one comparison.

    On CPython 3.11 the built-in ``max`` and ``min`` parse their arguments as a
    general iterable call, which made them a large share of each observation's
    cost here; these keep the built-ins' results exactly (the first argument
    wins a tie), so no verdict depends on which is used.
    """
    return b if b > a else a


def smaller(a: float, b: float) -> float:
    """``min(a, b)``, ties and all (see :func:`larger`)."""
    return b if b < a else a


def clamp(x: float, low: float, high: float) -> float:
    """``min(max(x, low), high)`` (see :func:`larger`)."""
    x = low if low > x else x
    return high if high < x else x


def median(values: Iterable[float]) -> float:
    """The median of a short non-empty list, as :func:`statistics.median` gives it.

    The lists here hold a handful of numbers, for which the general function's
    checks and conversions cost more than the sort itself.
    """
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _ew(level: float, value: float, alpha: float) -> float:
    return level + alpha * (value - level)


def judge_tamper(state: Tamper, m: CameraMetrics, t: float, s: CameraDetectorSettings) -> list[Verdict]:
    """Covered, defocused and turned verdicts for one observation; learns the reference when healthy."""
    lb, ls = math.log1p(m.brightness), math.log1p(m.sharpness)
    d, response = m.displacement_px, m.displacement_response
    if state.seen == 0:
        state.brightness, state.sharpness, state.previous, state.previous_sharpness = lb, ls, lb, ls
        state.displacement = d if response >= s.turned_min_response else 0.0
    warm = state.seen >= s.warmup_observations
    for condition in (state.covered, state.defocused, state.turned):
        if condition.active and condition.since is not None and t - condition.since >= s.tamper_relearn_seconds:
            condition.active, condition.since = False, None
            state.brightness, state.sharpness = lb, ls
    darker, blurrier = state.brightness - lb, state.sharpness - ls
    covered_b, covered_s = -math.log(s.covered_brightness_share), -math.log(s.covered_sharpness_share)
    if state.covered.active:
        covered = _nearer_anomaly(lb, state.covered.brightness, state.brightness) and _nearer_anomaly(
            ls, state.covered.sharpness, state.sharpness
        )
    else:
        covered = warm and darker >= covered_b and blurrier >= covered_s
    defocus_s = -math.log(s.defocus_sharpness_share)
    if state.defocused.active:
        defocused = not covered and _nearer_anomaly(ls, state.defocused.sharpness, state.sharpness)
    else:
        steady = abs(lb - state.previous) <= math.log1p(s.defocus_brightness_tolerance)
        sudden = state.previous_sharpness - ls >= defocus_s
        defocused = warm and not covered and blurrier >= defocus_s and sudden and steady
    turn_at = larger(s.turned_min_px, s.turned_baseline_multiple * state.displacement)
    if state.turned.active:
        turned = d >= turn_at / 2 and response >= s.turned_min_response / 2
    else:
        turned = warm and d >= turn_at and response >= s.turned_min_response
    _track(state.covered, covered, t, lb, ls, s.anomaly_alpha)
    _track(state.defocused, defocused, t, lb, ls, s.anomaly_alpha)
    _track(state.turned, turned, t, lb, ls, s.anomaly_alpha)
    reference_b, reference_s = math.expm1(state.brightness), math.expm1(state.sharpness)
    verdicts = [
        Verdict(COVERED_RULE, covered, m.brightness, reference_b, reference_b * s.covered_brightness_share),
        Verdict(DEFOCUSED_RULE, defocused, m.sharpness, reference_s, reference_s * s.defocus_sharpness_share),
        Verdict(TURNED_RULE, turned, d, state.displacement, turn_at),
    ]
    if not state.any_active():
        alpha = larger(s.reference_alpha, 1 / (state.seen + 1))
        state.brightness = _ew(state.brightness, lb, alpha)
        state.sharpness = _ew(state.sharpness, ls, alpha)
        if response >= s.turned_min_response:
            state.displacement = _ew(state.displacement, smaller(d, turn_at), alpha)
    state.previous, state.previous_sharpness = lb, ls
    state.seen += 1
    return verdicts


def _nearer_anomaly(value: float, anomaly: float, healthy: float) -> bool:
    """Whether a log level is still on the anomalous side of the midpoint between the two levels."""
    middle = (anomaly + healthy) / 2
    return value <= middle if anomaly <= healthy else value >= middle


def _track(condition: Condition, active: bool, t: float, lb: float, ls: float, alpha: float) -> None:
    if active and not condition.active:
        condition.active, condition.since = True, t
        condition.brightness, condition.sharpness = lb, ls
    elif active:
        condition.brightness = _ew(condition.brightness, lb, alpha)
        condition.sharpness = _ew(condition.sharpness, ls, alpha)
    else:
        condition.active, condition.since = False, None


def judge_activity(
    state: CameraState, m: CameraMetrics, hour: float, s: CameraDetectorSettings, blind: bool
) -> list[Verdict]:
    """Crowd and night-intrusion verdicts; ``blind`` (a tampered view) suspends both and all learning."""
    a = state.activity
    blobs, motion = m.blobs, 1000.0 * m.motion_ratio
    if blind:
        a.crowd = a.intrusion = False
        a.score = 0.0
        return [Verdict(CROWD_RULE, False, blobs, 0.0, 0.0), Verdict(INTRUSION_RULE, False, blobs, 0.0, 0.0)]
    xb, xm = math.log1p(blobs), math.log1p(motion)
    if a.seen == 0:
        a.blobs, a.motion = xb, xm
    bucket = a.hours[int(hour) % HOURS]
    learned = bucket[2] >= s.hour_min_samples
    expected_b = math.expm1(larger(a.blobs, bucket[0]) if learned else a.blobs)
    expected_m = math.expm1(larger(a.motion, bucket[1]) if learned else a.motion)
    crowd_b = larger(s.crowd_blob_ratio * (1 + expected_b) - 1, expected_b + s.crowd_blob_floor)
    crowd_m = larger(s.crowd_motion_ratio * (1 + expected_m) - 1, expected_m + s.crowd_motion_floor)
    a.recent.append([xb, xm])
    del a.recent[: -s.crowd_median_of]
    recent_b, recent_m = zip(*a.recent, strict=True)
    mb, mm = median(recent_b), median(recent_m)
    a.busy = a.busy + 1 if expected_b >= s.crowd_min_expected_blobs else 0
    if a.crowd:
        a.crowd = _above_half_way(mb, expected_b, crowd_b) and _above_half_way(mm, expected_m, crowd_m)
    else:
        warm = a.seen >= s.activity_warmup_observations and a.busy >= s.crowd_busy_observations
        a.crowd = warm and mb >= math.log1p(crowd_b) and mm >= math.log1p(crowd_m)
    a.peak = larger(a.blobs, a.peak - s.empty_decay)
    empty = normally_empty_prior(state.scene, int(hour)) and larger(expected_b, math.expm1(a.peak)) <= s.empty_blobs
    if empty:
        step = smaller(blobs, s.intrusion_cap) - s.intrusion_allowance
        a.score = smaller(1.5 * s.intrusion_limit, larger(0.0, a.score + step))
    else:
        a.score = 0.0
    a.intrusion = empty and a.score >= (s.intrusion_limit / 2 if a.intrusion else s.intrusion_limit)
    if not (a.crowd or a.score > 0):
        _learn(a, bucket, xb, xm, s)
    a.seen += 1
    return [
        Verdict(CROWD_RULE, a.crowd, math.expm1(mb), expected_b, crowd_b),
        Verdict(INTRUSION_RULE, a.intrusion, blobs, expected_b, s.intrusion_allowance),
    ]


def _above_half_way(x: float, usual: float, limit: float) -> bool:
    """Whether log1p-level ``x`` is above half-way from the usual level to the limit (in log terms)."""
    low = math.log1p(usual)
    return x >= low + (math.log1p(limit) - low) / 2


def _learn(a: Activity, bucket: list[float], xb: float, xm: float, s: CameraDetectorSettings) -> None:
    """Short-term and hourly levels; each step is clipped so that a one-clip burst barely moves them."""
    step, alpha = s.activity_max_step, larger(s.activity_alpha, 1 / (a.seen + 1))
    a.blobs = _ew(a.blobs, clamp(xb, a.blobs - step, a.blobs + step), alpha)
    a.motion = _ew(a.motion, clamp(xm, a.motion - step, a.motion + step), alpha)
    count = smaller(bucket[2] + 1, float(s.hour_memory))
    if bucket[2] >= s.hour_min_samples:
        xb = clamp(xb, bucket[0] - step, bucket[0] + step)
        xm = clamp(xm, bucket[1] - step, bucket[1] + step)
    bucket[0] += (xb - bucket[0]) / count
    bucket[1] += (xm - bucket[1]) / count
    bucket[2] = count
