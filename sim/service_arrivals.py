"""When people turn up: arrivals at the counters and on the portal through the day and week.

Arrivals follow a non-homogeneous Poisson process sampled per minute bin.
The rate's shape (hour of day, day of week) is a set of relative weights; its
level comes from an annual total in the profile, spread over the weighted
minutes of one calendar year, so that the province's yearly volume holds
whatever the shape or the number of holidays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.errors import SimError

FloatArray = npt.NDArray[np.float64]
Window = tuple[float, float]
Surge = tuple[float, float, float]


@dataclass(frozen=True)
class ArrivalShape:
    """Relative arrival weights by local hour (24) and weekday (Monday first, 7); days off use ``holiday_weight``."""

    hour_weights: tuple[float, ...]
    weekday_weights: tuple[float, ...]
    holiday_weight: float = 0.0

    def __post_init__(self) -> None:
        if len(self.hour_weights) != 24 or min(self.hour_weights) < 0:
            raise SimError("hour_weights", "needs 24 non-negative weights, one per local hour")
        if len(self.weekday_weights) != 7 or min(self.weekday_weights) < 0:
            raise SimError("weekday_weights", "needs 7 non-negative weights, Monday first")
        if self.holiday_weight < 0:
            raise SimError("holiday_weight", "must not be negative")


def local_midnight(calendar: ProvinceCalendar, day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), calendar.zone).timestamp()


class ArrivalProcess:
    """Poisson arrivals whose expected total over the calendar year ``year`` is the ``per_year`` asked for.

    ``windows(day)`` gives the intervals (Unix seconds) in which arrivals can
    happen on a local day: the office sessions for counters, the whole day for
    the portal.
    """

    def __init__(
        self,
        calendar: ProvinceCalendar,
        shape: ArrivalShape,
        year: int,
        windows: Callable[[dt.date], Sequence[Window]],
    ) -> None:
        self._calendar = calendar
        self._shape = shape
        self._hour_weights = np.asarray(shape.hour_weights, dtype=np.float64)
        self._windows = windows
        day = dt.date(year, 1, 1)
        weighted_minutes = 0.0
        while day.year == year:
            weighted_minutes += sum(self._weights(day, a, b)[1].sum() for a, b in windows(day))
            day += dt.timedelta(days=1)
        if weighted_minutes <= 0:
            raise SimError("calendar", f"no minute of {year} can receive arrivals (check office hours and weights)")
        self._per_weighted_minute = 1.0 / weighted_minutes

    def day_weight(self, day: dt.date) -> float:
        if not self._calendar.is_workday(day):
            return self._shape.holiday_weight
        return self._shape.weekday_weights[day.weekday()]

    def sample(
        self, rng: np.random.Generator, day: dt.date, per_year: float, surges: Sequence[Surge] = ()
    ) -> FloatArray:
        """Sorted arrival times of one local day; a surge (start, end, multiplier) scales the rate."""
        chunks = []
        for start, end in self._windows(day):
            bins, weight = self._weights(day, start, end)
            rate = weight * (per_year * self._per_weighted_minute)
            for s_start, s_end, multiplier in surges:
                rate[(bins >= s_start) & (bins < s_end)] *= multiplier
            counts = rng.poisson(rate)
            width = np.minimum(bins + 60.0, end) - bins
            chunks.append(np.repeat(bins, counts) + rng.random(int(counts.sum())) * np.repeat(width, counts))
        return np.sort(np.concatenate(chunks)) if chunks else np.empty(0)

    def expected(self, day: dt.date, per_year: float, start: float, end: float) -> float:
        """Arrivals expected on local ``day`` within [start, end), without surges."""
        total = 0.0
        for a, b in self._windows(day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                bins, weight = self._weights(day, a, b)
                inside = (bins >= lo) & (bins < hi)
                total += float(weight[inside].sum())
        return total * per_year * self._per_weighted_minute

    def _weights(self, day: dt.date, start: float, end: float) -> tuple[FloatArray, FloatArray]:
        """Minute bins of [start, end) and each bin's weight (a short last bin counts pro rata)."""
        bins = np.arange(start, end, 60.0)
        hours = np.clip(((bins - local_midnight(self._calendar, day)) // 3600).astype(np.int64), 0, 23)
        width = (np.minimum(bins + 60.0, end) - bins) / 60.0
        return bins, self._hour_weights[hours] * self.day_weight(day) * width
