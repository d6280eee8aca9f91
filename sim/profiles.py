"""Province profiles: the facts a simulation runs on, kept as YAML data.

A profile names the province's districts and communes, its cameras, its
one-stop-shop offices, its public-service volumes and its calendar. Every
default traces to the domain brief; the files in ``profiles/`` say where each
number comes from. Loading validates types and cross-references and reports
the field at fault.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from iocsim.contract import INCIDENT_CATEGORIES
from iocsim.sim.errors import ProfileError

DEFAULT_PROFILE = "dien_bien"

SceneType: TypeAlias = Literal[
    "market",
    "crossroads",
    "school_gate",
    "bridge",
    "commune_office",
    "border_road",
    "bus_station",
    "square",
]
SCENE_TYPES: tuple[str, ...] = SceneType.__args__  # type: ignore[attr-defined]

Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Positive = Annotated[float, msgspec.Meta(gt=0.0)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Commune(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str
    population: Annotated[int, msgspec.Meta(ge=0)]
    lat: Latitude
    lon: Longitude


class District(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str
    kind: Literal["city", "town", "district"]
    lat: Latitude
    lon: Longitude
    communes: list[Commune]

    @property
    def population(self) -> int:
        return sum(c.population for c in self.communes)


class Camera(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``availability`` is the share of intervals the camera's link delivers."""

    id: str
    district: str
    commune: str
    lat: Latitude
    lon: Longitude
    scene: SceneType
    availability: Fraction


