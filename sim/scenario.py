"""Scenarios: when a run starts, how long it lasts, its weather and the anomalies it injects.

Every injected anomaly is labelled ground truth (published as a TruthEvent),
so that detection can be scored. Scenario files are YAML; times inside a
scenario are offsets from its start (``90s``, ``20m``, ``1h30m``, ``2d``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec

from iocsim.contract import AnomalyKind
from iocsim.sim.errors import ScenarioError
from iocsim.sim.profiles import Profile

CAMERA_KINDS = frozenset(
    {"camera_offline", "camera_covered", "camera_defocused", "camera_turned", "crowd", "night_intrusion"}
)
INCIDENT_KINDS = frozenset({"incident_burst", "category_surge"})
SERVICE_KINDS = frozenset({"counter_closure", "queue_surge", "portal_outage", "processing_backlog"})
ANOMALY_KINDS_BY_FEED = {"cameras": CAMERA_KINDS, "incidents": INCIDENT_KINDS, "services": SERVICE_KINDS}
CORRELATED = "correlated_incident"
CORRELATED_FEEDS = ("incidents", "cameras")
PORTAL = "portal"
PROVINCE = "province"

DEFAULT_START = dt.datetime(2025, 5, 12, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
_SECONDS = re.compile(r"^\d+(?:\.\d+)?$")


def parse_duration(text: str | float | int, field_name: str = "duration") -> float:
    """Seconds from ``90``, ``"90"``, ``"90s"``, ``"20m"``, ``"1h30m"`` or ``"2d"``: a bare number is seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    elif _SECONDS.match(str(text).strip()):
        seconds = float(str(text).strip())
    else:
        match = _DURATION.match(str(text).strip())
        if not match or not any(match.groups()):
            raise ScenarioError(field_name, f"{text!r} is not a duration (e.g. 90 seconds, 45s, 20m, 1h30m, 2d)")
        d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = d * 86400 + h * 3600 + m * 60 + s
    if seconds < 0:
        raise ScenarioError(field_name, f"{text!r} is negative")
    return seconds


class _WeatherSpec(msgspec.Struct, forbid_unknown_fields=True):
    condition: Literal["rain", "fog"]
    start: str | float
    duration: str | float
    districts: list[str] = []
    intensity: float = 1.0


class _AnomalySpec(msgspec.Struct, forbid_unknown_fields=True):
    kind: AnomalyKind
    entity: str
    start: str | float
    duration: str | float
    params: dict[str, float | str] = {}


