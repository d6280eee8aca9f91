"""One camera's new observations of a batch, oldest first, as columns the rules run along.

A worker hands the detector hundreds of observations of each camera at once.
The rules are sequential per camera (levels learned one clip after another),
but what depends on a clip alone (log levels, the local hour) is worked out
here for the whole run at once, so the loop over the run is left with the few
numbers that carry over from clip to clip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter
from typing import NamedTuple

from iocsim.contract import CameraObservation
from iocsim.sim.calendar import ProvinceCalendar

_BLOCK_SECONDS = 900.0
_ROUNDING_SECONDS = 1e-3
_MAX_CACHED_BLOCKS = 4096


class LocalHours:
    """The local hour (0-23) of event times, as :meth:`ProvinceCalendar.hour` gives it, cached per quarter hour.

    Time zones move by whole quarter hours, so a UTC quarter hour whose two
    ends have the same offset and the same local hour has it throughout; the
    few times that round (to the microsecond) into the next quarter, and
    quarters that do not qualify, go to the calendar itself.
    """

    def __init__(self, calendar: ProvinceCalendar) -> None:
        self.calendar = calendar
        self._blocks: dict[int, int] = {}

    def of(self, times: Sequence[float]) -> list[int]:
        """The local hours of increasing times."""
        hours: list[int] = []
        hour, until = 0, -math.inf
        for t in times:
            if t >= until:
                hour, until = self._span(t)
            hours.append(hour)
        return hours

    def _span(self, t: float) -> tuple[int, float]:
        """The local hour at ``t``, and a time before which the hour holds for later times too."""
        block = math.floor(t / _BLOCK_SECONDS)
        start = block * _BLOCK_SECONDS
        hour = self._blocks.get(block)
        if hour is None:
            hour = self._block_hour(block)
        until = start + _BLOCK_SECONDS - _ROUNDING_SECONDS
        if hour < 0 or not start <= t < until:
            return int(self.calendar.hour(t)), t
        return hour, until

    def _block_hour(self, block: int) -> int:
        start = block * _BLOCK_SECONDS
        end = start + _BLOCK_SECONDS - _ROUNDING_SECONDS
        first, last = self.calendar.local(start), self.calendar.local(end)
        uniform = first.utcoffset() == last.utcoffset() and first.hour == last.hour
        hour = first.hour if uniform else -1
        if len(self._blocks) >= _MAX_CACHED_BLOCKS:
            self._blocks.clear()
        self._blocks[block] = hour
        return hour


class Readings(NamedTuple):
    """Columns of one camera's observations newer than its last one, strictly increasing in time.

    Levels are as the rules compare them: ``log_*`` are ``log1p`` of the raw
    metric, motion is per mille of the frame. ``people`` is the edge box's
    pedestrians, or its blobs where it does not tell pedestrians apart:
    vehicles pass through a scene whatever its people do, so counting them
    only hides a crowd.
    """

    observations: Sequence[CameraObservation]
    times: Sequence[float]
    brightness: Sequence[float]
    sharpness: Sequence[float]
    log_brightness: Sequence[float]
    log_sharpness: Sequence[float]
    displacement: Sequence[float]
    response: Sequence[float]
    people: Sequence[float]
    log_people: Sequence[float]
    log_motion: Sequence[float]
    hours: Sequence[int]


def readings(observations: Sequence[CameraObservation], after: float | None, hours: LocalHours) -> Readings:
    """The observations (one camera's, any order) newer than ``after``, oldest first; repeated times kept once.

    Sorting is stable, so of two observations at the same time the first to
    arrive counts, as it would one message at a time.
    """
    ordered = sorted(observations, key=_EVENT_TIME)
    times = list(map(_EVENT_TIME, ordered))
    if times[0] > (-math.inf if after is None else after) and times == sorted(set(times)):
        fresh = ordered
    else:
        fresh, times = [], []
        for o in ordered:
            if (after is None or o.event_time > after) and (not times or o.event_time > times[-1]):
                fresh.append(o)
                times.append(o.event_time)
    log1p = math.log1p
    rows = [
        (
            p.brightness,
            p.sharpness,
            log1p(p.brightness),
            log1p(p.sharpness),
            p.displacement_px,
            p.displacement_response,
            (counted := p.blobs if p.pedestrians is None else p.pedestrians),
            log1p(counted),
            log1p(1000.0 * p.motion_ratio),
        )
        for p in map(_PAYLOAD, fresh)
    ]
    columns: list[tuple[float, ...]] = list(zip(*rows, strict=True)) or [()] * 9
    brightness, sharpness, log_b, log_s, displacement, response, people, log_people, log_motion = columns
    return Readings(
        fresh,
        times,
        brightness,
        sharpness,
        log_b,
        log_s,
        displacement,
        response,
        people,
        log_people,
        log_motion,
        hours.of(times),
    )


_EVENT_TIME = attrgetter("event_time")
_PAYLOAD = attrgetter("payload")


def median(values: Sequence[float]) -> float:
    """The median of a short non-empty list, as :func:`statistics.median` gives it, without its checks."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
