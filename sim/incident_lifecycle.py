"""When each step of a report's handling happens.

A report's whole future is drawn the moment it arrives, from the same random
stream that made it, so the heap of pending steps needs no randomness of its
own and a report's lifecycle never depends on what else happens in the run.
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import numpy as np

from iocsim.contract import IncidentStatus
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.incident_settings import Lifecycle

_MAX_DAYS_AHEAD = 60
_MIN_STEP = 1.0


class OfficeClock:
    """Adds office time (working hours, workdays, no holidays) to a sim time."""

    def __init__(self, calendar: ProvinceCalendar) -> None:
        self.calendar = calendar
        self._sessions: dict[dt.date, list[tuple[float, float]]] = {}

    def add(self, t: float, office_seconds: float) -> float:
        """The sim time after ``office_seconds`` of office time from ``t``.

        A calendar without office hours (or closed for two months) falls back
        to plain elapsed time rather than never answering.
        """
        day = self.calendar.local(t).date()
        remaining = office_seconds
        for _ in range(_MAX_DAYS_AHEAD):
            for opens, closes in self._day(day):
                if closes <= t:
                    continue
                begin = max(opens, t)
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
            day += dt.timedelta(days=1)
        return t + office_seconds

    def _day(self, day: dt.date) -> list[tuple[float, float]]:
        sessions = self._sessions.get(day)
        if sessions is None:
            sessions = self._sessions[day] = self.calendar.office_sessions(day)
        return sessions


class LifecyclePlanner:
    """Draws the steps (status, time) of one report from its arrival time."""

    def __init__(self, settings: Lifecycle, office: OfficeClock) -> None:
        self.settings = settings
        self.office = office
        # Lognormal time-to-resolve as a fraction of the deadline, with
        # P(fraction > 1) = late_share.
        self._log_median = -settings.resolve_sigma * NormalDist().inv_cdf(1.0 - settings.late_share)

    def deadline(self, category: str, received_at: float) -> float:
        return received_at + self.settings.handling[category].deadline_days * 86400.0

    def plan(self, rng: np.random.Generator, category: str, received_at: float) -> list[tuple[IncidentStatus, float]]:
        """Every draw is made up front, so each report uses the same amount of its stream."""
        s = self.settings
        urgent = s.handling[category].around_the_clock
        assign_mean, start_mean = (
            (s.urgent_assign_minutes, s.urgent_start_minutes)
            if urgent
            else (s.office_assign_minutes, s.office_start_minutes)
        )
        assign_delay, start_delay, work = rng.exponential(
            [assign_mean * 60.0, start_mean * 60.0, s.min_work_minutes * 60.0]
        )
        rejected, at_reception = rng.random(2) < [s.reject_share, s.reject_at_received_share]
        resolve_fraction = math.exp(self._log_median + s.resolve_sigma * float(rng.standard_normal()))

        assigned = self._after(received_at, assign_delay, urgent)
        if rejected and at_reception:
            return [("received", received_at), ("rejected", assigned)]
        started = self._after(assigned, start_delay, urgent)
        if rejected:
            return [("received", received_at), ("assigned", assigned), ("rejected", started)]
        deadline_seconds = s.handling[category].deadline_days * 86400.0
        resolved = max(received_at + resolve_fraction * deadline_seconds, started + s.min_work_minutes * 60.0 + work)
        return [("received", received_at), ("assigned", assigned), ("in_progress", started), ("resolved", resolved)]

    def _after(self, t: float, seconds: float, around_the_clock: bool) -> float:
        seconds = max(float(seconds), _MIN_STEP)
        return t + seconds if around_the_clock else self.office.add(t, seconds)
