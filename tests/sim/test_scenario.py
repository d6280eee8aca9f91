from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim.contract import ANOMALY_KINDS, TRUTH, decode, encode
from iocsim.sim.errors import ScenarioError
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import (
    ANOMALY_KINDS_BY_FEED,
    CORRELATED,
    available_scenarios,
    check_against,
    load_scenario,
    parse_duration,
    parse_scenario,
)
from iocsim.sim.truth import TruthFeed

BASE = "name: t\nstart: 2025-05-12T06:00:00+07:00\nduration: 1h\n"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45s", 45), ("20m", 1200), ("1h30m", 5400), ("2d", 172800), ("1.5h", 5400), (90, 90), ("90", 90), (" 2.5 ", 2.5)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@given(st.integers(0, 10), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_duration_components_add_up(d: int, h: int, m: int, s: int) -> None:
    assert parse_duration(f"{d}d{h}h{m}m{s}s") == d * 86400 + h * 3600 + m * 60 + s


@pytest.mark.parametrize("text", ["", "abc", "10x", "-5m", "m"])
def test_bad_durations_name_the_field(text: str) -> None:
    with pytest.raises(ScenarioError, match="anomalies"):
        parse_duration(text, "anomalies[0].duration")


def test_every_shipped_scenario_fits_the_default_profile() -> None:
    profile = load_profile()
    names = available_scenarios()
    assert {"every_kind", "cameras", "incidents", "services"} <= set(names)
    for name in names:
        check_against(load_scenario(name), profile)


def test_every_kind_scenario_has_each_kind_once() -> None:
    scenario = load_scenario("every_kind")
    declared = [a.kind for a in scenario.anomalies if a.part_of is None]
    every = {kind for kinds_of_feed in ANOMALY_KINDS_BY_FEED.values() for kind in kinds_of_feed} | {CORRELATED}
    assert sorted({a.kind for a in scenario.anomalies}) == sorted(every) == sorted(ANOMALY_KINDS)
    assert len(declared) == len(set(declared))


CORRELATED_LINE = (
    "anomalies:\n  - {{kind: crowd, entity: MA-02, start: 1m, duration: 1m}}\n"
    "  - {{kind: correlated_incident, entity: muong-ang, start: 10m, duration: 40m,"
    " params: {{commune: {commune}, camera: {camera}, category: public_order, min_per_hour: 12, multiplier: 5}}}}\n"
)


def test_a_correlated_incident_is_injected_as_a_burst_and_a_crowd_over_the_same_time() -> None:
    scenario = parse_scenario(BASE + CORRELATED_LINE.format(commune="muong-ang/ang-to", camera="MA-01"))
    check_against(scenario, load_profile())
    whole, burst, crowd = scenario.anomalies[1:]
    assert (whole.kind, whole.entity_id, whole.part_of) == (CORRELATED, "muong-ang", None)
    assert (burst.kind, burst.entity_id, burst.part_of) == ("incident_burst", "muong-ang/ang-to", CORRELATED)
    assert burst.params == {"category": "public_order", "min_per_hour": 12.0}
    assert (crowd.kind, crowd.entity_id, crowd.params) == ("crowd", "MA-01", {"multiplier": 5.0})
    assert {(a.start, a.end) for a in (whole, burst, crowd)} == {(whole.start, whole.end)}


@pytest.mark.parametrize(
    ("commune", "camera", "message"),
    [
        ("tua-chua/huoi-so", "MA-01", "commune 'tua-chua/huoi-so' is not in 'muong-ang'"),
        ("muong-ang/ang-to", "TC-01", "camera 'TC-01' is not in 'muong-ang'"),
    ],
)
def test_a_correlated_incident_must_stay_in_its_district(commune: str, camera: str, message: str) -> None:
    scenario = parse_scenario(BASE + CORRELATED_LINE.format(commune=commune, camera=camera))
    with pytest.raises(ScenarioError, match=r"anomalies\[1\]\.entity") as info:
        check_against(scenario, load_profile())
    assert message in str(info.value)


