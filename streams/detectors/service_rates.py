"""Learned hourly rates of tickets, submissions and completions, with a prior from the profile.

A rate is learned per *bucket* of local time. Fine buckets are the 168 hours
of the week plus 24 holiday hours (Monday 9 h is not Wednesday 9 h; Tết is
not a Monday); pooled buckets are the 24 hours of a workday and of a day
off, so that a fine bucket seen once leans on the same hour of the other days.
Over both sits a level factor on the profile's prior, learned from every
event, so that an office is judged on its own volume from its first hours.
Each is a Gamma belief (events, hours of exposure) with exponential
forgetting; :meth:`RateModel.belief` turns them into the Gamma(alpha, beta)
of one bucket, whose alpha says how sure it is.

Offices are only exposed while open (their prior is per opening hour), so
nights, weekends and holidays neither teach nor expect anything; the portal
is exposed around the clock.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.streams.detectors.service_settings import RateSettings
from iocsim.streams.errors import StateError

Piece = tuple[int, int, float]
"""A stretch of time inside one local hour: (fine bucket, pooled bucket, hours)."""

_HOLIDAY = 7
_DAY_CACHE = 64
_RECENT_DAYS = 8
_REWIND_DAYS = 60


@dataclass(frozen=True)
class _Day:
    """One local day: its 24 hour starts and its end (as Unix seconds), bucket bases and opening sessions."""

    bounds: tuple[float, ...]
    fine: int
    pooled: int
    sessions: tuple[tuple[float, float], ...]

    @property
    def start(self) -> float:
        return self.bounds[0]

    @property
    def end(self) -> float:
        return self.bounds[-1]


class HourGrid:
    """Cuts time into local-hour pieces and names their buckets.

    ``open_only`` keeps only office opening time. ``single`` puts everything
    in one bucket (a back office works at one pace whatever the hour).
    """

    def __init__(self, calendar: ProvinceCalendar, *, open_only: bool, single: bool = False) -> None:
        self.calendar = calendar
        self.open_only = open_only
        self.single = single
        self.fine_size = 1 if single else 8 * 24
        self.pooled_size = 1 if single else 2 * 24
        self._days: dict[dt.date, _Day] = {}
        self._recent: list[_Day] = []

    def _day(self, date: dt.date) -> _Day:
        day = self._days.get(date)
        if day is None:
            if len(self._days) >= _DAY_CACHE:
                self._days.clear()
            zone = self.calendar.zone
            bounds = [dt.datetime.combine(date, dt.time(h), zone).timestamp() for h in range(24)]
            bounds.append(dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), zone).timestamp())
            workday = self.calendar.is_workday(date)
            code = date.weekday() if workday or self.calendar.holiday(date) is None else _HOLIDAY
            sessions = tuple(self.calendar.office_sessions(date))
            day = self._days[date] = _Day(tuple(bounds), code * 24, (0 if workday else 1) * 24, sessions)
        return day

    def _day_at(self, t: float) -> _Day:
        for day in self._recent:
            if day.start <= t < day.end:
                return day
        day = self._day(self.calendar.local(t).date())
        self._recent = [day, *self._recent[: _RECENT_DAYS - 1]]
        return day

    def bucket_of(self, t: float) -> tuple[int, int]:
        if self.single:
            return 0, 0
        day = self._day_at(t)
        hour = min(23, bisect.bisect_right(day.bounds, t) - 1)
        return day.fine + hour, day.pooled + hour

    def is_open(self, t: float) -> bool:
        return any(a <= t < b for a, b in self._day_at(t).sessions)

    def pieces(self, start: float, end: float) -> list[Piece]:
        """The pieces of [start, end), opening time only if ``open_only``; one piece in all if ``single``."""
        out: list[Piece] = []
        total = 0.0
        t = start
        while t < end:
            day = self._day_at(t)
            if self.single or (self.open_only and not day.sessions):
                stop = min(end, day.end)
                if self.open_only:
                    total += sum(max(0.0, min(stop, b) - max(t, a)) for a, b in day.sessions)
                else:
                    total += stop - t
                t = stop
                continue
            hour = min(23, bisect.bisect_right(day.bounds, t) - 1)
            stop = min(end, day.bounds[hour + 1])
            seconds = sum(max(0.0, min(stop, b) - max(t, a)) for a, b in day.sessions) if self.open_only else stop - t
            if seconds > 0.0:
                out.append((day.fine + hour, day.pooled + hour, seconds / 3600.0))
            t = stop
        if total > 0.0:
            out.append((0, 0, total / 3600.0))
        return out

    def rewind(self, now: float, seconds: float) -> float:
        """The moment ``seconds`` of opening time before ``now``."""
        remaining = seconds
        day = self._day_at(now)
        for _ in range(_REWIND_DAYS):
            for a, b in reversed(day.sessions):
                if a >= now:
                    continue
                span = min(b, now) - a
                if remaining <= span + 1e-6:
                    return max(a, min(b, now) - remaining)
                remaining -= span
            day = self._day_at(day.start - 1.0)
        return now - _REWIND_DAYS * 86400.0


@dataclass
class RateModel:
    """Learned (events, hours) per bucket, and the level factor on the prior; plain numbers for the state table.

    ``prior`` is the profile's expected events per exposed hour of each
    pooled bucket. ``until`` is the time up to which exposure has been learned.
    """

    prior: Sequence[float]
    settings: RateSettings
    until: float
    level: list[float]
    pooled_n: list[float]
    pooled_e: list[float]
    fine_n: list[float]
    fine_e: list[float]

    @classmethod
    def fresh(cls, grid: HourGrid, prior: Sequence[float], settings: RateSettings, until: float) -> RateModel:
        return cls(
            prior,
            settings,
            until,
            [0.0, 0.0],
            [0.0] * grid.pooled_size,
            [0.0] * grid.pooled_size,
            [0.0] * grid.fine_size,
            [0.0] * grid.fine_size,
        )

    def learn(
        self, grid: HourGrid, until: float, arrivals: Iterable[float], skip: Sequence[tuple[float, float]] = ()
    ) -> None:
        """Expose the buckets from ``self.until`` to ``until`` (minus ``skip`` intervals) and count ``arrivals``."""
        if until > self.until:
            s = self.settings
            decay = math.exp(-(until - self.until) / (s.level_memory_days * 86400.0))
            self.level[0] *= decay
            self.level[1] *= decay
            for a, b in _minus(self.until, until, skip):
                for fine, pooled, hours in grid.pieces(a, b):
                    d = math.exp(-hours / s.pooled_memory_hours)
                    self.pooled_n[pooled] *= d
                    self.pooled_e[pooled] = self.pooled_e[pooled] * d + hours
                    d = math.exp(-hours / s.fine_memory_hours)
                    self.fine_n[fine] *= d
                    self.fine_e[fine] = self.fine_e[fine] * d + hours
                    self.level[1] += hours * self.prior[pooled]
            self.until = until
        for t in arrivals:
            self.count(grid, t)

    def count(self, grid: HourGrid, t: float) -> None:
        fine, pooled = grid.bucket_of(t)
        self.fine_n[fine] += 1.0
        self.pooled_n[pooled] += 1.0
        self.level[0] += 1.0

    def belief(self, fine: int, pooled: int) -> tuple[float, float]:
        """Gamma(alpha, beta) of the bucket's rate per hour.

        The fine bucket's prior is the pooled belief *without* the fine
        bucket's own data, so that nothing is counted twice and a bucket
        seen for two hours is not taken for one seen for four. A grid of
        one bucket has no hierarchy: the profile's prior plus the data.
        """
        s = self.settings
        if len(self.pooled_n) == 1:
            alpha = s.pooled_weight_hours * self.prior[0] + self.pooled_n[0]
            beta = s.pooled_weight_hours + self.pooled_e[0]
        else:
            level = (s.level_weight + self.level[0]) / (s.level_weight + self.level[1])
            others_n = max(0.0, self.pooled_n[pooled] - self.fine_n[fine])
            others_e = max(0.0, self.pooled_e[pooled] - self.fine_e[fine])
            alpha_pooled = s.pooled_weight_hours * level * self.prior[pooled] + others_n
            beta_pooled = s.pooled_weight_hours + others_e
            weight = min(s.fine_weight_hours, beta_pooled)
            alpha = weight * alpha_pooled / beta_pooled + self.fine_n[fine]
            beta = weight + self.fine_e[fine]
        if alpha > s.max_shape:
            beta *= s.max_shape / alpha
            alpha = s.max_shape
        return alpha, beta

    def expect(self, pieces: Iterable[Piece]) -> tuple[float, float]:
        """(mean, shape) of the count over the pieces: a negative binomial matched to the sum of their beliefs."""
        mean = variance = 0.0
        for fine, pooled, hours in pieces:
            alpha, beta = self.belief(fine, pooled)
            if alpha > 0.0:
                mean += alpha * hours / beta
                variance += alpha * (hours / beta) ** 2
        return mean, (mean * mean / variance if variance > 0.0 else math.inf)

    def log_none(self, pieces: Iterable[Piece]) -> float:
        """``log P(no event)`` over the pieces."""
        total = 0.0
        for fine, pooled, hours in pieces:
            alpha, beta = self.belief(fine, pooled)
            total -= alpha * math.log1p(hours / beta)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "until": self.until,
            "level": list(self.level),
            "pooled": [list(self.pooled_n), list(self.pooled_e)],
            "fine": [list(self.fine_n), list(self.fine_e)],
        }

    @classmethod
    def from_dict(
        cls, where: str, data: Mapping[str, Any], grid: HourGrid, prior: Sequence[float], settings: RateSettings
    ) -> RateModel:
        try:
            level = [float(x) for x in data["level"]]
            pooled_n, pooled_e = ([float(x) for x in row] for row in data["pooled"])
            fine_n, fine_e = ([float(x) for x in row] for row in data["fine"])
            model = cls(prior, settings, float(data["until"]), level, pooled_n, pooled_e, fine_n, fine_e)
        except KeyError as exc:
            raise StateError(f"{where}.{exc.args[0]}", "missing") from exc
        except (TypeError, ValueError) as exc:
            raise StateError(where, f"unreadable rates: {exc}") from exc
        sizes = (len(level), len(pooled_n), len(pooled_e), len(fine_n), len(fine_e))
        if sizes != (2, grid.pooled_size, grid.pooled_size, grid.fine_size, grid.fine_size):
            raise StateError(where, f"rate tables have sizes {sizes}, expected 2, {grid.pooled_size}, {grid.fine_size}")
        return model


def _minus(start: float, end: float, skip: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """[start, end) without the ``skip`` intervals (sorted, possibly overlapping)."""
    out, t = [], start
    for a, b in sorted(skip):
        if b <= t or a >= end:
            continue
        if a > t:
            out.append((t, a))
        t = max(t, b)
    if t < end:
        out.append((t, end))
    return out
