from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

import pytest

from iocsim.contract import SERVICE_EVENTS, ServiceEvent, decode, encode
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.errors import ScenarioError, SimError
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import PORTAL, Anomaly, Scenario
from iocsim.sim.services import PROVINCE_DISTRICT, ServiceFeed, ServiceSettings

PROFILE = load_profile()
CALENDAR = ProvinceCalendar(PROFILE.calendar)
HOUR = 3600.0
DAY = 86400.0
MONDAY = dt.datetime(2025, 3, 3, tzinfo=CALENDAR.zone).timestamp()
QUICK = ServiceSettings(warm_up_days=0)


def scenario(days: float, *anomalies: Anomaly, start: float = MONDAY) -> Scenario:
    return Scenario(name="test", start=start, end=start + days * DAY, anomalies=tuple(anomalies))


def run(scn: Scenario, seed: int = 7, settings: ServiceSettings | None = None) -> list[ServiceEvent]:
    return list(ServiceFeed(PROFILE, scn, seed, settings).events())


def of(messages: Iterable[ServiceEvent], kind: str, entity: str | None = None) -> list[ServiceEvent]:
    return [m for m in messages if m.payload.kind == kind and (entity is None or m.entity_id == entity)]


def between(messages: Iterable[ServiceEvent], start: float, end: float) -> list[ServiceEvent]:
    return [m for m in messages if start <= m.event_time < end]


def encoded_except(messages: Iterable[ServiceEvent], entity: str) -> list[bytes]:
    return [encode(m) for m in messages if m.entity_id != entity]


@pytest.fixture(scope="module")
def week() -> list[ServiceEvent]:
    """A clean Monday-to-Sunday week with the default warm-up (dossiers already in progress)."""
    return run(scenario(7))


# --- messages ----------------------------------------------------------------


def test_messages_are_ordered_unique_inside_the_scenario_and_round_trip(week: list[ServiceEvent]) -> None:
    times = [m.event_time for m in week]
    assert times == sorted(times)
    assert times[0] >= MONDAY and times[-1] < MONDAY + 7 * DAY
    assert len({m.event_id for m in week}) == len(week)
    for message in week:
        assert decode(SERVICE_EVENTS, encode(message)) == message
    kinds = Counter(m.payload.kind for m in week)
    assert set(kinds) == {"ticket_issued", "ticket_called", "ticket_served", "ticket_abandoned",
                          "dossier_submitted", "dossier_completed", "counters_changed"}  # fmt: skip


def test_entities_districts_and_ids(week: list[ServiceEvent]) -> None:
    districts = {o.id: o.district or PROVINCE_DISTRICT for o in PROFILE.offices} | {PORTAL: PROVINCE_DISTRICT}
    for m in week:
        assert m.district == districts[m.entity_id]
        assert m.payload.item_id.startswith(f"{m.entity_id}-")
        assert m.event_id == f"{m.payload.item_id}-{m.payload.kind.partition('_')[2]}"
        if m.entity_id == PORTAL:
            assert m.payload.channel == "online"
            assert m.payload.counters_open == m.payload.queue_length == 0
        else:
            assert m.payload.channel == "counter"


# --- the counters ------------------------------------------------------------


def test_every_ticket_runs_its_course(week: list[ServiceEvent]) -> None:
    steps: dict[str, list[ServiceEvent]] = defaultdict(list)
    for m in week:
        if m.payload.kind.startswith("ticket_"):
            steps[m.payload.item_id].append(m)
    assert len(steps) > 1000
    for ticket in steps.values():
        kinds = [m.payload.kind for m in ticket]
        assert kinds in (["ticket_issued", "ticket_called", "ticket_served"], ["ticket_issued", "ticket_abandoned"])
        issued, outcome = ticket[0], ticket[1]
        assert outcome.payload.wait_seconds is not None and outcome.payload.wait_seconds >= 0
        assert outcome.payload.wait_seconds == pytest.approx(outcome.event_time - issued.event_time, abs=2e-3)