def test_a_correlated_incident_names_its_commune_and_camera() -> None:
    line = "anomalies:\n  - {kind: correlated_incident, entity: muong-ang, start: 1m, duration: 1h}\n"
    with pytest.raises(ScenarioError, match=r"anomalies\[0\]\.params.*commune and camera"):
        parse_scenario(BASE + line)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("anomalies:\n  - {kind: meteor, entity: TC-01, start: 1m, duration: 1m}\n", "kind"),
        ("anomalies:\n  - {kind: crowd, entity: TC-01, start: soon, duration: 1m}\n", "anomalies[0].start"),
        ("anomalies:\n  - {kind: crowd, entity: TC-01, start: 1m, duration: 0s}\n", "anomalies[0].duration"),
        ("weather:\n  - {condition: rain, start: 0m, duration: 1h, intensity: 2}\n", "weather[0].intensity"),
        ("colour: blue\n", "colour"),
    ],
)
def test_invalid_scenarios_name_the_field(extra: str, field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(BASE + extra)
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("kind", "entity"),
    [("crowd", "XX-99"), ("incident_burst", "TC-01"), ("portal_outage", "hcc-province"), ("queue_surge", "portal")],
)
def test_entities_are_checked_against_the_profile(kind: str, entity: str) -> None:
    scenario = parse_scenario(BASE + f"anomalies:\n  - {{kind: {kind}, entity: {entity}, start: 1m, duration: 1m}}\n")
    with pytest.raises(ScenarioError, match=r"anomalies\[0\]\.entity"):
        check_against(scenario, load_profile())


def test_unknown_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="every_kind"):
        load_scenario("nope")


def test_truth_labels_every_anomaly_in_time_order() -> None:
    profile = load_profile()
    scenario = load_scenario("every_kind")
    truth = list(TruthFeed(profile, scenario).events())
    assert len(truth) == len(scenario.anomalies)
    assert [t.event_time for t in truth] == sorted(t.event_time for t in truth)
    for event in truth:
        assert decode(TRUTH, encode(event)) == event
        assert event.payload.end > event.payload.start == event.event_time
        assert event.district in profile.district_by_id or event.district == "province"
    burst = next(t for t in truth if t.payload.kind == "incident_burst")
    assert burst.district == "tua-chua" and burst.commune == "tua-chua/huoi-so"


def test_truth_leaves_out_what_the_run_cannot_show() -> None:
    profile = load_profile()
    scenario = load_scenario("every_kind")
    services_only = list(TruthFeed(profile, scenario, feeds=("services",)).events())
    assert {t.payload.kind for t in services_only} == set(ANOMALY_KINDS_BY_FEED["services"])
    one_camera = list(TruthFeed(profile, scenario, feeds=("cameras",), camera_ids=("MA-03",)).events())
    assert [(t.payload.kind, t.entity_id) for t in one_camera] == [("camera_covered", "MA-03")]
    both = ("cameras", "incidents")
    without_its_camera = list(TruthFeed(profile, scenario, feeds=both, camera_ids=("MA-03",)).events())
    assert CORRELATED not in {t.payload.kind for t in without_its_camera}
    with_it = list(TruthFeed(profile, scenario, feeds=both, camera_ids=("MA-01",)).events())
    correlated = [(t.entity_id, t.district, t.commune) for t in with_it if t.payload.kind == CORRELATED]
    assert correlated == [("muong-ang", "muong-ang", "muong-ang/muong-ang")]


def test_a_scenario_may_name_its_feeds() -> None:
    assert parse_scenario(BASE).feeds is None
    assert parse_scenario(BASE + "feeds: [services, incidents, services]\n").feeds == ("services", "incidents")
    assert load_scenario("services").feeds == ("services",)
    assert load_scenario("every_kind").feeds is None
    assert parse_scenario(BASE + "feeds: [cameras]\n").with_duration(60).feeds == ("cameras",)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("feeds: []\n", "names no feed"),
        ("feeds: [video]\n", "feeds"),
        (
            "feeds: [cameras]\nanomalies:\n  - {kind: queue_surge, entity: hcc-province, start: 0s, duration: 1h}\n",
            "leaves out services",
        ),
        (
            "feeds: [cameras]\n" + CORRELATED_LINE.format(commune="muong-ang/ang-to", camera="MA-01"),
            "leaves out incidents",
        ),
    ],
)
def test_feeds_that_leave_out_an_anomaly_are_refused(extra: str, reason: str) -> None:
    with pytest.raises(ScenarioError, match=reason):
        parse_scenario(BASE + extra)
