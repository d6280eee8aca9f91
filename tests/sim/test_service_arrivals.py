from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.errors import SimError
from iocsim.sim.profiles import load_profile
from iocsim.sim.seeding import entity_rng
from iocsim.sim.service_arrivals import ArrivalProcess, ArrivalShape, FloatArray, local_midnight
from iocsim.sim.service_settings import COUNTER_SHAPE, PORTAL_SHAPE

CALENDAR = ProvinceCalendar(load_profile().calendar)


def whole_day(day: dt.date) -> list[tuple[float, float]]:
    return [(local_midnight(CALENDAR, day), local_midnight(CALENDAR, day + dt.timedelta(days=1)))]


def year_of(process: ArrivalProcess, per_year: float) -> list[tuple[dt.date, FloatArray]]:
    rng = entity_rng(3, "arrivals")
    day, days = dt.date(2025, 1, 1), []
    while day.year == 2025:
        days.append((day, process.sample(rng, day, per_year)))
        day += dt.timedelta(days=1)
    return days


def test_counter_arrivals_add_up_to_the_year_and_keep_office_hours() -> None:
    process = ArrivalProcess(CALENDAR, COUNTER_SHAPE, 2025, CALENDAR.office_sessions)
    days = year_of(process, 20_000)
    assert sum(len(times) for _, times in days) == pytest.approx(20_000, rel=0.03)
    for day, times in days:
        if not CALENDAR.is_workday(day):
            assert len(times) == 0, day
        assert all(CALENDAR.is_office_open(t) for t in times.tolist())
        assert np.all(np.diff(times) >= 0)
    hours = np.concatenate([[CALENDAR.hour(t) for t in times.tolist()] for _, times in days])
    per_hour = np.bincount(hours.astype(int), minlength=24)
    assert per_hour[8] > per_hour[14] > per_hour[16], "morning peak, quieter afternoon"
    mondays = sum(len(t) for d, t in days if d.weekday() == 0)
    fridays = sum(len(t) for d, t in days if d.weekday() == 4)
    assert mondays > 1.2 * fridays


def test_portal_arrivals_go_round_the_clock_and_the_week() -> None:
    process = ArrivalProcess(CALENDAR, PORTAL_SHAPE, 2025, whole_day)
    days = year_of(process, 70_000)
    assert sum(len(times) for _, times in days) == pytest.approx(70_000, rel=0.02)
    sundays = [len(t) for d, t in days if d.weekday() == 6]
    tuesdays = [len(t) for d, t in days if d.weekday() == 1 and CALENDAR.is_workday(d)]
    assert 0 < np.mean(sundays) < 0.5 * np.mean(tuesdays)


def test_expected_arrivals_add_up_to_the_year() -> None:
    process = ArrivalProcess(CALENDAR, COUNTER_SHAPE, 2025, CALENDAR.office_sessions)
    day, total = dt.date(2025, 1, 1), 0.0
    while day.year == 2025:
        total += process.expected(day, 20_000, -math.inf, math.inf)
        day += dt.timedelta(days=1)
    assert total == pytest.approx(20_000, rel=1e-9)
    tuesday = dt.date(2025, 3, 4)
    morning = dt.datetime(2025, 3, 4, 8, tzinfo=CALENDAR.zone).timestamp()
    hour = process.expected(tuesday, 20_000, morning, morning + 3600)
    assert 0 < hour < process.expected(tuesday, 20_000, morning - 3600, morning + 7200)
    assert process.expected(tuesday, 20_000, morning - 86400, morning - 80000) == 0.0


def test_surge_multiplies_the_rate_inside_its_window() -> None:
    process = ArrivalProcess(CALENDAR, COUNTER_SHAPE, 2025, CALENDAR.office_sessions)
    day = dt.date(2025, 3, 4)
    start = dt.datetime(2025, 3, 4, 13, 30, tzinfo=CALENDAR.zone).timestamp()
    plain = [len(process.sample(entity_rng(s, "x"), day, 50_000)) for s in range(30)]
    surged = [process.sample(entity_rng(s, "x"), day, 50_000, [(start, start + 7200, 4.0)]) for s in range(30)]
    assert np.mean([len(t) for t in surged]) > 1.4 * np.mean(plain)
    assert np.mean([np.mean(t >= start) for t in surged]) > 0.5


def test_shape_is_checked() -> None:
    with pytest.raises(SimError, match="hour_weights"):
        ArrivalShape(hour_weights=(1.0,) * 23, weekday_weights=(1.0,) * 7)
    with pytest.raises(SimError, match="calendar"):
        ArrivalProcess(CALENDAR, ArrivalShape((0.0,) * 24, (1.0,) * 7), 2025, CALENDAR.office_sessions)