def test_queue_lengths_add_up_and_never_go_negative(week: list[ServiceEvent]) -> None:
    waiting: Counter[str] = Counter()
    staffed = {o.id: o.counters for o in PROFILE.offices}
    for m in week:
        if not m.payload.kind.startswith("ticket_"):
            continue
        waiting[m.entity_id] += {"ticket_issued": 1, "ticket_called": -1, "ticket_abandoned": -1}.get(m.payload.kind, 0)
        assert m.payload.queue_length == waiting[m.entity_id] >= 0
        assert 0 < m.payload.counters_open <= staffed[m.entity_id]
    assert all(n == 0 for n in waiting.values())


def test_counters_keep_office_hours(week: list[ServiceEvent]) -> None:
    overtime = ServiceSettings().overtime_minutes * 60
    for m in week:
        if m.entity_id == PORTAL:
            continue
        day = CALENDAR.local(m.event_time).date()
        assert CALENDAR.is_workday(day), m
        if m.payload.kind == "ticket_issued":
            assert CALENDAR.is_office_open(m.event_time), m
        if m.payload.kind in ("ticket_called", "ticket_abandoned"):
            closing = [end for start, end in CALENDAR.office_sessions(day) if start <= m.event_time]
            assert m.event_time <= closing[-1] + overtime, m


def test_counters_report_opening_and_closing_every_session(week: list[ServiceEvent]) -> None:
    overtime = ServiceSettings().overtime_minutes * 60
    changes: dict[str, list[ServiceEvent]] = defaultdict(list)
    for m in of(week, "counters_changed"):
        changes[m.entity_id].append(m)
    assert set(changes) == {o.id for o in PROFILE.offices}
    for office, steps in changes.items():
        staffed = {m.payload.counters_open for m in of(week, "ticket_issued", office)}
        sessions = [s for d in range(7) for s in CALENDAR.office_sessions(dt.date(2025, 3, 3) + dt.timedelta(d))]
        assert [m.event_time for m in steps[::2]] == [start for start, _ in sessions]
        assert all(end <= m.event_time <= end + overtime for m, (_, end) in zip(steps[1::2], sessions, strict=True))
        assert {m.payload.counters_open for m in steps[::2]} == staffed
        assert {(m.payload.counters_open, m.payload.queue_length) for m in steps[1::2]} == {(0, 0)}
        assert all(m.payload.service_type == "" for m in steps)


def test_counter_dossiers_come_from_served_tickets(week: list[ServiceEvent]) -> None:
    served = {(m.entity_id, m.event_time) for m in of(week, "ticket_served")}
    submitted = [m for m in of(week, "dossier_submitted") if m.payload.channel == "counter"]
    assert all((m.entity_id, m.event_time) in served for m in submitted)
    share = len(submitted) / len(served)
    assert share == pytest.approx(1 - ServiceSettings().non_dossier_share, abs=0.03)


def test_dossiers_complete_in_office_hours_and_know_if_they_are_late(week: list[ServiceEvent]) -> None:
    submitted = {m.payload.item_id: m for m in of(week, "dossier_submitted")}
    completed = of(week, "dossier_completed")
    assert len(completed) > 1000
    for m in completed:
        assert m.payload.deadline is not None
        assert m.payload.on_time == (m.event_time <= m.payload.deadline)
        assert CALENDAR.is_office_open(m.event_time) or CALENDAR.is_office_open(m.event_time - 0.01)
        first = submitted.get(m.payload.item_id)
        if first is not None:
            assert first.event_time < m.event_time
            assert first.payload.deadline == m.payload.deadline
            assert first.payload.service_type == m.payload.service_type
    assert 0.93 < sum(bool(m.payload.on_time) for m in completed) / len(completed) < 0.995


def test_nothing_at_the_counters_during_tet() -> None:
    tet_eve = dt.datetime(2025, 1, 23, tzinfo=CALENDAR.zone).timestamp()
    messages = run(scenario(13, start=tet_eve), settings=QUICK)
    by_day: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for m in messages:
        by_day[CALENDAR.local(m.event_time).date()][m.payload.channel] += 1
    tet = [dt.date(2025, 1, 25) + dt.timedelta(days=i) for i in range(9)]
    assert all(by_day[d]["counter"] == 0 for d in tet)
    assert by_day[dt.date(2025, 1, 23)]["counter"] > 100 and by_day[dt.date(2025, 2, 3)]["counter"] > 100
    assert 0 < max(by_day[d]["online"] for d in tet) < by_day[dt.date(2025, 2, 4)]["online"] / 2


