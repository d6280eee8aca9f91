"""How many reports a commune or district should send: a profile prior, corrected by what it sent.

An operations centre knows its population: a commune's prior rate is its
share of the province's configured yearly rate (people times reports per
person, times the smartphone share that limits who can report), split by the
profile's category mix and shaped over the local day. From the first report
on, the rate is corrected empirically (Gamma–Poisson, the conjugate pair for
counts): with ``n`` reports seen where the prior expected ``e`` (both decayed
with a memory of ``memory_days``), the correction is ``(a + n) / (a + e)``,
first per category (``a = strength``), then per hour of the week
(``a = hour_strength``). With few reports the prior dominates, as it should:
a commune that sends a report a week cannot teach anyone its Tuesday-night rate.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from iocsim.contract import INCIDENT_CATEGORIES
from iocsim.sim.profiles import Profile
from iocsim.streams.detectors.incident_settings import LearningSettings
from iocsim.streams.errors import StateError

FloatArray = npt.NDArray[np.float64]
CATEGORY_INDEX: Mapping[str, int] = {name: i for i, name in enumerate(INCIDENT_CATEGORIES)}
YEAR_SECONDS = 365.25 * 86400.0
HOURS_PER_WEEK = 168
_PRUNE_BELOW = 1e-2


class WeekHours:
    """Splits sim time into local clock hours (hour of week, Monday 00:00 first)."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self._hours: dict[int, tuple[float, int]] = {}

    def _local(self, t: float) -> tuple[float, int]:
        """(UTC offset in seconds, local month) of the UTC hour holding ``t``."""
        hour = math.floor(t / 3600.0)
        cached = self._hours.get(hour)
        if cached is None:
            if len(self._hours) > 50_000:
                self._hours.clear()
            local = dt.datetime.fromtimestamp(hour * 3600.0, self.zone)
            delta = local.utcoffset() or dt.timedelta()
            cached = self._hours[hour] = (delta.total_seconds(), local.month)
        return cached

    def offset(self, t: float) -> float:
        return self._local(t)[0]

    def month(self, t: float) -> int:
        return self._local(t)[1]

    def hour_of_week(self, t: float) -> int:
        local = t + self.offset(t)
        day = math.floor(local / 86400.0)
        return ((day + 3) % 7) * 24 + math.floor(local / 3600.0) % 24  # 1970-01-01 was a Thursday

    def pieces(self, start: float, end: float) -> Iterator[tuple[int, float]]:
        """(hour of week, seconds) for each local hour overlapping [start, end)."""
        t = start
        while t < end:
            offset = self.offset(t)
            hour_end = (math.floor((t + offset) / 3600.0) + 1) * 3600.0 - offset
            stop = min(end, hour_end)
            yield self.hour_of_week(t), stop - t
            t = stop


