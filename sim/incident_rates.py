"""How many citizen reports to expect, per commune and category, in each time bin.

The rate of a commune is its population times the profile's yearly rate per
person, times the share of people who carry a smartphone (more in the city,
fewer in remote districts), shaped by hour, weekday, holidays, season,
festivals and rain. Injected anomalies (``incident_burst`` on a commune,
``category_surge`` on a district; parameters ``category``, ``multiplier``,
``min_per_hour``, defaults in ``IncidentSettings``) add a separate stream on
top, so the ordinary reports of a run stay the same with or without them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from iocsim.contract import INCIDENT_CATEGORIES
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.errors import ProfileError, ScenarioError
from iocsim.sim.incident_settings import YEAR_SECONDS, ArrivalShape, SurgeDefaults
from iocsim.sim.profiles import Commune, District, Profile
from iocsim.sim.scenario import Anomaly, Scenario

FloatArray = npt.NDArray[np.float64]
CATEGORY_INDEX = {name: i for i, name in enumerate(INCIDENT_CATEGORIES)}
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Surge:
    """An injected excess of one category over a set of communes during [start, end)."""

    index: int
    kind: str
    entity_id: str
    start: float
    end: float
    communes: npt.NDArray[np.intp]
    districts: npt.NDArray[np.intp]
    base: FloatArray
    category: int
    multiplier: float
    min_per_second: float
    floor_share: FloatArray

    def extra(
        self, edges: FloatArray, lengths: FloatArray, factors: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Expected extra reports per bin and member commune, and the part of each bin the surge covers.

        ``factors`` are ``ArrivalModel.factors`` of the bins.
        """
        lo = np.maximum(edges, self.start)
        hi = np.minimum(edges + lengths, self.end)
        covered = np.clip(hi - lo, 0.0, None)
        base = factors[:, self.districts, self.category] * self.base
        target = np.maximum(base * self.multiplier, base + self.min_per_second * self.floor_share)
        return (target - base) * covered[:, None], lo, hi


class ArrivalModel:
    """Report intensity (reports per second) of every commune and category over time."""

    def __init__(
        self,
        profile: Profile,
        scenario: Scenario,
        shape: ArrivalShape,
        calendar: ProvinceCalendar,
        defaults: tuple[SurgeDefaults, SurgeDefaults],
    ) -> None:
        self.shape = shape
        self.calendar = calendar
        self.districts: list[District] = list(profile.districts)
        self.communes: list[Commune] = [c for d in profile.districts for c in d.communes]
        self.district_of: list[District] = [d for d in profile.districts for _ in d.communes]
        self.district_index = np.array([j for j, d in enumerate(self.districts) for _ in d.communes], dtype=np.intp)
        self.mix = _category_mix(profile)
        share = profile.incidents.smartphone_share
        reach = np.array([min(1.0, share * shape.reach_by_district_kind.get(d.kind, 1.0)) for d in self.district_of])
        population = np.array([c.population for c in self.communes], dtype=np.float64)
        self.base = population * profile.incidents.reports_per_1000_people_per_year / 1000.0 / YEAR_SECONDS * reach
        hours = np.asarray(shape.hour_weights, dtype=np.float64)
        self._hours = hours / hours.mean()
        weekdays = np.asarray(shape.weekday_weights, dtype=np.float64)
        self._weekdays = weekdays / weekdays.mean()
        self._rain_uplift = _per_category(shape.rain_uplift, 0.0)
        self._spells = [w for w in scenario.weather_spells if w.condition == "rain"]
        self.surges = _surges(scenario, self, *defaults)

    def factors(self, times: FloatArray) -> FloatArray:
        """Rate factors at the given times, shape (times, districts, categories).

        A commune's rate in reports per second is ``base[commune]`` times the
        factors of its district: keeping communes out of this array makes a
        chunk of a province a few small arrays instead of one large one.
        """
        offset = self.calendar.local(float(times[0])).utcoffset() or dt.timedelta()
        local = times + offset.total_seconds()
        hour = self._hours[(np.floor(local / 3600.0) % 24).astype(np.intp)]
        day_number = np.floor(local / 86400.0).astype(np.int64)
        days, day_of_bin = np.unique(day_number, return_inverse=True)
        dates = [_EPOCH + dt.timedelta(days=int(n)) for n in days]
        common = (
            (hour * np.array([self._day_factor(d) for d in dates])[day_of_bin])[:, None]
            * np.array([self._season(d) for d in dates])[day_of_bin]
            * self.mix
        )
        festival = np.array([[self._festival(d, dist.kind) for dist in self.districts] for d in dates])[day_of_bin]
        district_mod = festival * (1.0 + self._rain(times)[:, :, None] * self._rain_uplift)
        factors: FloatArray = common[:, None, :] * district_mod
        return factors

    def _day_factor(self, day: dt.date) -> float:
        factor = float(self._weekdays[day.weekday()])
        holiday = self.calendar.holiday(day)
        if holiday is None:
            return factor
        is_tet = any(word in holiday.casefold() for word in self.shape.tet_keywords)
        return factor * (self.shape.tet_factor if is_tet else self.shape.holiday_factor)

    def _season(self, day: dt.date) -> FloatArray:
        if day.month in self.shape.rainy_months:
            return _per_category(self.shape.rainy_season, 1.0)
        return np.ones(len(INCIDENT_CATEGORIES))

    def _festival(self, day: dt.date, kind: str) -> FloatArray:
        factor = np.ones(len(INCIDENT_CATEGORIES))
        for fest in self.shape.festivals:
            if kind in fest.district_kinds and day.month == fest.month and fest.first_day <= day.day <= fest.last_day:
                factor *= _per_category(fest.multipliers, 1.0)
        return factor

    def _rain(self, times: FloatArray) -> FloatArray:
        rain = np.zeros((times.size, len(self.districts)))
        for spell in self._spells:
            inside = (times >= spell.start) & (times < spell.end)
            if not inside.any():
                continue
            for j, district in enumerate(self.districts):
                if not spell.districts or district.id in spell.districts:
                    rain[inside, j] = np.maximum(rain[inside, j], spell.intensity)
        return rain


