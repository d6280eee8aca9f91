"""A camera's link: its usual interval between observations and the length of its ordinary outages.

Both are learned from the camera's own stream: the interval is the median of
the last few gaps, an outage is a gap well over the interval. Every
observation after a silence clears the offline verdict; the silence limit that
:meth:`CameraDetector.tick` judges by follows from both. A worker catching up
on a backlog may read a whole outage in one run, with no tick inside it: a
gap over the limit is then alerted from the moment it passed the limit, as a
tick would have, and cleared by the observation that ended it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from iocsim.streams.detectors.camera_readings import Readings, median
from iocsim.streams.detectors.camera_rules import larger, smaller
from iocsim.streams.detectors.camera_settings import CameraDetectorSettings
from iocsim.streams.detectors.camera_state import CameraState


class LinkTrail(NamedTuple):
    """The back-online verdicts of a run: one per observation from ``first`` on (the first has none on a new camera).

    ``history`` is the camera's gaps before the run, ``gaps`` those before
    each observation; ``outages`` lists (index, mean outage after it) where an
    observation ended an outage, for the silence limit as it stood at each;
    ``silences`` the indices of observations that ended a silence over the
    limit which no tick had declared (a run that spans a whole outage, as when
    a worker catches up on a backlog).
    """

    first: int
    history: list[float]
    gaps: list[float]
    start_outage: float
    outages: list[tuple[int, float]]
    silences: list[int]

    def interval(self, j: int, s: CameraDetectorSettings) -> float:
        """The interval the ``j``-th gap of the run was judged against: the median of the gaps before it."""
        if j == 0:
            return median(self.history) if self.history else s.interval_prior_seconds
        return median([*self.history, *self.gaps[:j]][-s.gap_memory :])

    def evidence(self, k: int, s: CameraDetectorSettings) -> tuple[float, float, float]:
        """Gap before observation ``k``, the interval and the silence limit it was judged against."""
        j = k - self.first
        outage = self.start_outage
        for at, after in self.outages:
            if at >= k:
                break
            outage = after
        usual = self.interval(j, s)
        return self.gaps[j], usual, silence_limit(outage, usual, s)


def interval(state: CameraState, s: CameraDetectorSettings) -> float:
    """The camera's usual interval between observations, as learned so far."""
    return median(state.gaps) if state.gaps else s.interval_prior_seconds


def mean_outage(state: CameraState, s: CameraDetectorSettings) -> float:
    return state.outage if state.outage is not None else s.outage_prior_seconds


def silence_limit(outage: float, interval: float, s: CameraDetectorSettings) -> float:
    """How long a silence may last before the camera counts as offline, given its mean outage and interval."""
    limit = s.offline_outage_multiple * outage
    return smaller(s.offline_max_seconds, larger(larger(s.offline_min_seconds, limit), 3 * interval))


def back_online(state: CameraState, r: Readings, s: CameraDetectorSettings) -> LinkTrail:
    """Learn interval and outages from the gaps before each observation of a run; clear the offline verdict.

    Observation by observation, this is: note the gap, and if it is well over
    the interval (and the camera was not already declared offline, which the
    silence limit then judged), move the mean outage toward it; a gap over
    the silence limit is a silence the camera was offline in, as a tick
    during it would have declared, and teaches nothing either. An interval
    is a median of gaps, never below the shortest of them, so only gaps well
    over the shortest need their interval worked out (and the first, if
    there was no gap to go by and the interval is the prior).
    """
    times = r.times
    first = 0 if state.last is not None else 1
    before = [state.last, *times[:-1]] if state.last is not None else times[:-1]
    gaps = [t - b for t, b in zip(times[first:], before, strict=True)]
    trail = LinkTrail(first, state.gaps, gaps, mean_outage(state, s), [], [])
    if not gaps:
        return trail
    history = state.gaps
    bound = 1.5 * min(min(gaps), min(history, default=math.inf))
    outage = trail.start_outage
    for j in [j for j, gap in enumerate(gaps) if gap > bound or not (j or history)]:
        usual = trail.interval(j, s)
        if gaps[j] <= 1.5 * usual or (j == 0 and state.offline):
            continue
        limit = silence_limit(outage, usual, s)
        if gaps[j] > limit:
            trail.silences.append(first + j)
            continue
        outage = outage + s.outage_alpha * (smaller(gaps[j] - usual, limit) - outage)
        trail.outages.append((first + j, outage))
    if trail.outages:
        state.outage = outage
    state.gaps = [*state.gaps, *gaps][-s.gap_memory :]
    state.offline = False
    return trail
