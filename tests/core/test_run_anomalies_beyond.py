"""What ``iocsim run`` says when ``--duration`` ends the run before some of the scenario's anomalies begin."""

from __future__ import annotations

from iocsim.run_command import anomalies_beyond
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import parse_scenario

SCENARIO = """
name: two-anomalies
start: 2025-05-12T08:00:00+07:00
duration: 6h
anomalies:
  - {kind: counter_closure, entity: hcc-tuan-giao, start: 5m, duration: 20m}
  - {kind: camera_covered, entity: TC-01, start: 2h, duration: 30m}
"""


def calendar() -> ProvinceCalendar:
    return ProvinceCalendar(load_profile().calendar)


def test_a_run_that_reaches_every_anomaly_says_nothing() -> None:
    scenario = parse_scenario(SCENARIO)
    assert anomalies_beyond(scenario, calendar()) is None
    assert anomalies_beyond(scenario.with_duration(2 * 3600.0 + 1.0), calendar()) is None


def test_a_shortened_run_names_the_next_anomaly_and_the_duration_that_reaches_them_all() -> None:
    scenario = parse_scenario(SCENARIO).with_duration(3600.0)
    assert anomalies_beyond(scenario, calendar()) == (
        "1 of the scenario's 2 anomalies begins after this run ends (the next at 2025-05-12 10:00 +07, 2.0 h in):"
        " --duration 3h reaches them all"
    )