class Office(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A one-stop-shop centre; ``district`` is None for the provincial centre."""

    id: str
    name: str
    district: str | None
    counters: Annotated[int, msgspec.Meta(ge=1)]
    share: Fraction


class ServiceType(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A kind of procedure: its share of dossiers and its legal processing time."""

    id: str
    name: str
    share: Fraction
    processing_days: Positive
    counter_minutes: Positive


class Services(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    dossiers_per_year: Annotated[int, msgspec.Meta(gt=0)]
    online_share: Fraction
    on_time_target: Fraction
    service_types: list[ServiceType]


class Incidents(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Citizen report volume and mix; ``smartphone_share`` scales who can report."""

    reports_per_1000_people_per_year: Positive
    smartphone_share: Fraction
    category_weights: dict[str, Positive]


class Holiday(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    start: dt.date
    end: dt.date


class Calendar(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    timezone: str
    office_hours: list[tuple[ClockTime, ClockTime]]
    workdays: list[Annotated[int, msgspec.Meta(ge=0, le=6)]]
    holidays: list[Holiday]


class Profile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, dict=True):
    id: str
    name: str
    sources: list[str]
    network_coverage: Fraction
    districts: list[District]
    cameras: list[Camera]
    offices: list[Office]
    services: Services
    incidents: Incidents
    calendar: Calendar

    @cached_property
    def district_by_id(self) -> dict[str, District]:
        return {d.id: d for d in self.districts}

    @cached_property
    def commune_by_id(self) -> dict[str, Commune]:
        return {c.id: c for d in self.districts for c in d.communes}

    @cached_property
    def district_of_commune(self) -> dict[str, str]:
        return {c.id: d.id for d in self.districts for c in d.communes}

    @cached_property
    def camera_by_id(self) -> dict[str, Camera]:
        return {c.id: c for c in self.cameras}

    @cached_property
    def office_by_id(self) -> dict[str, Office]:
        return {o.id: o for o in self.offices}

    @property
    def population(self) -> int:
        return sum(d.population for d in self.districts)


def available_profiles() -> list[str]:
    folder = resources.files("iocsim.sim").joinpath("profiles")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str = DEFAULT_PROFILE) -> Profile:
    """Load a packaged profile by name (``dien_bien``) or any YAML file by path."""
    if name_or_path.endswith((".yaml", ".yml")):
        path = Path(name_or_path)
        if not path.is_file():
            raise ProfileError("profile", f"no such file: {name_or_path}")
        text = path.read_bytes()
        label = path.stem
    else:
        resource = resources.files("iocsim.sim").joinpath("profiles", f"{name_or_path}.yaml")
        if not resource.is_file():
            raise ProfileError("profile", f"unknown profile {name_or_path!r}; known: {', '.join(available_profiles())}")
        text = resource.read_bytes()
        label = name_or_path
    try:
        profile = msgspec.yaml.decode(text, type=Profile)
    except msgspec.ValidationError as exc:
        raise _validation_error(label, str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ProfileError(f"profile {name_or_path}", f"not valid YAML: {exc}") from exc
    _check_references(profile)
    return profile


_AT_PATH = re.compile(r" - at `\$(.*)`$")


def _validation_error(label: str, message: str) -> ProfileError:
    """Turn msgspec's ``... - at `$.cameras[3].scene``` into a field name a reader can find."""
    match = _AT_PATH.search(message)
    if match is None:
        return ProfileError(f"profile {label}", message)
    return ProfileError(f"{label}{match.group(1)}", message[: match.start()])


def _check_references(profile: Profile) -> None:
    _check_unique_ids(profile)
    _check_cameras(profile)
    _check_offices(profile)
    _check_shares(profile)
    _check_incidents(profile)
    _check_calendar(profile)


def _check_unique_ids(profile: Profile) -> None:
    for field, ids in (
        ("districts", [d.id for d in profile.districts]),
        ("communes", [c.id for d in profile.districts for c in d.communes]),
        ("cameras", [c.id for c in profile.cameras]),
        ("offices", [o.id for o in profile.offices]),
        ("services.service_types", [s.id for s in profile.services.service_types]),
    ):
        if len(ids) != len(set(ids)):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ProfileError(f"{profile.id}.{field}", f"duplicate ids {dupes}")


def _check_cameras(profile: Profile) -> None:
    districts = profile.district_by_id
    communes = profile.district_of_commune
    for i, cam in enumerate(profile.cameras):
        if cam.district not in districts:
            raise ProfileError(f"{profile.id}.cameras[{i}].district", f"unknown district {cam.district!r}")
        if communes.get(cam.commune) != cam.district:
            raise ProfileError(
                f"{profile.id}.cameras[{i}].commune", f"{cam.commune!r} is not a commune of {cam.district}"
            )


def _check_offices(profile: Profile) -> None:
    """One office per district (and one provincial centre), so a district's counter traffic has one home."""
    seen: dict[str | None, str] = {}
    for i, office in enumerate(profile.offices):
        if office.district is not None and office.district not in profile.district_by_id:
            raise ProfileError(f"{profile.id}.offices[{i}].district", f"unknown district {office.district!r}")
        if office.district in seen:
            where = "the province" if office.district is None else office.district
            raise ProfileError(
                f"{profile.id}.offices[{i}].district", f"{where} already has office {seen[office.district]!r}"
            )
        seen[office.district] = office.id


def _check_shares(profile: Profile) -> None:
    for field, shares in (
        ("offices", [o.share for o in profile.offices]),
        ("services.service_types", [s.share for s in profile.services.service_types]),
    ):
        total = sum(shares)
        if abs(total - 1.0) > 1e-6:
            raise ProfileError(f"{profile.id}.{field}", f"shares sum to {total:.4f}, not 1")


def _check_incidents(profile: Profile) -> None:
    keys = set(profile.incidents.category_weights)
    missing = sorted(set(INCIDENT_CATEGORIES) - keys)
    unknown = sorted(keys - set(INCIDENT_CATEGORIES))
    if missing or unknown:
        raise ProfileError(
            f"{profile.id}.incidents.category_weights",
            f"keys must be exactly {list(INCIDENT_CATEGORIES)}; missing {missing}, unknown {unknown}",
        )


def _check_calendar(profile: Profile) -> None:
    calendar = profile.calendar
    try:
        ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProfileError(f"{profile.id}.calendar.timezone", f"unknown time zone {calendar.timezone!r}") from exc
    previous_end = ""
    for i, (start, end) in enumerate(calendar.office_hours):
        if not previous_end <= start < end:
            raise ProfileError(
                f"{profile.id}.calendar.office_hours[{i}]", f"{start}-{end} is empty, reversed or overlaps the previous"
            )
        previous_end = end
    for i, holiday in enumerate(calendar.holidays):
        if holiday.start > holiday.end:
            raise ProfileError(
                f"{profile.id}.calendar.holidays[{i}]",
                f"{holiday.name}: start {holiday.start} is after end {holiday.end}",
            )