def _per_category(values: Mapping[str, float], default: float) -> FloatArray:
    return np.array([float(values.get(k, default)) for k in INCIDENT_CATEGORIES])


def _category_mix(profile: Profile) -> FloatArray:
    weights = profile.incidents.category_weights
    unknown = sorted(set(weights) - set(INCIDENT_CATEGORIES))
    if unknown:
        raise ProfileError(
            f"{profile.id}.incidents.category_weights",
            f"unknown categories {unknown}; known: {', '.join(INCIDENT_CATEGORIES)}",
        )
    mix = np.array([float(weights.get(k, 0.0)) for k in INCIDENT_CATEGORIES])
    return np.asarray(mix / mix.sum(), dtype=np.float64)


def _surges(scenario: Scenario, model: ArrivalModel, burst: SurgeDefaults, surge: SurgeDefaults) -> tuple[Surge, ...]:
    surges = []
    for i, anomaly in enumerate(scenario.anomalies):
        if anomaly.kind not in ("incident_burst", "category_surge"):
            continue
        where = f"anomalies[{i}]"
        members = _members(anomaly, model, where)
        defaults = burst if anomaly.kind == "incident_burst" else surge
        category = str(anomaly.params.get("category", defaults.category))
        if category not in CATEGORY_INDEX:
            known = ", ".join(INCIDENT_CATEGORIES)
            raise ScenarioError(f"{where}.params.category", f"{category!r} is not one of {known}")
        multiplier = _positive(anomaly.params.get("multiplier", defaults.multiplier), f"{where}.params.multiplier")
        per_hour = _positive(anomaly.params.get("min_per_hour", defaults.min_per_hour), f"{where}.params.min_per_hour")
        base = model.base[members]
        share = base / base.sum() if base.sum() > 0 else np.full(members.size, 1.0 / max(members.size, 1))
        surges.append(
            Surge(i, anomaly.kind, anomaly.entity_id, anomaly.start, anomaly.end, members,
                  model.district_index[members], base, CATEGORY_INDEX[category], multiplier, per_hour / 3600.0, share)
        )  # fmt: skip
    return tuple(surges)


def _members(anomaly: Anomaly, model: ArrivalModel, where: str) -> npt.NDArray[np.intp]:
    """Indices of the communes an anomaly covers: its commune, or every commune of its district."""
    if anomaly.kind == "incident_burst":
        ids = [c.id for c in model.communes]
        if anomaly.entity_id not in ids:
            raise ScenarioError(f"{where}.entity", f"incident_burst needs a commune id, not {anomaly.entity_id!r}")
        return np.array([ids.index(anomaly.entity_id)], dtype=np.intp)
    ids = [d.id for d in model.districts]
    if anomaly.entity_id not in ids:
        raise ScenarioError(f"{where}.entity", f"category_surge needs a district id, not {anomaly.entity_id!r}")
    return np.flatnonzero(model.district_index == ids.index(anomaly.entity_id))


def _positive(value: float | str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ScenarioError(where, f"{value!r} is not a number") from None
    if number < 0:
        raise ScenarioError(where, f"{number} is negative")
    return number
