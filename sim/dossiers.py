"""Dossier processing: legal deadlines in working days, completion times, backlogs.

Processing times are legally set in working days, and back offices only work
during office hours, so both the deadline and the work done on a dossier are
measured on a working-time clock (seconds of office opening since an origin).
A completion therefore always falls inside office hours, and a holiday simply
pauses every dossier in progress.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.errors import SimError
from iocsim.sim.profiles import Services

Slowdown = tuple[float, float, float]
"""(from, to, factor): work inside the window goes ``factor`` times slower."""

_EXTEND_DAYS = 120
_BATCH = 1024


@dataclass(frozen=True)
class ProcedureMix:
    """The profile's procedures as arrays, for drawing many dossiers at once."""

    ids: tuple[str, ...]
    shares: npt.NDArray[np.float64]
    counter_minutes: npt.NDArray[np.float64]
    processing_days: tuple[float, ...]

    @classmethod
    def of(cls, services: Services) -> ProcedureMix:
        types = services.service_types
        if not types:
            raise SimError("services.service_types", "needs at least one procedure")
        shares = np.array([t.share for t in types], dtype=np.float64)
        return cls(
            ids=tuple(t.id for t in types),
            shares=shares / shares.sum(),
            counter_minutes=np.array([t.counter_minutes for t in types], dtype=np.float64),
            processing_days=tuple(t.processing_days for t in types),
        )

    def draw(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
        return rng.choice(len(self.ids), size=n, p=self.shares)


class WorkingClock:
    """Converts between Unix time and working seconds counted from the first day; grows forward on demand."""

    def __init__(self, calendar: ProvinceCalendar, first_day: dt.date) -> None:
        self._calendar = calendar
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._before: list[float] = []
        self._workday_midnights: list[float] = []
        self._closes: list[float] = []
        self._next_day = first_day
        self._total = 0.0
        self._extend()

    def _extend(self) -> None:
        for _ in range(_EXTEND_DAYS):
            sessions = self._calendar.office_sessions(self._next_day)
            if sessions:
                midnight = dt.datetime.combine(self._next_day, dt.time(), self._calendar.zone).timestamp()
                self._workday_midnights.append(midnight)
                self._closes.append(sessions[-1][1])
            for start, end in sessions:
                self._starts.append(start)
                self._ends.append(end)
                self._before.append(self._total)
                self._total += end - start
            self._next_day += dt.timedelta(days=1)
        if not self._closes:
            raise SimError("calendar", f"no working day within {_EXTEND_DAYS} days of {self._next_day}")

    def work_at(self, t: float) -> float:
        """Working seconds elapsed by time t (constant while the office is closed)."""
        while t >= self._ends[-1]:
            self._extend()
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        return self._before[i] + min(t, self._ends[i]) - self._starts[i]

    def time_at(self, work: float) -> float:
        """The moment when ``work`` working seconds have elapsed."""
        while work >= self._total:
            self._extend()
        i = max(bisect_right(self._before, work) - 1, 0)
        return self._starts[i] + work - self._before[i]

    def deadline(self, t: float, working_days: int) -> float:
        """Closing time of the ``working_days``-th working day after the local day of t."""
        while t >= self._workday_midnights[-1]:
            self._extend()
        k = bisect_right(self._workday_midnights, t) + working_days - 1
        while k >= len(self._closes):
            self._extend()
        return self._closes[k]


def working_days_allowed(processing_days: float) -> int:
    """Whole working days a procedure allows; same-day procedures are due by the next working day's close."""
    return max(1, math.ceil(processing_days - 1e-9))


def stretch(start: float, work: float, slowdowns: Sequence[Slowdown]) -> float:
    """Where work ends if it starts at ``start``, progress being ``factor`` times slower inside each window.

    Positions are working seconds; windows are (from, to, factor), sorted by their start.
    """
    position, remaining = start, work
    for low, high, factor in slowdowns:
        if high <= position:
            continue
        if position < low:
            if position + remaining <= low:
                return position + remaining
            remaining -= low - position
            position = low
        capacity = (high - position) / factor
        if remaining <= capacity:
            return position + remaining * factor
        remaining -= capacity
        position = high
    return position + remaining


@dataclass(frozen=True)
class ProcessingTimes:
    """Share of the legal time a dossier takes: lognormal, with a chosen median and on-time share.

    A lognormal keeps most dossiers well inside the deadline and makes the late
    ones mostly a little late, as a province reporting "over 96% on time or
    early" suggests.
    """

    on_time_share: float
    median_fraction: float

    def __post_init__(self) -> None:
        if not 0.5 < self.on_time_share < 1.0:
            raise SimError("on_time_share", f"{self.on_time_share} is outside (0.5, 1)")
        if not 0.0 < self.median_fraction < 1.0:
            raise SimError("processing_median_fraction", f"{self.median_fraction} is outside (0, 1)")

    @property
    def sigma(self) -> float:
        return -math.log(self.median_fraction) / NormalDist().inv_cdf(self.on_time_share)

    def draw(self, rng: np.random.Generator, n: int) -> list[float]:
        fractions: list[float] = rng.lognormal(math.log(self.median_fraction), self.sigma, n).tolist()
        return fractions


class DossierDesk:
    """The back office of one entity: gives each dossier its deadline and its completion time."""

    def __init__(
        self,
        clock: WorkingClock,
        times: ProcessingTimes,
        rng: np.random.Generator,
        backlogs: Sequence[Slowdown] = (),
    ) -> None:
        self._clock = clock
        self._times = times
        self._rng = rng
        self._slowdowns = sorted((clock.work_at(a), clock.work_at(b), f) for a, b, f in backlogs)
        self._fractions: list[float] = []

    def process(self, submitted_at: float, processing_days: float) -> tuple[float, float]:
        """(deadline, completed_at) of a dossier submitted at ``submitted_at``."""
        deadline = self._clock.deadline(submitted_at, working_days_allowed(processing_days))
        start = self._clock.work_at(submitted_at)
        allowed = self._clock.work_at(deadline) - start
        if not self._fractions:
            self._fractions = self._times.draw(self._rng, _BATCH)[::-1]
        end = stretch(start, self._fractions.pop() * allowed, self._slowdowns)
        return deadline, self._clock.time_at(end)
