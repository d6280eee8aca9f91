"""The dossiers in hand: the completion hazard, what it expects, what it learns, and the stalled-office rule."""

from __future__ import annotations

import datetime as dt
import functools
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.dossiers import WorkingClock
from iocsim.sim.profiles import Profile, load_profile
from iocsim.sim.scenario import parse_scenario
from iocsim.sim.services import ServiceFeed
from iocsim.streams.detectors.service_backlog import BACKLOG_RULE, BacklogDetector
from iocsim.streams.detectors.service_pipeline import DossierPipeline, Hazard, _outside
from iocsim.streams.detectors.service_settings import BacklogSettings
from iocsim.streams.errors import SettingsError, StateError

ZONE = dt.timezone(dt.timedelta(hours=7))
HAZARD = Hazard(0.05, 60)
FIRST = dt.date(2025, 9, 1)


@functools.cache
def profile() -> Profile:
    return load_profile()


@functools.cache
def clock() -> WorkingClock:
    return WorkingClock(ProvinceCalendar(profile().calendar), FIRST - dt.timedelta(days=30))


def fresh(median: float = 0.5) -> DossierPipeline:
    completions, exposure = HAZARD.prior(20.0, median, 0.96)
    return DossierPipeline(completions, exposure)


def office(
    days: int,
    per_day: int,
    median: float,
    *,
    slowed_from: float = math.inf,
    slowdown: float = 1.0,
    seed: int = 1,
    first_day: int = 0,
) -> list[tuple[str, float, float, float]]:
    """(id, submitted, deadline, completed) of dossiers due the next working day, shares lognormal.

    From ``slowed_from`` on, work goes ``slowdown`` times slower.
    """
    rng = np.random.default_rng(seed)
    sigma = -math.log(median) / NormalDist().inv_cdf(0.96)
    c = clock()
    slow_at = math.inf if slowed_from == math.inf else c.work_at(slowed_from)
    out = []
    for d in range(first_day, first_day + days):
        day = FIRST + dt.timedelta(days=d)
        opening = dt.datetime.combine(day, dt.time(7, 30), ZONE).timestamp()
        if not c.work_at(opening + 3600.0) > c.work_at(opening):
            continue
        for i in range(per_day):
            submitted = opening + 300.0 * i
            deadline = c.deadline(submitted, 1)
            start = c.work_at(submitted)
            end = start + float(rng.lognormal(math.log(median), sigma)) * (c.work_at(deadline) - start)
            if end > slow_at:
                end = max(start, slow_at) + (end - max(start, slow_at)) * slowdown
            out.append((f"D{d}-{i}", submitted, deadline, c.time_at(end)))
    return out


def replay(pipeline: DossierPipeline, dossiers: list[tuple[str, float, float, float]], until: float) -> None:
    for item, submitted, deadline, _ in dossiers:
        if submitted < until:
            pipeline.submit(clock(), item, submitted, deadline)
    for item, _, _, completed in sorted(dossiers, key=lambda d: d[3]):
        if completed < until:
            pipeline.complete(clock(), item, completed)


def at(day: int, hour: int) -> float:
    return dt.datetime.combine(FIRST + dt.timedelta(days=day), dt.time(hour), ZONE).timestamp()


def test_the_prior_is_due_on_time_as_often_as_the_target_says() -> None:
    completions, exposure = HAZARD.prior(20.0, 0.5, 0.96)
    at_share = HAZARD.cumulative(completions / exposure, np.array([0.5, 1.0]))
    assert completions.sum() == pytest.approx(20.0)
    assert math.exp(-at_share[0]) == pytest.approx(0.5, abs=0.01)
    assert math.exp(-at_share[1]) == pytest.approx(0.04, abs=0.005)


def test_an_office_at_its_usual_pace_completes_about_what_its_dossiers_in_hand_make_likely() -> None:
    dossiers = office(days=15, per_day=30, median=0.5)
    pipeline = fresh()
    now = at(10, 15)
    replay(pipeline, dossiers, now)
    (seen, expected), *_ = pipeline.expect(HAZARD, clock(), [(at(10, 7), now), (at(9, 7), now)])
    assert expected > 15
    assert abs(seen - expected) < 4 * math.sqrt(expected)


def test_an_office_slowed_three_times_completes_far_fewer() -> None:
    dossiers = office(days=15, per_day=30, median=0.5, slowed_from=at(10, 7), slowdown=3.0)
    pipeline = fresh()
    now = at(10, 16)
    replay(pipeline, dossiers, now)
    [(seen, expected)] = pipeline.expect(HAZARD, clock(), [(at(10, 7), now)])
    assert expected > 15 and seen < 0.5 * expected


def test_learning_counts_open_dossiers_so_a_faster_office_is_learned_as_faster() -> None:
    dossiers = office(days=20, per_day=30, median=0.25)
    pipeline = fresh(median=0.5)
    now = at(19, 12)
    replay(pipeline, dossiers, now)
    pipeline.learn(HAZARD, clock(), at(18, 12), [])
    assert math.exp(-HAZARD.cumulative(pipeline.rates(), np.array([0.25]))[0]) == pytest.approx(0.5, abs=0.08)
    assert all(d[2] > at(18, 12) for d in pipeline.dossiers.values())