class _ScenarioFile(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    duration: str | float
    description: str = ""
    start: dt.datetime | None = None
    seed: int | None = None
    profile: str | None = None
    feeds: list[Literal["cameras", "incidents", "services"]] | None = None
    weather: list[_WeatherSpec] = []
    anomalies: list[_AnomalySpec] = []


@dataclass(frozen=True)
class WeatherSpell:
    condition: Literal["rain", "fog"]
    start: float
    end: float
    districts: frozenset[str]
    intensity: float

    def covers(self, district: str, t: float) -> bool:
        return self.start <= t < self.end and (not self.districts or district in self.districts)


@dataclass(frozen=True)
class Anomaly:
    """An injected anomaly on one entity over [start, end) in Unix seconds."""

    kind: str
    entity_id: str
    start: float
    end: float
    params: dict[str, float | str] = field(default_factory=dict)
    part_of: str | None = None
    """The kind of the anomaly this one is injected as a part of (see :func:`with_parts`)."""

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def number(self, name: str, default: float) -> float:
        value = self.params.get(name, default)
        return float(value)


@dataclass(frozen=True)
class Scenario:
    name: str
    start: float
    end: float
    description: str = ""
    seed: int | None = None
    profile: str | None = None
    weather_spells: tuple[WeatherSpell, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    feeds: tuple[str, ...] | None = None
    """The feeds simulated unless the run names others; None: all of them."""

    @property
    def duration(self) -> float:
        return self.end - self.start

    def anomalies_of(self, entity_id: str, kinds: frozenset[str] | None = None) -> tuple[Anomaly, ...]:
        return tuple(a for a in self.anomalies if a.entity_id == entity_id and (kinds is None or a.kind in kinds))

    def active(self, entity_id: str, t: float, kinds: frozenset[str] | None = None) -> Anomaly | None:
        for anomaly in self.anomalies:
            if anomaly.entity_id == entity_id and anomaly.active(t) and (kinds is None or anomaly.kind in kinds):
                return anomaly
        return None

    def weather(self, district: str, t: float) -> tuple[float, float]:
        """(rain, fog) intensities in [0, 1] for a district at time t."""
        rain = fog = 0.0
        for spell in self.weather_spells:
            if spell.covers(district, t):
                if spell.condition == "rain":
                    rain = max(rain, spell.intensity)
                else:
                    fog = max(fog, spell.intensity)
        return rain, fog

    def with_duration(self, seconds: float) -> Scenario:
        return replace(self, end=self.start + seconds)


def clean_scenario(duration: float, start: dt.datetime = DEFAULT_START) -> Scenario:
    """A scenario with no anomalies: the baseline a detector must stay quiet on."""
    t0 = start.timestamp()
    return Scenario(name="clean", start=t0, end=t0 + duration)


def available_scenarios() -> list[str]:
    folder = resources.files("iocsim.scenarios")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_scenario(name_or_path: str) -> Scenario:
    """Load a shipped scenario by name (``every_kind``) or a YAML file by path."""
    if name_or_path.endswith((".yaml", ".yml")):
        path = Path(name_or_path)
        if not path.is_file():
            raise ScenarioError("scenario", f"no such file: {name_or_path}")
        raw = path.read_bytes()
    else:
        resource = resources.files("iocsim.scenarios").joinpath(f"{name_or_path}.yaml")
        if not resource.is_file():
            known = ", ".join(available_scenarios())
            raise ScenarioError("scenario", f"unknown scenario {name_or_path!r}; shipped: {known}")
        raw = resource.read_bytes()
    return parse_scenario(raw, name_or_path)


def parse_scenario(raw: bytes | str, source: str = "scenario") -> Scenario:
    try:
        spec = msgspec.yaml.decode(raw, type=_ScenarioFile)
    except msgspec.ValidationError as exc:
        raise ScenarioError(source, str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ScenarioError(source, f"not valid YAML: {exc}") from exc
    start_dt = spec.start or DEFAULT_START
    if start_dt.tzinfo is None:
        raise ScenarioError(f"{source}: start", "needs a UTC offset, e.g. 2025-05-12T06:00:00+07:00")
    t0 = start_dt.timestamp()
    end = t0 + parse_duration(spec.duration, "duration")
    weather = tuple(
        WeatherSpell(
            w.condition,
            t0 + parse_duration(w.start, f"weather[{i}].start"),
            t0 + parse_duration(w.start, f"weather[{i}].start") + parse_duration(w.duration, f"weather[{i}].duration"),
            frozenset(w.districts),
            _intensity(w.intensity, f"weather[{i}].intensity"),
        )
        for i, w in enumerate(spec.weather)
    )
    anomalies: list[Anomaly] = []
    for i, a in enumerate(spec.anomalies):
        start = t0 + parse_duration(a.start, f"anomalies[{i}].start")
        length = parse_duration(a.duration, f"anomalies[{i}].duration")
        if length <= 0:
            raise ScenarioError(f"anomalies[{i}].duration", "must be positive")
        anomaly = Anomaly(a.kind, a.entity, start, start + length, dict(a.params))
        anomalies.extend(with_parts(anomaly, f"anomalies[{i}].params"))
    feeds = _feeds(spec.feeds, anomalies)
    return Scenario(spec.name, t0, end, spec.description, spec.seed, spec.profile, weather, tuple(anomalies), feeds)


def _feeds(named: Sequence[str] | None, anomalies: list[Anomaly]) -> tuple[str, ...] | None:
    """The scenario's own feeds, which must include those its anomalies are injected into."""
    if named is None:
        return None
    if not named:
        raise ScenarioError("feeds", "names no feed; leave it out to simulate all of them")
    for anomaly in anomalies:
        needed = [f for f, kinds in ANOMALY_KINDS_BY_FEED.items() if anomaly.kind in kinds]
        missing = [f for f in (CORRELATED_FEEDS if anomaly.kind == CORRELATED else needed) if f not in named]
        if missing:
            raise ScenarioError("feeds", f"leaves out {', '.join(missing)}, where its {anomaly.kind} is injected")
    return tuple(dict.fromkeys(named))


def with_parts(anomaly: Anomaly, where: str = "params") -> tuple[Anomaly, ...]:
    """The anomaly, and for a correlated incident the burst and the crowd it is made of.

    A correlated incident is what the operations centre's cross-feed rule is
    for: something happens in a district (a landslide, a fight at the market)
    and people both report it and gather where a camera sees them. It is
    injected as its parts, each labelled too (their own detectors should call
    them), over the same time: a burst of ``category`` reports (default
    ``natural_disaster``) at ``min_per_hour`` in ``commune``, and a crowd of
    ``multiplier`` times the usual people at ``camera``.
    """
    if anomaly.kind != CORRELATED:
        return (anomaly,)
    missing = [name for name in ("commune", "camera") if not isinstance(anomaly.params.get(name), str)]
    if missing:
        raise ScenarioError(where, f"{CORRELATED} needs {' and '.join(missing)} (ids in its district)")
    p = anomaly.params
    burst: dict[str, float | str] = {"category": p.get("category", "natural_disaster")}
    if "min_per_hour" in p:
        burst["min_per_hour"] = p["min_per_hour"]
    crowd: dict[str, float | str] = {"multiplier": p["multiplier"]} if "multiplier" in p else {}
    return (
        anomaly,
        Anomaly("incident_burst", str(p["commune"]), anomaly.start, anomaly.end, burst, CORRELATED),
        Anomaly("crowd", str(p["camera"]), anomaly.start, anomaly.end, crowd, CORRELATED),
    )


def _intensity(value: float, field_name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ScenarioError(field_name, f"{value} is outside [0, 1]")
    return value


def check_against(scenario: Scenario, profile: Profile) -> None:
    """Fail on an anomaly whose entity the profile does not have."""
    i = -1  # index in the scenario file, where a correlated incident's parts follow it
    for anomaly in scenario.anomalies:
        if anomaly.part_of is None:
            i += 1
        where = f"anomalies[{i}].params" if anomaly.part_of else f"anomalies[{i}].entity"
        if anomaly.kind in CAMERA_KINDS and anomaly.entity_id not in profile.camera_by_id:
            raise ScenarioError(where, f"{anomaly.kind} needs a camera id; {anomaly.entity_id!r} is not one")
        if anomaly.kind == "incident_burst" and anomaly.entity_id not in profile.commune_by_id:
            raise ScenarioError(where, f"incident_burst needs a commune id; {anomaly.entity_id!r} is not one")
        if anomaly.kind == "category_surge" and anomaly.entity_id not in profile.district_by_id:
            raise ScenarioError(where, f"category_surge needs a district id; {anomaly.entity_id!r} is not one")
        if anomaly.kind == "portal_outage" and anomaly.entity_id != PORTAL:
            raise ScenarioError(where, f"portal_outage applies to {PORTAL!r}")
        if anomaly.kind in ("counter_closure", "queue_surge") and anomaly.entity_id not in profile.office_by_id:
            raise ScenarioError(where, f"{anomaly.kind} needs an office id; {anomaly.entity_id!r} is not one")
        if anomaly.kind == "processing_backlog" and anomaly.entity_id not in {*profile.office_by_id, PORTAL}:
            raise ScenarioError(where, f"processing_backlog needs an office id or {PORTAL!r}")
        if anomaly.kind == CORRELATED:
            _check_correlated(anomaly, profile, where)
    for i, spell in enumerate(scenario.weather_spells):
        unknown = spell.districts - set(profile.district_by_id)
        if unknown:
            raise ScenarioError(f"weather[{i}].districts", f"unknown districts {sorted(unknown)}")


def _check_correlated(anomaly: Anomaly, profile: Profile, where: str) -> None:
    district = anomaly.entity_id
    if district not in profile.district_by_id:
        raise ScenarioError(where, f"{CORRELATED} needs a district id; {district!r} is not one")
    commune, camera = str(anomaly.params.get("commune")), str(anomaly.params.get("camera"))
    if profile.district_of_commune.get(commune) != district:
        raise ScenarioError(where, f"{CORRELATED}: commune {commune!r} is not in {district!r}")
    if camera not in profile.camera_by_id or profile.camera_by_id[camera].district != district:
        raise ScenarioError(where, f"{CORRELATED}: camera {camera!r} is not in {district!r}")
