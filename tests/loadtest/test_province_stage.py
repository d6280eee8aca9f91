"""Province stages: the offered rate follows the province's simulated day, scaled and sped up."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from iocsim.broker import EmbeddedBroker
from iocsim.cli import main
from iocsim.loadtest.daily_traffic import BIN_S, daily_traffic, simulate_day
from iocsim.loadtest.errors import ProfileError
from iocsim.loadtest.pool import Pool
from iocsim.loadtest.profile import LoadProfile, load_profile_file, parse_profile
from iocsim.loadtest.report import schema
from iocsim.loadtest.runner import KafkaRunSettings, run_kafka
from iocsim.loadtest.schedule import Schedule, offered_rate
from iocsim.sim.profiles import load_profile

MONDAY = dt.date(2025, 5, 12)
"""The first workday of the default (clean) scenario, which starts on Monday 12 May 2025."""


def _province(stage: dict[str, Any], scale: float = 1.0, **profile: Any) -> LoadProfile:
    return parse_profile({"scale": scale, "stages": [{"kind": "province", **stage}], **profile})


def _at(clock: str) -> float:
    hours, minutes = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + 1.0


def test_services_follow_office_hours_and_incidents_follow_the_day() -> None:
    day = _province({"feed": "all", "duration": "1d"})
    assert day.feeds == ("cameras", "incidents", "services")
    assert day.duration_s == 86_400

    def services(clock: str) -> float:
        return offered_rate(day, "services", _at(clock))

    peak = max(services(f"{h:02d}:{m:02d}") for h in range(24) for m in range(0, 60, 5))
    assert peak > 0.1
    assert services("02:00") <= 0.02 * peak
    busiest = max(range(24), key=lambda h: sum(services(f"{h:02d}:{m:02d}") for m in range(0, 60, 5)))
    assert 7 <= busiest < 17
    office = np.mean([services(f"{h:02d}:{m:02d}") for h in (8, 9, 10, 14, 15) for m in range(0, 60, 5)])
    night = np.mean([services(f"{h:02d}:{m:02d}") for h in (0, 1, 2, 3, 4) for m in range(0, 60, 5)])
    assert office > 20 * max(night, 1e-9)
    assert services("12:30") < 0.25 * office
    incidents = daily_traffic("dien_bien", 1, MONDAY).rates["incidents"]
    hourly = incidents.reshape(24, -1).sum(axis=1)
    assert hourly[8:20].sum() > 3 * hourly[[0, 1, 2, 3, 4, 5, 21, 22, 23]].sum()
    cameras = [offered_rate(day, "cameras", _at(c)) for c in ("02:00", "09:00", "21:00")]
    availability = sum(c.availability for c in load_profile("dien_bien").cameras)
    assert cameras == pytest.approx([availability / 10.0] * 3, rel=1e-12)


def test_rate_is_scale_times_speed_times_the_day_rate_at_the_sim_time() -> None:
    stage = {"feed": "services", "start_at": "07:00", "speed": 60, "duration": "4m"}
    one, twenty = _province(stage), _province(stage, scale=20)
    day = one.stages[0].day
    assert day is not None and day.date == MONDAY.isoformat()
    traffic = daily_traffic("dien_bien", 1, MONDAY)
    for t in np.arange(0.25, 240, 0.5):
        expected = 60 * traffic.rate("services", 7 * 3600 + 60 * t)
        assert offered_rate(one, "services", t) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    rates_one = [p[2] for s in one.stages for p in s.segments()]
    rates_twenty = [p[2] for s in twenty.stages for p in s.segments()]
    assert len(rates_one) == 48
    assert max(rates_one) > 0
    for a, b in zip(rates_one, rates_twenty, strict=True):
        assert b == pytest.approx(20 * a, rel=1e-12, abs=0.0)
    assert one.with_scale(20).stages == twenty.stages
    scheduled = Schedule(twenty).total()
    assert scheduled == pytest.approx(20 * traffic.rates["services"][84:132].sum() * BIN_S, abs=1)


def test_the_day_is_deterministic_seeded_cached_and_quick() -> None:
    began = time.perf_counter()
    first = simulate_day("dien_bien", 7, MONDAY)
    took = time.perf_counter() - began
    again = simulate_day("dien_bien", 7, MONDAY)
    other_seed = simulate_day("dien_bien", 8, MONDAY)
    assert took < 5.0, f"simulating the day took {took:.1f} s"
    for feed in ("cameras", "incidents", "services"):
        assert np.array_equal(first.rates[feed], again.rates[feed])
    assert not np.array_equal(first.rates["services"], other_seed.rates["services"])
    assert daily_traffic("dien_bien", 7, MONDAY) is daily_traffic("dien_bien", 7, MONDAY)
    assert first.rates["services"].sum() * BIN_S > 1000


def test_default_day_is_a_workday_of_the_scenario_and_the_day_wraps_past_midnight(tmp_path: Path) -> None:
    scenario = tmp_path / "weekend.yaml"
    scenario.write_text("name: weekend\nduration: 2d\nstart: 2025-05-17T09:00:00+07:00\nseed: 5\n")
    profile = _province({"feed": "services", "duration": 60}, scenario=str(scenario))
    day = profile.stages[0].day
    assert day is not None and day.date == "2025-05-19"
    assert profile.stages[0].as_dict()["date"] == "2025-05-19"
    saturday = _province({"feed": "services", "duration": "1d", "date": dt.date(2025, 5, 17)})
    assert saturday.stages[0].rate < 0.5 * _province({"feed": "services", "duration": "1d"}).stages[0].rate
    late = _province({"feed": "incidents", "start_at": "23:30", "speed": 3600, "duration": 2})
    traffic = daily_traffic("dien_bien", 1, MONDAY)
    assert offered_rate(late, "incidents", 1.5) == pytest.approx(3600 * traffic.rate("incidents", 3600), rel=1e-12)


def test_province_stage_validates_against_the_report_schema() -> None:
    profile = _province({"feed": "all", "start_at": "07:00", "speed": 60, "duration": "4m"}, scale=20)
    jsonschema.Draft202012Validator(
        schema()["properties"]["profile"], format_checker=jsonschema.FormatChecker()
    ).validate(profile.as_dict())
    services = profile.as_dict()["stages"][2]
    assert (services["start_at"], services["speed"], services["province"]) == ("07:00:00", 60.0, "dien_bien")
    assert services["peak_rate"] >= services["rate"] > 0


def test_example_profile_is_dien_bien_x20_for_four_minutes() -> None:
    example = Path(__file__).parents[2] / "examples" / "load" / "province-x20.yaml"
    profile = load_profile_file(example)
    assert profile.scale == 20
    assert profile.duration_s == 240
    assert {s.kind for s in profile.stages} == {"province"}
    assert profile.feeds == ("cameras", "incidents", "services")


@pytest.mark.parametrize(
    ("stage", "field"),
    [
        ({"start_at": "25:00"}, "stages[0].start_at"),
        ({"start_at": 660}, "stages[0].start_at"),
        ({"speed": 0}, "stages[0].speed"),
        ({"speed": "fast"}, "stages[0].speed"),
        ({"speed": 86400, "duration": "1h"}, "stages[0].speed"),
        ({"date": "2025-13-01"}, "stages[0].date"),
        ({"rate": 100}, "stages[0].rate"),
        ({"feed": "radio"}, "stages[0].feed"),
        ({"duration": None}, "stages[0].duration"),
    ],
)
def test_bad_province_stages_fail_naming_the_field(stage: dict[str, Any], field: str) -> None:
    raw = {"kind": "province", "feed": "services", "duration": 60, **stage}
    with pytest.raises(ProfileError) as caught:
        parse_profile({"stages": [raw]})
    assert caught.value.field == field


def test_day_keys_belong_to_province_stages_only() -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile({"stages": [{"kind": "constant", "rate": 5, "duration": 5, "start_at": "07:00"}]})
    assert caught.value.field == "stages[0].start_at"


def test_cli_rejects_a_bad_clock_time_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("stages:\n  - {kind: province, feed: all, start_at: 11:00, duration: 4m}\n")
    assert main(["load", "--profile", str(path), "--quiet"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith("iocsim load: error: stages[0].start_at:")
    assert "quote it" in error[0]


@pytest.mark.broker
def test_a_short_real_run_offers_the_province_traffic(fresh_broker: EmbeddedBroker, small_pool: Pool) -> None:
    """08:00–08:50 of the services day at speed 600 and ×5: a few hundred events/s for 5 s."""
    profile = _province({"feed": "services", "start_at": "08:00", "speed": 600, "duration": "5s"}, scale=5)
    counts = daily_traffic("dien_bien", 1, MONDAY).rates["services"] * BIN_S
    expected = 5 * counts[96:106].sum()
    assert 500 < expected < 5000
    outcome = run_kafka(KafkaRunSettings(profile=profile, bootstrap=fresh_broker.address.bootstrap), small_pool)
    assert abs(outcome.offered - expected) <= 1
    assert outcome.failed == 0
    assert abs(outcome.acked - expected) <= 0.01 * expected
    offered_per_second = [row["offered"] for row in outcome.series.rows()][:5]
    curve = [sum(5 * 600 * counts[96 + 2 * s + h] / BIN_S * 0.5 for h in (0, 1)) for s in range(5)]
    assert offered_per_second == pytest.approx(curve, abs=1.01)
