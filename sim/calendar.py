"""Local time, office hours, weekends and holidays of a province.

Feeds reason in Unix seconds; people live in local time. This is the one place
that converts between them.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from iocsim.sim.profiles import Calendar


class ProvinceCalendar:
    """Answers "is the office open?" and "what hour is it there?" for a sim time."""

    def __init__(self, calendar: Calendar) -> None:
        self.zone = ZoneInfo(calendar.timezone)
        self._workdays = frozenset(calendar.workdays)
        self._hours = [(_minutes(a), _minutes(b)) for a, b in calendar.office_hours]
        self._holidays = [(h.start, h.end, h.name) for h in calendar.holidays]

    def local(self, t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, self.zone)

    def hour(self, t: float) -> float:
        """Local hour of day as a float in [0, 24)."""
        local = self.local(t)
        return local.hour + local.minute / 60 + local.second / 3600

    def hour_of_week(self, t: float) -> int:
        local = self.local(t)
        return local.weekday() * 24 + local.hour

    def holiday(self, day: dt.date) -> str | None:
        return _holiday_name(tuple(self._holidays), day)

    def is_workday(self, day: dt.date) -> bool:
        return day.weekday() in self._workdays and self.holiday(day) is None

    def is_office_open(self, t: float) -> bool:
        local = self.local(t)
        if not self.is_workday(local.date()):
            return False
        minute = local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self._hours)

    def office_sessions(self, day: dt.date) -> list[tuple[float, float]]:
        """Opening intervals of a day as Unix seconds (empty on days off)."""
        if not self.is_workday(day):
            return []
        midnight = dt.datetime.combine(day, dt.time(), self.zone).timestamp()
        return [(midnight + a * 60, midnight + b * 60) for a, b in self._hours]

    def open_seconds_per_workday(self) -> float:
        return float(sum(b - a for a, b in self._hours) * 60)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


@lru_cache(maxsize=4096)
def _holiday_name(holidays: tuple[tuple[dt.date, dt.date, str], ...], day: dt.date) -> str | None:
    for start, end, name in holidays:
        if start <= day <= end:
            return name
    return None
