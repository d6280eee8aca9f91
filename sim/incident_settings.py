"""Tunable shapes of the citizen field-report feed, with the reasons behind each default.

The profile says how many reports a province makes in a year and in which mix;
these settings say *when* they come and how agencies handle them. Defaults are
assumptions traced to the domain brief (rainy season May–September, the hoa
ban festival in March, the 7 May anniversary, Tết, office hours) and, for the
daily rhythm, to real app-submitted citizen requests (LA MyLA311, Dec 2017:
nights carry 2–17% of the mean hourly volume, day hours 1.5–2.4×).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from iocsim.contract import INCIDENT_CATEGORIES
from iocsim.sim.errors import SimError

YEAR_SECONDS = 365.25 * 86400.0


def _frozen(values: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class Festival:
    """Days (inclusive, local calendar) when crowds come to the districts of the given kinds."""

    name: str
    month: int
    first_day: int
    last_day: int
    multipliers: Mapping[str, float]
    district_kinds: frozenset[str] = frozenset({"city"})


# Phones are most common where people live close together; remote districts lag
# (DOMAIN: coverage misses remote areas without grid power). Assumed ratios.
_REACH = {"city": 1.3, "town": 1.2, "district": 0.95}

# Reports follow people's waking day: up early in the uplands, a dip over the
# 11:30–13:30 lunch break, peaks mid-morning and late afternoon, quiet nights.
_HOURS = (
    0.15, 0.08, 0.05, 0.05, 0.10, 0.35, 0.80, 1.30, 1.70, 1.90, 1.80, 1.30,
    0.90, 1.10, 1.50, 1.80, 1.90, 1.60, 1.20, 1.00, 0.90, 0.60, 0.35, 0.20,
)  # fmt: skip


@dataclass(frozen=True)
class ArrivalShape:
    """When reports arrive, relative to the profile's yearly rate.

    ``hour_weights`` (local hours 0–23) and ``weekday_weights`` (Monday first)
    are normalised to mean 1, so they move reports around without changing the
    total. Seasonal, festival and rain factors multiply the rate of the named
    categories only: the profile rate is the ordinary dry-season level, and a
    landslide season adds reports rather than taking them from other kinds.
    """

    hour_weights: tuple[float, ...] = _HOURS
    weekday_weights: tuple[float, ...] = (1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.9)
    holiday_factor: float = 0.7
    tet_factor: float = 0.4
    tet_keywords: tuple[str, ...] = ("nguyên đán", "lunar")
    rainy_months: frozenset[int] = frozenset({5, 6, 7, 8, 9})
    rainy_season: Mapping[str, float] = field(
        default_factory=lambda: _frozen({"natural_disaster": 4.0, "infrastructure": 1.6})
    )
    rain_uplift: Mapping[str, float] = field(
        default_factory=lambda: _frozen({"natural_disaster": 5.0, "infrastructure": 1.5})
    )
    festivals: tuple[Festival, ...] = (
        Festival("hoa ban", 3, 8, 14, _frozen({"traffic": 2.5, "public_order": 2.0})),
        Festival("7 May anniversary", 5, 5, 8, _frozen({"traffic": 3.0, "public_order": 2.5})),
    )
    reach_by_district_kind: Mapping[str, float] = field(default_factory=lambda: _frozen(_REACH))

    def __post_init__(self) -> None:
        _check_weights("hour_weights", self.hour_weights, 24)
        _check_weights("weekday_weights", self.weekday_weights, 7)
        for name in ("holiday_factor", "tet_factor"):
            if getattr(self, name) < 0:
                raise SimError(f"incidents.{name}", "must not be negative")
        for name in ("rainy_season", "rain_uplift"):
            _check_categories(f"incidents.{name}", getattr(self, name))
        for i, fest in enumerate(self.festivals):
            _check_categories(f"incidents.festivals[{i}].multipliers", fest.multipliers)
            if not (1 <= fest.month <= 12 and 1 <= fest.first_day <= fest.last_day <= 31):
                raise SimError(f"incidents.festivals[{i}]", "needs month 1–12 and 1 <= first_day <= last_day <= 31")


@dataclass(frozen=True)
class CategoryHandling:
    """How long agencies may take, and whether a duty officer acts outside office hours."""

    deadline_days: float
    around_the_clock: bool


# Urgent kinds (disasters, road blocks, fights) go to duty officers at once;
# paperwork kinds wait for office hours. Deadlines are assumptions in the
# range Vietnamese field-report systems promise (1 day to 15 days for land).
_HANDLING = {
    "natural_disaster": CategoryHandling(1.0, True),
    "traffic": CategoryHandling(3.0, True),
    "public_order": CategoryHandling(3.0, True),
    "public_services": CategoryHandling(5.0, False),
    "environment": CategoryHandling(7.0, False),
    "infrastructure": CategoryHandling(7.0, False),
    "land": CategoryHandling(15.0, False),
}


@dataclass(frozen=True)
class Lifecycle:
    """Handling of a report: received → assigned → in_progress → resolved (or rejected).

    Delays are exponential with the given means; for categories not handled
    around the clock they count office time only (a report sent on Friday
    night is triaged on Monday morning). The time to resolve is lognormal,
    scaled so that ``late_share`` of reports miss their deadline, leaving
    overdue reports for a detector to find.
    """

    handling: Mapping[str, CategoryHandling] = field(default_factory=lambda: MappingProxyType(dict(_HANDLING)))
    reject_share: float = 0.04
    reject_at_received_share: float = 0.5
    late_share: float = 0.07
    resolve_sigma: float = 0.7
    urgent_assign_minutes: float = 15.0
    urgent_start_minutes: float = 40.0
    office_assign_minutes: float = 90.0
    office_start_minutes: float = 180.0
    min_work_minutes: float = 20.0

    def __post_init__(self) -> None:
        missing = sorted(set(INCIDENT_CATEGORIES) - set(self.handling))
        if missing:
            raise SimError("incidents.lifecycle.handling", f"no deadline for {missing}")
        _check_categories("incidents.lifecycle.handling", {k: h.deadline_days for k, h in self.handling.items()})
        for name in ("reject_share", "reject_at_received_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SimError(f"incidents.lifecycle.{name}", "must be in [0, 1]")
        if not 0.0 < self.late_share < 1.0:
            raise SimError("incidents.lifecycle.late_share", "must be in (0, 1)")
        if self.resolve_sigma <= 0:
            raise SimError("incidents.lifecycle.resolve_sigma", "must be positive")


@dataclass(frozen=True)
class SurgeDefaults:
    """Parameters an ``incident_burst`` or ``category_surge`` anomaly gets when its scenario omits them.

    The rate becomes ``max(usual × multiplier, usual + min_per_hour)``: the
    floor keeps a burst visible in a small commune at night, where twenty
    times almost nothing is still almost nothing. A surge spreads its floor
    over the district's communes by their usual rates.
    """

    category: str
    multiplier: float
    min_per_hour: float


@dataclass(frozen=True)
class IncidentSettings:
    """Everything the feed needs beyond profile, scenario and seed.

    Arrivals are drawn per ``bin_seconds`` bin (rates are piecewise constant
    within a bin) and ``chunk_seconds`` of bins at a time, which keeps a year
    of a whole province to a few seconds and bounded memory.
    """

    shape: ArrivalShape = field(default_factory=ArrivalShape)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    burst: SurgeDefaults = SurgeDefaults("natural_disaster", 20.0, 6.0)
    surge: SurgeDefaults = SurgeDefaults("traffic", 5.0, 6.0)
    texts: str = "incidents_vi"
    location_jitter_deg: float = 0.015
    bin_seconds: float = 300.0
    chunk_seconds: float = 86400.0

    def __post_init__(self) -> None:
        if self.bin_seconds <= 0 or self.chunk_seconds < self.bin_seconds:
            raise SimError("incidents.bin_seconds", "needs 0 < bin_seconds <= chunk_seconds")
        if self.location_jitter_deg < 0:
            raise SimError("incidents.location_jitter_deg", "must not be negative")


def _check_weights(name: str, weights: tuple[float, ...], size: int) -> None:
    if len(weights) != size or min(weights) < 0 or sum(weights) <= 0:
        raise SimError(f"incidents.{name}", f"needs {size} non-negative weights, not all zero")


def _check_categories(where: str, values: Mapping[str, float]) -> None:
    unknown = sorted(set(values) - set(INCIDENT_CATEGORIES))
    if unknown:
        raise SimError(where, f"unknown categories {unknown}; known: {', '.join(INCIDENT_CATEGORIES)}")
    if any(v < 0 for v in values.values()):
        raise SimError(where, "factors must not be negative")