class ProfilePrior:
    """Prior report rates (per second, per category) of every commune and district of a profile.

    Reports from a commune or district the profile does not know get the rate
    of a median commune (or the mean district), so foreign producers are
    still judged, conservatively.
    """

    def __init__(self, profile: Profile, learning: LearningSettings) -> None:
        incidents = profile.incidents
        weights = incidents.category_weights
        floor = min(weights.values()) if weights else 1.0
        mix = np.array([float(weights.get(k, floor)) for k in INCIDENT_CATEGORIES])
        self.mix: FloatArray = mix / mix.sum()
        per_person = incidents.reports_per_1000_people_per_year / 1000.0 / YEAR_SECONDS * incidents.smartphone_share
        self._communes: dict[str, FloatArray] = {}
        self._districts: dict[str, FloatArray] = {}
        self.district_of: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for district in profile.districts:
            total = np.zeros(len(INCIDENT_CATEGORIES))
            for commune in district.communes:
                people = max(commune.population, learning.min_population)
                self._communes[commune.id] = rate = people * per_person * self.mix
                total = total + rate
                self.district_of[commune.id] = district.id
                self.names[commune.id] = commune.name
            self._districts[district.id] = total
            self.names[district.id] = district.name
        sizes = sorted(max(c.population, learning.min_population) for d in profile.districts for c in d.communes)
        median = sizes[len(sizes) // 2] if sizes else learning.min_population
        self._default_commune: FloatArray = median * per_person * self.mix
        self._default_district: FloatArray = (
            np.mean(list(self._districts.values()), axis=0) if self._districts else self._default_commune
        )

    def commune(self, commune_id: str) -> FloatArray:
        return self._communes.get(commune_id, self._default_commune)

    def district(self, district_id: str) -> FloatArray:
        return self._districts.get(district_id, self._default_district)

    def name(self, entity_id: str) -> str:
        return self.names.get(entity_id, entity_id)


@dataclass
class LearnedRates:
    """Decayed report counts per category and hour of week, for one commune or district.

    ``cells[k][how]`` is the count at reference time ``ref``; a report at time
    ``t`` adds ``exp((t - ref) / memory)``, so the order of arrival does not
    matter and old reports fade without being touched.
    """

    since: float
    ref: float
    cells: dict[int, dict[int, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rows = [
            [INCIDENT_CATEGORIES[k], how, value]
            for k in sorted(self.cells)
            for how, value in sorted(self.cells[k].items())
        ]
        return {"since": self.since, "ref": self.ref, "cells": rows}

    @classmethod
    def from_dict(cls, where: str, data: Mapping[str, Any]) -> LearnedRates:
        try:
            learned = cls(since=float(data["since"]), ref=float(data["ref"]))
            for category, how, value in data["cells"]:
                if category not in CATEGORY_INDEX:
                    raise StateError(f"{where}.cells", f"unknown category {category!r}")
                if not 0 <= int(how) < HOURS_PER_WEEK or float(value) < 0:
                    raise StateError(f"{where}.cells", f"bad cell {[category, how, value]!r}")
                learned.cells.setdefault(CATEGORY_INDEX[category], {})[int(how)] = float(value)
        except KeyError as exc:
            raise StateError(f"{where}.{exc.args[0]}", "missing") from exc
        except (TypeError, ValueError) as exc:
            raise StateError(where, str(exc)) from exc
        return learned


class RateModel:
    """Expected counts in a window, from a prior rate and what a key has learned."""

    def __init__(self, learning: LearningSettings, hours: WeekHours) -> None:
        self.learning = learning
        self.hours = hours
        self.memory = learning.memory_seconds
        self.shape = learning.hour_shape
        season = np.ones(len(INCIDENT_CATEGORIES))
        for name, factor in learning.rainy_season.items():
            season[CATEGORY_INDEX[name]] = factor
        self._rainy: FloatArray = season
        self._dry: FloatArray = np.ones(len(INCIDENT_CATEGORIES))

    def season(self, t: float) -> FloatArray:
        """Prior multipliers per category for the month of ``t``."""
        return self._rainy if self.hours.month(t) in self.learning.rainy_months else self._dry

    def learn(self, learned: LearnedRates, category: int, t: float) -> None:
        """Count one report of ``category`` at ``t``."""
        if t - learned.ref > self.memory:
            self._rebase(learned, t)
        learned.since = min(learned.since, t)
        cells = learned.cells.setdefault(category, {})
        how = self.hours.hour_of_week(t)
        cells[how] = cells.get(how, 0.0) + math.exp((t - learned.ref) / self.memory)

    def expected(
        self, learned: LearnedRates, base: float, category: int, end: float, windows: Sequence[float]
    ) -> list[float]:
        """Reports of ``category`` expected in each window ending at ``end``, for a prior rate ``base`` per second."""
        longest = max(windows)
        if base <= 0.0 or longest <= 0.0:
            return [0.0 for _ in windows]
        exposure = self.memory * -math.expm1(-max(end - learned.since, 0.0) / self.memory)
        decay = math.exp(-(end - learned.ref) / self.memory)
        cells = learned.cells.get(category, {})
        seen = sum(cells.values()) * decay
        s = self.learning
        theta = (s.strength + seen) / (s.strength + base * exposure)
        per_hour_exposure = base * theta * exposure / HOURS_PER_WEEK
        pieces = []
        start = end - longest
        for how, seconds in self.hours.pieces(start, end):
            shape = self.shape[how % 24]
            phi = (s.hour_strength + cells.get(how, 0.0) * decay) / (s.hour_strength + per_hour_exposure * shape)
            pieces.append((start, start + seconds, shape * phi))
            start += seconds
        scale = base * theta
        return [scale * sum(r * max(0.0, b - max(a, end - w)) for a, b, r in pieces) for w in windows]

    def _rebase(self, learned: LearnedRates, t: float) -> None:
        """Move the reference time to ``t`` and drop cells that have faded away (bounds the state)."""
        factor = math.exp(-(t - learned.ref) / self.memory)
        for k in list(learned.cells):
            kept = {how: v * factor for how, v in learned.cells[k].items() if v * factor >= _PRUNE_BELOW}
            if kept:
                learned.cells[k] = kept
            else:
                del learned.cells[k]
        learned.ref = t