# --- determinism ---------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    scn = scenario(1.5)
    settings = ServiceSettings(warm_up_days=3)
    first = [encode(m) for m in run(scn, 11, settings)]
    assert first == [encode(m) for m in run(scn, 11, settings)]
    assert first != [encode(m) for m in run(scn, 12, settings)]


# --- anomalies -----------------------------------------------------------------


TUESDAY = MONDAY + DAY


def closure_at_province(**params: float | str) -> Anomaly:
    return Anomaly("counter_closure", "hcc-province", TUESDAY + 8 * HOUR, TUESDAY + 11 * HOUR, dict(params))


def test_counter_closure_makes_people_wait_and_leave_at_that_office_only() -> None:
    clean = run(scenario(1, start=TUESDAY), settings=QUICK)
    closed = run(scenario(1, closure_at_province(), start=TUESDAY), settings=QUICK)
    office, window = "hcc-province", (TUESDAY + 8 * HOUR, TUESDAY + 11 * HOUR)

    def abandoned_share_and_wait(messages: list[ServiceEvent]) -> tuple[float, float]:
        issued = {m.payload.item_id for m in between(of(messages, "ticket_issued", office), *window)}
        outcomes = [m for m in messages if m.payload.item_id in issued and m.payload.wait_seconds is not None]
        gave_up = sum(m.payload.kind == "ticket_abandoned" for m in outcomes) / len(outcomes)
        return gave_up, sum(m.payload.wait_seconds or 0 for m in outcomes) / len(outcomes)

    clean_abandoned, clean_wait = abandoned_share_and_wait(clean)
    closed_abandoned, closed_wait = abandoned_share_and_wait(closed)
    assert closed_abandoned > max(0.5, 2.5 * clean_abandoned)
    assert closed_wait > 5 * clean_wait + 600
    in_window = between(of(closed, "ticket_issued", office), *window)
    assert {m.payload.counters_open for m in in_window} == {0}
    assert max(m.payload.queue_length for m in in_window) > 2 * max(
        m.payload.queue_length for m in between(of(clean, "ticket_issued", office), *window)
    )
    assert encoded_except(clean, office) == encoded_except(closed, office)


def test_partial_closure_keeps_some_counters_and_is_reported_when_it_happens() -> None:
    closed = run(scenario(1, closure_at_province(counters_open=1), start=TUESDAY), settings=QUICK)
    in_window = between(of(closed, "ticket_issued", "hcc-province"), TUESDAY + 8 * HOUR, TUESDAY + 11 * HOUR)
    assert {m.payload.counters_open for m in in_window} == {1}
    staffed = max(m.payload.counters_open for m in of(closed, "ticket_issued", "hcc-province"))
    morning = between(of(closed, "counters_changed", "hcc-province"), TUESDAY, TUESDAY + 12 * HOUR)
    opening = CALENDAR.office_sessions(CALENDAR.local(TUESDAY).date())[0][0]
    assert [(m.event_time - TUESDAY, m.payload.counters_open) for m in morning[:3]] == [
        (opening - TUESDAY, staffed),
        (8 * HOUR, 1),
        (11 * HOUR, staffed),
    ]
    tickets = [m for m in closed if m.entity_id == "hcc-province" and m.payload.kind.startswith("ticket_")]
    assert (
        morning[1].payload.queue_length
        == [m for m in tickets if m.event_time < TUESDAY + 8 * HOUR][-1].payload.queue_length
    )


def test_expected_arrivals_match_what_the_week_brought(week: list[ServiceEvent]) -> None:
    feed = ServiceFeed(PROFILE, scenario(7), 7)
    offices = [office.id for office in PROFILE.offices]
    tickets = len([m for m in of(week, "ticket_issued") if m.entity_id in offices])
    expected = sum(feed.expected_arrivals(office, MONDAY, MONDAY + 7 * DAY) for office in offices)
    assert tickets == pytest.approx(expected, abs=4 * expected**0.5)
    online = len(of(week, "dossier_submitted", PORTAL))
    expected = feed.expected_arrivals(PORTAL, MONDAY, MONDAY + 7 * DAY)
    assert online == pytest.approx(expected, abs=4 * expected**0.5)
    with pytest.raises(SimError, match="entity_id"):
        feed.expected_arrivals("nowhere", MONDAY, MONDAY + DAY)


