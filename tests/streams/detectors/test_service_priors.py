"""Counter priors shaped by hour, the surge warm-up, and backlogs judged once: their statistics and rules."""

from __future__ import annotations

import datetime as dt
import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from iocsim.contract import ServiceDetails, ServiceEvent, ServiceEventKind
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.dossiers import WorkingClock, working_days_allowed
from iocsim.sim.profiles import Profile, load_profile
from iocsim.streams.detectors.service_priors import counter_prior, open_share_by_hour, per_open_hour
from iocsim.streams.detectors.service_settings import BacklogSettings, QueueSettings, ServiceDetectorSettings
from iocsim.streams.detectors.services import BACKLOG_RULE, SURGE_RULE, BacklogDetector, QueueDetector

ZONE = dt.timezone(dt.timedelta(hours=7))
OFFICE = "hcc-muong-ang"
NO_COLLAPSE = ServiceDetectorSettings(backlog=BacklogSettings(min_expected=1e9))


@functools.cache
def profile() -> Profile:
    return load_profile()


def local(day: dt.date, hour: float) -> float:
    return dt.datetime.combine(day, dt.time(), ZONE).timestamp() + hour * 3600.0


def event(
    kind: ServiceEventKind, t: float, n: int, *, deadline: float | None = None, service: str = "certification"
) -> ServiceEvent:
    return ServiceEvent(
        event_id=f"{OFFICE}-{n}-{kind}",
        entity_id=OFFICE,
        district="muong-ang",
        event_time=t,
        payload=ServiceDetails(
            kind=kind,
            channel="counter",
            service_type=service,
            item_id=f"{OFFICE}-{n}",
            counters_open=2,
            queue_length=0,
            deadline=deadline,
            on_time=None if deadline is None or kind != "dossier_completed" else t <= deadline,
        ),
    )


# --- priors ------------------------------------------------------------------------------


def test_open_share_counts_the_opening_minutes_of_each_hour() -> None:
    share = open_share_by_hour(profile())
    open_seconds = ProvinceCalendar(profile().calendar).open_seconds_per_workday()
    assert abs(sum(share) * 3600.0 - open_seconds) < 1e-6
    assert all(0.0 <= s <= 1.0 for s in share)
    assert share[3] == 0.0 and share[9] == 1.0


@settings(max_examples=50, deadline=None)
@given(
    weights=st.lists(st.floats(0.05, 20.0), min_size=24, max_size=24),
    per_dossier=st.floats(0.5, 3.0),
    office=st.sampled_from([o.id for o in load_profile().offices]),
)
def test_counter_prior_keeps_the_yearly_level_whatever_the_shape(
    weights: list[float], per_dossier: float, office: str
) -> None:
    """Averaged over opening time, the shaped prior is the flat one: the shape moves walk-ins, it adds none."""
    prior = counter_prior(profile(), office, weights, per_dossier)
    share = open_share_by_hour(profile())
    assert len(prior) == 48 and prior[:24] == prior[24:]
    mean = sum(p * s for p, s in zip(prior[:24], share, strict=True)) / sum(share)
    flat = per_open_hour(profile(), office) * per_dossier
    assert abs(mean - flat) <= 1e-9 * flat
    busiest = max(range(24), key=lambda h: weights[h])
    assert prior[busiest] == max(prior[:24])


# --- surge warm-up -----------------------------------------------------------------------


def rush(day: dt.date, first: int, per_minute: float = 1.0, minutes: int = 60) -> list[ServiceEvent]:
    start = local(day, 8.0)
    return [event("ticket_issued", start + i * 60.0 / per_minute, first + i) for i in range(int(minutes * per_minute))]


def steady(day: dt.date, first: int, per_hour: float = 3.0) -> list[ServiceEvent]:
    out: list[ServiceEvent] = []
    for start, end in ((7.0, 11.5), (13.5, 17.0)):
        n = int((end - start) * per_hour)
        out += [
            event("ticket_issued", local(day, start) + i * 3600.0 / per_hour, first + len(out) + i) for i in range(n)
        ]
    return out


