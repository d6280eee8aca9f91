"""A province's ordinary traffic over one local day, per feed, as events per second in 5-minute bins.

A ``province`` stage offers this curve (scaled, and sped up) instead of a rate the user makes up, so
"Điện Biên ×20" keeps the province's own daily shape: service counters busy in office hours and silent at
night, field reports following people's day. Services and field reports come from simulating the day
with the sim models (a clean run: no injected anomalies, no weather), after three days of warm-up so that
dossiers and reports opened before midnight still move that day. Camera observations are flat by design
(one per camera per interval unless its link drops), so their rate is counted, not rendered: the sum of
the cameras' availability over the capture interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from iocsim import contract
from iocsim.sim import simulation
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.cameras.feed import CameraSettings
from iocsim.sim.profiles import Profile, load_profile
from iocsim.sim.scenario import Scenario, clean_scenario

DAY_S = 86_400.0
BIN_S = 300.0
WARM_UP_DAYS = 3
_SIMULATED = {contract.INCIDENT_REPORTS: "incidents", contract.SERVICE_EVENTS: "services"}


@dataclass(frozen=True)
class DailyTraffic:
    """Events per second of every feed in each ``BIN_S`` bin of one local day (index 0 starts at 00:00)."""

    province: str
    seed: int
    date: dt.date
    rates: dict[str, np.ndarray]

    def rate(self, feed: str, local_s: float) -> float:
        """Events/s of ``feed`` (or ``all``) at ``local_s`` seconds after local midnight (the day repeats)."""
        bin_index = int((local_s % DAY_S) // BIN_S)
        return float(sum(self.rates[f][bin_index] for f in self.feeds_of(feed)))

    def feeds_of(self, feed: str) -> tuple[str, ...]:
        return tuple(self.rates) if feed == "all" else (feed,)

    def pieces(self, feed: str, start_at_s: float, speed: float, duration_s: float) -> list[tuple[float, float, float]]:
        """The day from ``start_at_s`` at ``speed`` sim seconds per second, as (offset_s, duration_s, events/s).

        Offsets and durations are wall seconds from the stage's start; a piece is one bin, so its rate is
        ``speed`` times the bin's. Past midnight the same day starts again.
        """
        rates = self.rates[feed]
        pieces = []
        sim = start_at_s
        sim_end = start_at_s + speed * duration_s
        while sim < sim_end - 1e-9:
            bin_start = (sim // BIN_S) * BIN_S
            upto = min(bin_start + BIN_S, sim_end)
            offset, length = (sim - start_at_s) / speed, (upto - sim) / speed
            if length > 1e-9:
                pieces.append((offset, length, speed * float(rates[int((bin_start % DAY_S) // BIN_S)])))
            sim = upto
        return pieces


def representative_day(scenario: Scenario, profile: Profile) -> dt.date:
    """The first workday (no weekend, no holiday) on or after the scenario's start, in local time."""
    calendar = ProvinceCalendar(profile.calendar)
    day = calendar.local(scenario.start).date()
    while not calendar.is_workday(day):
        day += dt.timedelta(days=1)
    return day


@lru_cache(maxsize=16)
def daily_traffic(province: str, seed: int, date: dt.date) -> DailyTraffic:
    """The day's traffic of a province profile (by name or path), simulated once per province, seed and day."""
    return simulate_day(province, seed, date)


def simulate_day(province: str, seed: int, date: dt.date) -> DailyTraffic:
    """Simulate the day (a second or two: services and field reports only) and count it in bins."""
    profile = load_profile(province)
    calendar = ProvinceCalendar(profile.calendar)
    midnight = dt.datetime.combine(date, dt.time(), calendar.zone)
    warm_up = dt.timedelta(days=WARM_UP_DAYS)
    scenario = clean_scenario(warm_up.total_seconds() + DAY_S, midnight - warm_up)
    spec = simulation.SimulationSpec(profile=profile, scenario=scenario, seed=seed, feeds=tuple(_SIMULATED.values()))
    bins = int(DAY_S // BIN_S)
    counts = {feed: np.zeros(bins, dtype=np.int64) for feed in _SIMULATED.values()}
    day_start = midnight.timestamp()
    for message in simulation.events(spec):
        offset = message.event_time - day_start
        if isinstance(message, contract.TruthEvent) or not 0.0 <= offset < DAY_S:
            continue
        counts[_SIMULATED[contract.topic_of(message)]][int(offset // BIN_S)] += 1
    camera_rate = sum(camera.availability for camera in profile.cameras) / CameraSettings().interval_seconds
    rates = {"cameras": np.full(bins, camera_rate)}
    rates.update({feed: counts[feed] / BIN_S for feed in ("incidents", "services")})
    for array in rates.values():
        array.setflags(write=False)
    return DailyTraffic(province=profile.id, seed=seed, date=date, rates=rates)


__all__ = ["BIN_S", "DAY_S", "DailyTraffic", "daily_traffic", "representative_day", "simulate_day"]
