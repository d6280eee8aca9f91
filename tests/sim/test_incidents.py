"""The field-report feed: Poisson volumes and shapes, legal lifecycles, anomalies, texts, contract."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocsim.contract import INCIDENT_CATEGORIES, INCIDENT_REPORTS, IncidentReport, decode, encode
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.errors import ScenarioError, SimError
from iocsim.sim.feed import Feed
from iocsim.sim.incident_settings import YEAR_SECONDS, ArrivalShape, IncidentSettings
from iocsim.sim.incident_texts import load_texts
from iocsim.sim.incidents import IncidentFeed
from iocsim.sim.profiles import District, Profile, load_profile
from iocsim.sim.scenario import Anomaly, Scenario, WeatherSpell

ICT = dt.timezone(dt.timedelta(hours=7))
DAY = 86400.0
NOVEMBER = dt.datetime(2025, 11, 3, tzinfo=ICT)  # a Monday: no holiday, festival or rain season
JULY = dt.datetime(2025, 7, 7, tzinfo=ICT)
LEGAL = {
    ("received", "assigned", "in_progress", "resolved"),
    ("received", "rejected"),
    ("received", "assigned", "rejected"),
}
URGENT = {"natural_disaster", "traffic", "public_order"}
COMMUNE_FIELDS = ("id", "name", "population", "lat", "lon")


def make_profile(rate: float = 500.0) -> Profile:
    """A two-district province, small enough for fast tests and busy enough for statistics."""
    communes = {
        "city": [
            ("city/center", "Phường Trung Tâm", 20000, 21.39, 103.02),
            ("city/hill", "Xã Đồi", 6000, 21.41, 103.0),
        ],
        "upland": [
            ("upland/a", "Xã Nà Pá", 9000, 21.86, 103.35),
            ("upland/b", "Thị trấn Bản Mới", 12000, 21.85, 103.36),
            ("upland/c", "Xã Huổi Lếch", 3000, 21.9, 103.3),
        ],
    }
    raw = {
        "id": "test",
        "name": "Test province",
        "sources": ["tests"],
        "network_coverage": 0.95,
        "districts": [
            {
                "id": did,
                "name": name,
                "kind": kind,
                "lat": 21.4,
                "lon": 103.0,
                "communes": [
                    dict(zip(("id", "name", "population", "lat", "lon"), c, strict=True)) for c in communes[did]
                ],
            }
            for did, name, kind in (("city", "Thành phố Thử", "city"), ("upland", "Tủa Chùa", "district"))
        ],
        "cameras": [],
        "offices": [{"id": "hcc", "name": "Centre", "district": None, "counters": 4, "share": 1.0}],
        "services": {
            "dossiers_per_year": 1000,
            "online_share": 0.5,
            "on_time_target": 0.96,
            "service_types": [{"id": "a", "name": "A", "share": 1.0, "processing_days": 3, "counter_minutes": 10}],
        },
        "incidents": {
            "reports_per_1000_people_per_year": rate,
            "smartphone_share": 0.68,
            "category_weights": {
                "traffic": 0.22,
                "environment": 0.18,
                "public_order": 0.14,
                "infrastructure": 0.2,
                "land": 0.1,
                "public_services": 0.1,
                "natural_disaster": 0.06,
            },
        },
        "calendar": {
            "timezone": "Asia/Ho_Chi_Minh",
            "office_hours": [["07:00", "11:30"], ["13:30", "17:00"]],
            "workdays": [0, 1, 2, 3, 4],
            "holidays": [{"name": "Tết Nguyên đán", "start": "2026-02-14", "end": "2026-02-22"}],
        },
    }
    return msgspec.convert(raw, Profile)


PROFILE = make_profile()


def window(start: dt.datetime, days: float, *anomalies: Anomaly, rain: Iterable[WeatherSpell] = ()) -> Scenario:
    t0 = start.timestamp()
    return Scenario("test", t0, t0 + days * DAY, weather_spells=tuple(rain), anomalies=anomalies)


def events(scenario: Scenario, seed: int = 7, profile: Profile = PROFILE) -> list[IncidentReport]:
    return list(IncidentFeed(profile, scenario, seed).events())


def received(messages: Iterable[IncidentReport]) -> list[IncidentReport]:
    return [m for m in messages if m.payload.status == "received"]


def by_report(messages: Iterable[IncidentReport]) -> dict[str, list[IncidentReport]]:
    reports: dict[str, list[IncidentReport]] = defaultdict(list)
    for m in messages:
        reports[m.entity_id].append(m)
    return reports


def poisson_quantile(mean: float, q: float) -> int:
    """Smallest k with P(Poisson(mean) <= k) >= q."""
    k, term = 0, math.exp(-mean)
    total = term
    while total < q:
        k += 1
        term *= mean / k
        total += term
    return k


def expected_base_rate(profile: Profile) -> float:
    """Reports per second of the whole province with every shape factor at 1, from first principles."""
    reach = ArrivalShape().reach_by_district_kind
    share = profile.incidents.smartphone_share
    per_person = profile.incidents.reports_per_1000_people_per_year / 1000 / YEAR_SECONDS
    return sum(d.population * per_person * min(1.0, share * reach[d.kind]) for d in profile.districts)


@pytest.fixture(scope="module")
def november() -> list[IncidentReport]:
    return events(window(NOVEMBER, 28))


# --- determinism and contract ---------------------------------------------------------------


def busy_scenario() -> Scenario:
    t0 = NOVEMBER.timestamp()
    return window(
        NOVEMBER,
        4,
        Anomaly("incident_burst", "upland/c", t0 + DAY, t0 + DAY + 7200),
        Anomaly("category_surge", "city", t0 + 2 * DAY, t0 + 2.5 * DAY, {"category": "public_order", "multiplier": 4}),
        rain=[WeatherSpell("rain", t0 + 0.5 * DAY, t0 + 1.5 * DAY, frozenset({"upland"}), 0.8)],
    )


def test_same_seed_gives_identical_bytes_and_another_seed_differs() -> None:
    feed: Feed = IncidentFeed(PROFILE, busy_scenario(), 11)
    assert feed.topic == INCIDENT_REPORTS
    first = [encode(m) for m in events(busy_scenario(), seed=11)]
    again = [encode(m) for m in events(busy_scenario(), seed=11)]
    other = [encode(m) for m in events(busy_scenario(), seed=12)]
    assert len(first) > 500
    assert first == again
    assert first != other


def test_every_message_round_trips_through_the_contract() -> None:
    messages = events(busy_scenario())
    for m in messages:
        assert decode(INCIDENT_REPORTS, encode(m)) == m
        assert m.payload.category in INCIDENT_CATEGORIES
        assert PROFILE.district_of_commune[m.commune or ""] == m.district
    assert len({m.event_id for m in messages}) == len(messages)
    assert all(m.event_id == f"{m.entity_id}-{m.payload.status}" for m in messages)


def test_events_are_in_time_order_and_inside_the_scenario() -> None:
    scenario = busy_scenario()
    times = [m.event_time for m in events(scenario)]
    assert times == sorted(times)
    assert scenario.start <= times[0] and times[-1] < scenario.end


# --- volumes and shapes ---------------------------------------------------------------------


def test_received_count_matches_the_poisson_rate(november: list[IncidentReport]) -> None:
    scenario = window(NOVEMBER, 28)
    expected = expected_base_rate(PROFILE) * scenario.duration  # four whole weeks: weekday and hour shapes average 1
    observed = len(received(november))
    assert abs(observed - expected) < 4 * math.sqrt(expected), (observed, expected)
    model_expected = IncidentFeed(PROFILE, scenario, 7).expected_counts().sum()
    assert model_expected == pytest.approx(expected, rel=1e-9)


def test_reports_come_by_day_not_by_night(november: list[IncidentReport]) -> None:
    calendar = ProvinceCalendar(PROFILE.calendar)
    hours = Counter(calendar.local(m.event_time).hour for m in received(november))
    night = sum(hours[h] for h in range(5)) / 5
    day = sum(hours[h] for h in range(8, 18)) / 10
    assert day > 5 * night


def test_rainy_season_raises_the_natural_disaster_share(november: list[IncidentReport]) -> None:
    def share(messages: list[IncidentReport], category: str) -> float:
        reports = received(messages)
        return sum(m.payload.category == category for m in reports) / len(reports)

    july = events(window(JULY, 28))
    assert share(july, "natural_disaster") > 2 * share(november, "natural_disaster")
    assert share(july, "infrastructure") > share(november, "infrastructure")


def test_tet_and_festivals_move_the_expected_rate() -> None:
    tet = IncidentFeed(PROFILE, window(dt.datetime(2026, 2, 16, tzinfo=ICT), 7), 1).expected_counts().sum()
    ordinary = IncidentFeed(PROFILE, window(dt.datetime(2026, 3, 23, tzinfo=ICT), 7), 1).expected_counts().sum()
    assert tet < 0.6 * ordinary
    hoa_ban = IncidentFeed(PROFILE, window(dt.datetime(2026, 3, 8, tzinfo=ICT), 7), 1).expected_counts()
    before = IncidentFeed(PROFILE, window(dt.datetime(2026, 3, 1, tzinfo=ICT), 7), 1).expected_counts()
    traffic, land = INCIDENT_CATEGORIES.index("traffic"), INCIDENT_CATEGORIES.index("land")
    city, upland = slice(0, 2), slice(2, 5)
    assert hoa_ban[city, traffic].sum() > 2 * before[city, traffic].sum()
    assert hoa_ban[upland, traffic].sum() == pytest.approx(before[upland, traffic].sum(), rel=0.02)
    assert hoa_ban[city, land].sum() == pytest.approx(before[city, land].sum(), rel=0.02)


def test_rain_raises_natural_disaster_reports_in_its_district_only() -> None:
    t0 = NOVEMBER.timestamp()
    spell = WeatherSpell("rain", t0, t0 + 7 * DAY, frozenset({"upland"}), 1.0)
    wet = IncidentFeed(PROFILE, window(NOVEMBER, 7, rain=[spell]), 1).expected_counts()
    dry = IncidentFeed(PROFILE, window(NOVEMBER, 7), 1).expected_counts()
    disaster = INCIDENT_CATEGORIES.index("natural_disaster")
    assert wet[2:, disaster].sum() > 4 * dry[2:, disaster].sum()
    assert wet[:2].sum() == pytest.approx(dry[:2].sum())


# --- lifecycle ------------------------------------------------------------------------------


def test_lifecycles_are_legal_and_some_resolve_late() -> None:
    scenario = window(NOVEMBER, 90)
    reports = by_report(events(scenario))
    late = judged = rejected = 0
    for steps in reports.values():
        statuses = tuple(m.payload.status for m in steps)
        assert statuses in LEGAL or any(legal[: len(statuses)] == statuses for legal in LEGAL)
        times = [m.event_time for m in steps]
        assert all(a < b for a, b in itertools.pairwise(times))
        first = steps[0].payload
        assert first.received_at == steps[0].event_time and first.agency is None
        assert all(
            (m.payload.received_at, m.payload.deadline, m.payload.category, m.payload.text, m.payload.lat)
            == (first.received_at, first.deadline, first.category, first.text, first.lat)
            for m in steps
        )
        if statuses[-1] == "rejected":
            rejected += 1
        if first.received_at < scenario.end - 45 * DAY and statuses[-1] != "rejected":
            # every deadline (15 days at most) has passed: still open means overdue
            judged += 1
            late += statuses[-1] != "resolved" or steps[-1].event_time > first.deadline
    assert 0.05 <= late / judged <= 0.10, late / judged
    assert 0.02 <= rejected / len(reports) <= 0.07


def test_agencies_act_on_office_hours_unless_the_category_is_urgent(november: list[IncidentReport]) -> None:
    calendar = ProvinceCalendar(PROFILE.calendar)
    assigned = [m for m in november if m.payload.status == "assigned"]
    office = [m for m in assigned if m.payload.category not in URGENT]
    assert office and all(calendar.is_office_open(m.event_time) for m in office)
    urgent_off_hours = [
        m for m in assigned if m.payload.category in URGENT and not calendar.is_office_open(m.event_time)
    ]
    assert urgent_off_hours
    assert all(m.payload.agency for m in assigned)
    assert {m.payload.agency for m in assigned if m.district == "upland" and m.payload.category == "public_order"} == {
        "Công an huyện Tủa Chùa"
    }


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), hours=st.floats(1.0, 72.0), start_day=st.integers(0, 364))
def test_any_run_is_ordered_and_legal(seed: int, hours: float, start_day: int) -> None:
    start = dt.datetime(2025, 1, 1, 5, 17, tzinfo=ICT) + dt.timedelta(days=start_day)
    scenario = window(start, hours / 24)
    messages = events(scenario, seed)
    assert [m.event_time for m in messages] == sorted(m.event_time for m in messages)
    for steps in by_report(messages).values():
        statuses = tuple(m.payload.status for m in steps)
        assert any(legal[: len(statuses)] == statuses for legal in LEGAL)


# --- anomalies ------------------------------------------------------------------------------


def in_window(messages: Iterable[IncidentReport], start: float, end: float) -> list[IncidentReport]:
    return [m for m in received(messages) if start <= m.event_time < end]


def fingerprint(messages: Iterable[IncidentReport]) -> set[tuple[float, str | None, str, str]]:
    return {(m.event_time, m.commune, m.payload.category, m.payload.text) for m in received(messages)}


def test_incident_burst_is_a_clear_excess_in_its_commune_and_category_only() -> None:
    t0 = NOVEMBER.timestamp() + DAY + 2 * 3600  # 02:00 local: the quietest time of a small commune
    burst = Anomaly("incident_burst", "upland/c", t0, t0 + 7200)
    clean = window(NOVEMBER, 3)
    noisy = window(NOVEMBER, 3, burst)
    baseline = IncidentFeed(PROFILE, clean, 7).expected_counts(t0, t0 + 7200)
    commune, category = 4, INCIDENT_CATEGORIES.index("natural_disaster")
    clean_messages, noisy_messages = events(clean), events(noisy)

    hits = [m for m in in_window(noisy_messages, t0, t0 + 7200) if m.commune == "upland/c"]
    excess = Counter(m.payload.category for m in hits)
    # the floor of 6 an hour makes the burst real even at night in the smallest commune
    assert excess["natural_disaster"] > max(5, poisson_quantile(baseline[commune, category], 0.9999))
    # everything else, and everything outside the window, is exactly the clean run
    extra = fingerprint(noisy_messages) - fingerprint(clean_messages)
    assert fingerprint(clean_messages) <= fingerprint(noisy_messages)
    assert extra and all(c == "upland/c" and k == "natural_disaster" and t0 <= t < t0 + 7200 for t, c, k, _ in extra)


def test_category_surge_is_a_clear_excess_in_its_district_and_category_only() -> None:
    t0 = NOVEMBER.timestamp() + DAY + 9 * 3600
    surge = Anomaly("category_surge", "upland", t0, t0 + 4 * 3600, {"category": "environment", "multiplier": 10})
    clean, noisy = window(NOVEMBER, 3), window(NOVEMBER, 3, surge)
    baseline = IncidentFeed(PROFILE, clean, 7).expected_counts(t0, t0 + 4 * 3600)
    category = INCIDENT_CATEGORIES.index("environment")
    clean_messages, noisy_messages = events(clean), events(noisy)

    hits = [m for m in in_window(noisy_messages, t0, t0 + 4 * 3600) if m.district == "upland"]
    observed = sum(m.payload.category == "environment" for m in hits)
    assert observed > poisson_quantile(baseline[2:, category].sum(), 0.9999)
    extra = fingerprint(noisy_messages) - fingerprint(clean_messages)
    assert fingerprint(clean_messages) <= fingerprint(noisy_messages)
    assert all(PROFILE.district_of_commune[c or ""] == "upland" and k == "environment" for _, c, k, _ in extra)
    assert all(t0 <= t < t0 + 4 * 3600 for t, *_ in extra)


@pytest.mark.parametrize(
    ("anomaly", "field"),
    [
        (Anomaly("incident_burst", "nowhere", 0.0, 1.0), "anomalies[0].entity"),
        (Anomaly("category_surge", "city/center", 0.0, 1.0), "anomalies[0].entity"),
        (Anomaly("incident_burst", "city/hill", 0.0, 1.0, {"category": "fire"}), "anomalies[0].params.category"),
        (Anomaly("category_surge", "city", 0.0, 1.0, {"multiplier": "lots"}), "anomalies[0].params.multiplier"),
    ],
)
def test_bad_anomalies_name_the_field(anomaly: Anomaly, field: str) -> None:
    with pytest.raises(ScenarioError) as error:
        IncidentFeed(PROFILE, window(NOVEMBER, 1, anomaly), 1)
    assert error.value.field == field


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(SimError, match="hour_weights"):
        ArrivalShape(hour_weights=(1.0,) * 23)
    with pytest.raises(SimError, match="rain_uplift"):
        ArrivalShape(rain_uplift={"landslide": 2.0})
    with pytest.raises(SimError, match="texts"):
        IncidentFeed(PROFILE, window(NOVEMBER, 1), 1, IncidentSettings(texts="klingon"))


# --- texts ----------------------------------------------------------------------------------


def has_vietnamese_diacritics(text: str) -> bool:
    return "đ" in text.lower() or any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", text))


def test_report_texts_are_filled_vietnamese(november: list[IncidentReport]) -> None:
    texts = [m.payload.text for m in received(november)]
    assert len(set(texts)) > 100
    for text in texts:
        assert text and has_vietnamese_diacritics(text)
        assert "{" not in text and "}" not in text


def test_every_template_renders_for_every_district_kind() -> None:
    texts = load_texts()
    rng = np.random.default_rng(0)
    local = dt.datetime(2025, 7, 1, 14, 37, tzinfo=ICT)
    for category in INCIDENT_CATEGORIES:
        assert len(texts.templates[category]) >= 6
        for template in texts.templates[category]:
            single = dataclasses.replace(texts, templates={**texts.templates, category: (template,)})
            for kind in ("city", "town", "district"):
                district = District("d", "Mường Chà", kind, 21.0, 103.0, [])
                text = single.render(rng, category, "Xã Sa Lông", district, local)
                assert has_vietnamese_diacritics(text) and "{" not in text and "}" not in text
                assert text[0].isupper()
    district = District("d", "Huyện Mường Chà", "district", 21.0, 103.0, [])
    assert texts.agency("natural_disaster", district) == "Ban Chỉ huy PCTT và TKCN huyện Mường Chà"


# --- the shipped province -------------------------------------------------------------------


def test_dien_bien_week_is_plausible() -> None:
    profile = load_profile("dien_bien")
    messages = events(window(JULY, 7), profile=profile)
    reports = received(messages)
    yearly = expected_base_rate(profile) * YEAR_SECONDS
    assert 1000 < yearly < 50000  # a few to a few hundred reports a day, never millions
    assert 0.3 * yearly / 52 < len(reports) < 3 * yearly / 52
    assert {m.district for m in reports} == set(profile.district_by_id)
    for m in messages[:200]:
        assert decode(INCIDENT_REPORTS, encode(m)) == m