def surge_signals(detector: QueueDetector, events: list[ServiceEvent]) -> list[bool]:
    return [s.active for s in detector.update(events) if s.rule == SURGE_RULE]


def test_a_cold_detector_does_not_call_its_first_rush_a_surge_but_a_warm_one_does() -> None:
    monday = dt.date(2025, 4, 14)
    cold = QueueDetector(profile())
    assert True not in surge_signals(cold, rush(monday, 0))
    warm = QueueDetector(profile())
    for d in range(2):
        warm.update(steady(monday + dt.timedelta(days=d), 1000 * d))
    assert True in surge_signals(warm, rush(monday + dt.timedelta(days=2), 5000))


def test_without_warm_up_the_same_first_rush_is_called() -> None:
    monday = dt.date(2025, 4, 14)
    eager = QueueDetector(profile(), ServiceDetectorSettings(queue=QueueSettings(warm_up_hours=0.0)))
    assert True in surge_signals(eager, rush(monday, 0))


# --- a backlog is judged once ------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    day=st.integers(0, 330),
    minute=st.integers(7 * 60, 17 * 60 - 1),
    service=st.sampled_from([t.id for t in load_profile().services.service_types]),
)
def test_the_earliest_submission_inferred_from_a_deadline_is_never_after_the_real_one(
    day: int, minute: int, service: str
) -> None:
    """For any submission, the deadline the simulator's working clock gives leads back to it or before."""
    calendar = ProvinceCalendar(profile().calendar)
    first = dt.date(2025, 1, 2)
    clock = WorkingClock(calendar, first)
    submitted = local(first + dt.timedelta(days=day), minute / 60.0)
    days = {t.id: t.processing_days for t in profile().services.service_types}[service]
    deadline = clock.deadline(submitted, working_days_allowed(days))
    began = BacklogDetector(profile())._began_by(deadline, service)
    assert began <= submitted
    began_day, day_of_submission = calendar.local(began).date(), calendar.local(submitted).date()
    assert calendar.is_workday(began_day)
    between = (began_day + dt.timedelta(days=d) for d in range((day_of_submission - began_day).days))
    assert sum(calendar.is_workday(d) for d in between) <= working_days_allowed(days)


def late_dossiers(day: dt.date, first: int, count: int) -> list[ServiceEvent]:
    """Certifications handed in on ``day`` (due at its next working day's close) and completed a day late."""
    due = local(day + dt.timedelta(days=1), 17.0)
    out = []
    for i in range(count):
        submitted = local(day, 8.0) + 60.0 * i
        out.append(event("dossier_submitted", submitted, first + i, deadline=due))
        out.append(event("dossier_completed", due + 86400.0 + 60.0 * i, first + i, deadline=due))
    return sorted(out, key=lambda e: e.event_time)


def backlog_raised(detector: BacklogDetector, events: list[ServiceEvent]) -> bool:
    return any(s.active for s in detector.update(events) if s.rule == BACKLOG_RULE)


def test_late_dossiers_handed_in_before_a_backlog_cleared_do_not_raise_it_again() -> None:
    monday = dt.date(2025, 4, 14)
    detector = BacklogDetector(profile(), NO_COLLAPSE)
    detector.update([event("dossier_submitted", local(monday, 7.0), 0, deadline=local(monday, 17.0))])
    state = detector.export_state(OFFICE)
    assert state is not None and state["cleared"] is None
    state["cleared"] = local(monday + dt.timedelta(days=1), 12.0)
    detector.load_state(OFFICE, state)
    assert not backlog_raised(detector, late_dossiers(monday, 100, 30))
    after = detector.export_state(OFFICE)
    assert after is not None and after["outcomes"] == [] and after["judged"] == 0
    assert backlog_raised(detector, late_dossiers(monday + dt.timedelta(days=2), 200, 30))


def test_the_same_late_dossiers_raise_a_backlog_when_none_was_alerted() -> None:
    monday = dt.date(2025, 4, 14)
    detector = BacklogDetector(profile(), NO_COLLAPSE)
    detector.update([event("dossier_submitted", local(monday, 7.0), 0, deadline=local(monday, 17.0))])
    assert backlog_raised(detector, late_dossiers(monday, 100, 30))