def test_an_office_that_speeds_up_for_good_is_learned_within_its_memory() -> None:
    before = office(days=30, per_day=30, median=0.5)
    after = office(days=30, per_day=30, median=0.25, seed=2, first_day=30)
    at_median = {}
    for memory in (math.inf, 300.0):
        pipeline = fresh()
        for lo, hi, batch in ((0, 29, before), (30, 59, after)):
            replay(pipeline, batch, at(hi, 12))
            for d in range(lo + 1, hi):
                pipeline.learn(Hazard(0.05, 60, memory), clock(), at(d, 12), [])
        at_median[memory] = math.exp(-HAZARD.cumulative(pipeline.rates(), np.array([0.25]))[0])
    assert at_median[300.0] == pytest.approx(0.5, abs=0.08)
    assert at_median[math.inf] > 0.6


def test_time_skipped_teaches_nothing() -> None:
    dossiers = office(days=10, per_day=30, median=0.5, slowed_from=at(3, 0), slowdown=4.0)
    learned, skipped = fresh(), fresh()
    replay(learned, dossiers, at(9, 12))
    replay(skipped, dossiers, at(9, 12))
    learned.learn(HAZARD, clock(), at(8, 12), [])
    skipped.learn(HAZARD, clock(), at(8, 12), [(at(3, 0), math.inf)])
    assert skipped.completions.sum() < learned.completions.sum() / 2


def test_the_pipeline_survives_its_stored_form_and_rejects_a_broken_one() -> None:
    dossiers = office(days=6, per_day=20, median=0.5)
    pipeline = fresh()
    replay(pipeline, dossiers, at(5, 12))
    pipeline.learn(HAZARD, clock(), at(4, 9), [])
    windows = [(at(5, 7), at(5, 12)), (at(4, 13), at(5, 12))]
    back = DossierPipeline.from_dict("x", pipeline.to_dict(), HAZARD, lambda t: clock())
    assert back.expect(HAZARD, clock(), windows) == pipeline.expect(HAZARD, clock(), windows)
    assert back.to_dict() == pipeline.to_dict()
    with pytest.raises(StateError, match="hazard bins"):
        DossierPipeline.from_dict("x", {**pipeline.to_dict(), "exposure": [1.0]}, HAZARD, lambda t: clock())


@pytest.mark.parametrize(
    ("field", "value"),
    [("hazard_bins", 1), ("hazard_bin_share", 0.0), ("hazard_memory_dossiers", -1.0), ("rate_until_seen", 0.0)],
)
def test_pipeline_settings_are_checked_and_name_the_field(field: str, value: float) -> None:
    with pytest.raises(SettingsError, match=rf"backlog\.{field}"):
        BacklogSettings(**{field: value})


@given(
    st.floats(0, 100),
    st.floats(0, 100),
    st.lists(st.tuples(st.floats(-10, 110), st.floats(0, 50)), max_size=5),
)
def test_outside_is_what_the_skips_leave_of_the_span(a: float, length: float, skips: list[tuple[float, float]]) -> None:
    start, end = a, a + length
    skip = [(lo, lo + width) for lo, width in skips]
    parts = _outside(start, end, skip)
    assert all(start <= lo < hi <= end for lo, hi in parts)
    assert all(hi <= s or lo >= e for lo, hi in parts for s, e in skip)
    for x in (float(x) for x in np.linspace(start, end, 97) if start <= x < end):
        inside = any(lo <= x < hi for lo, hi in parts)
        assert inside == (not any(s <= x < e for s, e in skip))


STALLED_OFFICE = """
name: stalled_office
start: 2025-09-08T00:00:00+07:00
duration: 17d
anomalies:
  - {kind: processing_backlog, entity: hcc-dien-bien-dong, start: 15d, duration: 1d, params: {slowdown: 3}}
"""


def test_a_mid_sized_office_slowed_three_times_is_called_that_morning_by_its_dossiers_in_hand() -> None:
    """About 20 completions a day: the hourly rate cannot tell a slowed morning, the dossiers in hand can.

    Judged by rate and deadlines alone, this backlog was called at 17:05, once
    dossiers due that day had passed their deadline.
    """
    scen = parse_scenario(STALLED_OFFICE)
    slowed = scen.anomalies[0]
    events = [e for e in ServiceFeed(profile(), scen, 2).events() if e.entity_id == slowed.entity_id]
    detector = BacklogDetector(profile())
    raised = []
    t, i = scen.start, 0
    while t < slowed.end:
        t += 300.0
        j = i
        while j < len(events) and events[j].event_time < t:
            j += 1
        raised += [s for s in detector.update(events[i:j]) + detector.tick(t) if s.active]
        i = j
    assert raised and {s.rule for s in raised} == {BACKLOG_RULE}
    noon = slowed.start + 12 * 3600.0
    assert slowed.start < raised[0].event_time < noon
    assert "in hand" in raised[0].summary
