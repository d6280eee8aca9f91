from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.dossiers import (
    DossierDesk,
    ProcedureMix,
    ProcessingTimes,
    WorkingClock,
    stretch,
    working_days_allowed,
)
from iocsim.sim.errors import SimError
from iocsim.sim.profiles import load_profile
from iocsim.sim.seeding import entity_rng

CALENDAR = ProvinceCalendar(load_profile().calendar)
ZONE = CALENDAR.zone


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=ZONE).timestamp()


def test_working_time_stops_outside_office_hours() -> None:
    clock = WorkingClock(CALENDAR, dt.date(2025, 3, 3))
    monday_open = at(2025, 3, 3, 7)
    assert clock.work_at(monday_open) == 0
    assert clock.work_at(at(2025, 3, 3, 12)) == clock.work_at(at(2025, 3, 3, 13, 30)) == 4.5 * 3600
    assert clock.work_at(at(2025, 3, 8, 10)) == 5 * 8 * 3600, "the weekend adds nothing"
    assert clock.time_at(4.5 * 3600 + 60) == at(2025, 3, 3, 13, 31)


@given(st.floats(0, 400 * 8 * 3600))
def test_time_at_inverts_work_at(work: float) -> None:
    clock = WorkingClock(CALENDAR, dt.date(2025, 1, 2))
    t = clock.time_at(work)
    assert CALENDAR.is_office_open(t) or CALENDAR.is_office_open(t - 1e-3)
    assert clock.work_at(t) == pytest.approx(work, abs=1e-3)


def test_deadline_counts_working_days_and_skips_tet() -> None:
    clock = WorkingClock(CALENDAR, dt.date(2025, 1, 2))
    friday = at(2025, 3, 7, 15)
    assert clock.deadline(friday, 1) == at(2025, 3, 10, 17), "Friday + 1 working day is Monday's close"
    before_tet = at(2025, 1, 24, 9)  # Tết break 25 Jan - 2 Feb 2025
    assert clock.deadline(before_tet, 1) == at(2025, 2, 3, 17)
    assert clock.deadline(at(2025, 1, 26, 9), 2) == at(2025, 2, 4, 17), "submitted during Tết: counted from after it"


def test_same_day_procedures_get_one_working_day() -> None:
    assert working_days_allowed(0.5) == 1
    assert working_days_allowed(1) == 1
    assert working_days_allowed(2.2) == 3


def test_stretch_slows_work_only_inside_the_window() -> None:
    assert stretch(0, 10, []) == 10
    assert stretch(0, 10, [(20, 30, 3)]) == 10
    assert stretch(0, 10, [(5, 100, 2)]) == 15
    assert stretch(0, 10, [(5, 8, 3)]) == 8 + 4
    assert stretch(50, 10, [(5, 8, 3)]) == 60


def test_processing_times_hit_the_on_time_share() -> None:
    times = ProcessingTimes(on_time_share=0.97, median_fraction=0.45)
    fractions = np.array(times.draw(entity_rng(1, "test"), 200_000))
    assert (fractions <= 1).mean() == pytest.approx(0.97, abs=0.003)
    assert np.median(fractions) == pytest.approx(0.45, rel=0.02)
    with pytest.raises(SimError, match="on_time_share"):
        ProcessingTimes(on_time_share=1.0, median_fraction=0.5)


def test_backlog_makes_dossiers_late() -> None:
    clock = WorkingClock(CALENDAR, dt.date(2025, 3, 3))
    times = ProcessingTimes(0.97, 0.45)
    week = (at(2025, 3, 3), at(2025, 3, 10))
    normal = DossierDesk(clock, times, entity_rng(1, "desk"))
    backlog = DossierDesk(clock, times, entity_rng(1, "desk"), [(*week, 3.0)])
    submitted = at(2025, 3, 3, 9)
    late = 0
    for _ in range(2000):
        deadline, done = normal.process(submitted, 5)
        deadline_b, done_b = backlog.process(submitted, 5)
        assert deadline == deadline_b == at(2025, 3, 10, 17)
        assert done_b >= done
        assert CALENDAR.is_office_open(done_b)
        late += done_b > deadline_b
    assert late / 2000 > 0.5


def test_procedure_mix_draws_by_share() -> None:
    mix = ProcedureMix.of(load_profile().services)
    drawn = np.bincount(mix.draw(entity_rng(2, "mix"), 100_000), minlength=len(mix.ids)) / 100_000
    assert drawn == pytest.approx(mix.shares, abs=0.01)