def test_queue_surge_brings_more_tickets() -> None:
    office, window = "hcc-dien-bien", (MONDAY + 13.5 * HOUR, MONDAY + 17 * HOUR)
    surge = Anomaly("queue_surge", office, *window)
    clean = run(scenario(1), settings=QUICK)
    surged = run(scenario(1, surge), settings=QUICK)
    before = len(between(of(clean, "ticket_issued", office), *window))
    after = len(between(of(surged, "ticket_issued", office), *window))
    assert after > 2 * before > 0
    assert encoded_except(clean, office) == encoded_except(surged, office)


def test_portal_outage_stops_online_submissions_and_leaves_a_backlog() -> None:
    window = (MONDAY + 9 * HOUR, MONDAY + 15 * HOUR)
    clean = run(scenario(1), settings=QUICK)
    outage = run(scenario(1, Anomaly("portal_outage", PORTAL, *window)), settings=QUICK)
    usual = len(between(of(clean, "dossier_submitted", PORTAL), *window))
    assert usual > 50
    assert between(of(outage, "dossier_submitted", PORTAL), *window) == []
    after = (window[1], window[1] + 3 * HOUR)
    backlog = len(between(of(outage, "dossier_submitted", PORTAL), *after)) - len(
        between(of(clean, "dossier_submitted", PORTAL), *after)
    )
    assert backlog > 0.4 * usual
    assert encoded_except(clean, PORTAL) == encoded_except(outage, PORTAL)


@pytest.mark.parametrize("entity", ["hcc-province", PORTAL])
def test_processing_backlog_makes_dossiers_late(week: list[ServiceEvent], entity: str) -> None:
    backlog = Anomaly("processing_backlog", entity, MONDAY, MONDAY + 3 * DAY)
    slowed = run(scenario(7, backlog))

    def on_time_rate(messages: list[ServiceEvent]) -> float:
        due = [m for m in of(messages, "dossier_completed", entity) if (m.payload.deadline or 0) >= MONDAY]
        return sum(bool(m.payload.on_time) for m in due) / len(due)

    assert on_time_rate(week) > 0.93
    assert on_time_rate(slowed) < 0.8
    assert encoded_except(week, entity) == encoded_except(slowed, entity)


def test_anomalies_are_checked() -> None:
    with pytest.raises(ScenarioError, match="office id"):
        ServiceFeed(PROFILE, scenario(1, Anomaly("counter_closure", PORTAL, MONDAY, MONDAY + HOUR)), 1)
    bad = Anomaly("queue_surge", "hcc-province", MONDAY, MONDAY + HOUR, {"multiplier": -2.0})
    with pytest.raises(SimError, match="multiplier"):
        ServiceFeed(PROFILE, scenario(1, bad), 1)


def test_settings_are_checked() -> None:
    with pytest.raises(SimError, match="staffed_share"):
        ServiceSettings(staffed_share=0)
    with pytest.raises(SimError, match="non_dossier_share"):
        ServiceSettings(non_dossier_share=1.0)


# --- calibration ---------------------------------------------------------------


@pytest.mark.slow
def test_a_year_matches_the_province_figures() -> None:
    """DOMAIN.md: > 140,000 dossiers in 2022, 53% online, over 96% on time."""
    new_year = dt.datetime(2025, 1, 1, tzinfo=CALENDAR.zone).timestamp()
    year = run(scenario(365, start=new_year))
    submitted = of(year, "dossier_submitted")
    online = sum(m.payload.channel == "online" for m in submitted)
    completed = of(year, "dossier_completed")
    on_time = sum(bool(m.payload.on_time) for m in completed) / len(completed)
    issued = len(of(year, "ticket_issued"))
    abandoned = len(of(year, "ticket_abandoned"))
    assert len(submitted) == pytest.approx(PROFILE.services.dossiers_per_year, rel=0.05)
    assert online / len(submitted) == pytest.approx(PROFILE.services.online_share, abs=0.03)
    assert 0.965 <= on_time <= 0.975
    assert on_time >= PROFILE.services.on_time_target
    assert 0.005 < abandoned / issued < 0.08, "a few % abandon on normal days"
    for m in year:
        if m.payload.channel == "counter":
            assert CALENDAR.is_workday(CALENDAR.local(m.event_time).date()), m
