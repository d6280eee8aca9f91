"""The shipped province profiles hold the domain facts, and broken profiles name their fault."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from iocsim.contract import INCIDENT_CATEGORIES
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.errors import ProfileError
from iocsim.sim.profiles import DEFAULT_PROFILE, Profile, available_profiles, load_profile

SHIPPED = {"dien_bien", "ha_giang", "bac_kan"}
CAMERA_DISTRICTS = {"tua-chua", "muong-ang", "muong-nhe", "dien-bien-dong"}
DIEN_BIEN_DISTRICTS = {
    "dien-bien-phu",
    "muong-lay",
    "dien-bien",
    "dien-bien-dong",
    "muong-ang",
    "muong-cha",
    "muong-nhe",
    "nam-po",
    "tua-chua",
    "tuan-giao",
}
# (lat_min, lat_max, lon_min, lon_max), generous around each province
BOUNDS = {
    "dien_bien": (20.8, 22.6, 102.1, 103.7),
    "ha_giang": (22.1, 23.45, 104.3, 105.65),
    "bac_kan": (21.7, 22.8, 105.4, 106.3),
}


@pytest.fixture(scope="module")
def dien_bien() -> Profile:
    return load_profile("dien_bien")


def weighted_availability(profile: Profile) -> float:
    """Mean camera availability, each camera weighted by the population of its commune."""
    weights = [profile.commune_by_id[c.commune].population for c in profile.cameras]
    return sum(w * c.availability for w, c in zip(weights, profile.cameras, strict=True)) / sum(weights)


# --- every shipped profile ------------------------------------------------------


def test_shipped_profiles_are_listed() -> None:
    assert set(available_profiles()) == SHIPPED
    assert DEFAULT_PROFILE == "dien_bien"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_profile_is_consistent(name: str) -> None:
    profile = load_profile(name)
    assert profile.id == name
    assert profile.sources
    lat_min, lat_max, lon_min, lon_max = BOUNDS[name]
    places = [
        *((d.lat, d.lon) for d in profile.districts),
        *((c.lat, c.lon) for c in profile.commune_by_id.values()),
        *((c.lat, c.lon) for c in profile.cameras),
    ]
    for lat, lon in places:
        assert lat_min <= lat <= lat_max and lon_min <= lon <= lon_max, (lat, lon)
    for district in profile.districts:
        assert len(district.communes) >= 3, district.id
        assert all(c.id.startswith(f"{district.id}/") and c.id.isascii() for c in district.communes)
        assert all(c.population > 0 for c in district.communes)
    for cam in profile.cameras:
        assert profile.district_of_commune[cam.commune] == cam.district
        assert 0.5 <= cam.availability <= 0.995
    assert weighted_availability(profile) == pytest.approx(profile.network_coverage, abs=0.01)
    assert set(profile.incidents.category_weights) == set(INCIDENT_CATEGORIES)
    offices = {o.district for o in profile.offices}
    assert offices == {None, *profile.district_by_id}
    province = profile.office_by_id["hcc-province"]
    assert province.district is None
    assert all(2 <= o.counters <= province.counters <= 10 for o in profile.offices)
    assert 6 <= len(profile.services.service_types) <= 8
    assert all(5 <= s.counter_minutes <= 25 for s in profile.services.service_types)
    assert profile.calendar.timezone == "Asia/Ho_Chi_Minh"


# --- Điện Biên facts -------------------------------------------------------------


def test_dien_bien_units(dien_bien: Profile) -> None:
    assert set(dien_bien.district_by_id) == DIEN_BIEN_DISTRICTS
    assert len(dien_bien.commune_by_id) == 129
    assert dien_bien.district_by_id["dien-bien-phu"].kind == "city"
    assert dien_bien.district_by_id["muong-lay"].kind == "town"
    assert 580_000 <= dien_bien.population <= 660_000


def test_dien_bien_cameras(dien_bien: Profile) -> None:
    assert len(dien_bien.cameras) == 61
    per_district: dict[str, list[float]] = defaultdict(list)
    for cam in dien_bien.cameras:
        per_district[cam.district].append(cam.availability)
    assert set(per_district) == CAMERA_DISTRICTS
    assert all(13 <= len(v) <= 18 for v in per_district.values())
    assert {c.district for c in dien_bien.cameras if c.scene == "border_road"} == {"muong-nhe"}
    assert weighted_availability(dien_bien) == pytest.approx(0.945, abs=0.01)
    means = {d: sum(v) / len(v) for d, v in per_district.items()}
    assert min(means, key=means.__getitem__) == "muong-nhe"


def test_dien_bien_towns_have_the_best_links(dien_bien: Profile) -> None:
    for district in CAMERA_DISTRICTS:
        cams = [c for c in dien_bien.cameras if c.district == district]
        seat = max(cams, key=lambda c: dien_bien.commune_by_id[c.commune].population).commune
        in_town = [c.availability for c in cams if c.commune == seat]
        outside = [c.availability for c in cams if c.commune != seat]
        assert min(in_town) > sum(outside) / len(outside), district


def test_dien_bien_services_and_incidents(dien_bien: Profile) -> None:
    assert dien_bien.network_coverage == 0.945
    services = dien_bien.services
    assert (services.dossiers_per_year, services.online_share, services.on_time_target) == (140_000, 0.53, 0.96)
    processing = {s.id: s.processing_days for s in services.service_types}
    assert 1 <= processing["civil_status"] <= 3
    assert 10 <= processing["land"] <= 30
    assert dien_bien.incidents.smartphone_share == 0.68
    assert 5 <= dien_bien.incidents.reports_per_1000_people_per_year <= 30


def test_dien_bien_calendar(dien_bien: Profile) -> None:
    calendar = ProvinceCalendar(dien_bien.calendar)
    assert calendar.holiday(dt.date(2025, 1, 29)) is not None  # Tết 2025
    assert calendar.holiday(dt.date(2026, 2, 17)) is not None  # Tết 2026
    assert calendar.holiday(dt.date(2025, 9, 2)) is not None
    assert calendar.is_workday(dt.date(2025, 5, 12))
    monday_9am = dt.datetime(2025, 5, 12, 9, 0, tzinfo=calendar.zone).timestamp()
    assert calendar.is_office_open(monday_9am)
    assert not calendar.is_office_open(monday_9am + 3 * 3600)  # 12:00, lunch break
    years = {h.start.year for h in dien_bien.calendar.holidays}
    assert years == {2024, 2025, 2026, 2027}


def test_alternative_profiles_facts() -> None:
    ha_giang, bac_kan = load_profile("ha_giang"), load_profile("bac_kan")
    assert len(ha_giang.districts) == 11 and len(bac_kan.districts) == 8
    assert ha_giang.network_coverage == 0.986 and ha_giang.services.online_share == 0.6638
    assert bac_kan.network_coverage == 0.99
    for profile in (ha_giang, bac_kan):
        camera_districts = {c.district for c in profile.cameras}
        assert 2 <= len(camera_districts) < len(profile.districts)


# --- broken profiles --------------------------------------------------------------


@pytest.fixture(scope="module")
def dien_bien_text() -> str:
    return resources.files("iocsim.sim").joinpath("profiles", "dien_bien.yaml").read_text(encoding="utf-8")


@pytest.fixture
def write_variant(tmp_path: Path, dien_bien_text: str) -> Callable[[Callable[[dict[str, Any]], None]], str]:
    """Writes the default profile, changed in memory, to a file and returns its path."""

    def write(change: Callable[[dict[str, Any]], None]) -> str:
        data = yaml.load(dien_bien_text, Loader=yaml.CSafeLoader)
        change(data)
        path = tmp_path / "dien_bien.yaml"
        text = yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


Variant = Callable[[Callable[[dict[str, Any]], None]], str]


def test_unmodified_variant_loads(write_variant: Variant) -> None:
    assert load_profile(write_variant(lambda d: None)) == load_profile("dien_bien")


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _duplicate_camera(data: dict[str, Any]) -> None:
    data["cameras"][1]["id"] = data["cameras"][0]["id"]


def _second_office_for_a_district(data: dict[str, Any]) -> None:
    data["offices"][2]["district"] = data["offices"][1]["district"]


def _drop_category(data: dict[str, Any]) -> None:
    del data["incidents"]["category_weights"]["land"]


def _rename_category(data: dict[str, Any]) -> None:
    weights = data["incidents"]["category_weights"]
    weights["noise"] = weights.pop("environment")


def _scale_service_shares(data: dict[str, Any]) -> None:
    for service in data["services"]["service_types"]:
        service["share"] *= 0.9


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set("cameras.0.district", "lai-chau"), "dien_bien.cameras[0].district"),
        (_set("cameras.0.commune", "tuan-giao/ta-ma"), "dien_bien.cameras[0].commune"),
        (_duplicate_camera, "dien_bien.cameras"),
        (_set("districts.1.id", "dien-bien-phu"), "dien_bien.districts"),
        (_set("offices.3.district", "son-la"), "dien_bien.offices[3].district"),
        (_second_office_for_a_district, "dien_bien.offices[2].district"),
        (_set("offices.0.share", 0.5), "dien_bien.offices"),
        (_scale_service_shares, "dien_bien.services.service_types"),
        (_drop_category, "dien_bien.incidents.category_weights"),
        (_rename_category, "dien_bien.incidents.category_weights"),
        (_set("calendar.timezone", "Asia/Dien_Bien"), "dien_bien.calendar.timezone"),
        (_set("calendar.holidays.0.end", dt.date(2023, 12, 31)), "dien_bien.calendar.holidays[0]"),
        (_set("calendar.office_hours.1", ["11:00", "17:00"]), "dien_bien.calendar.office_hours[1]"),
        (_set("cameras.0.scene", "beach"), "dien_bien.cameras[0].scene"),
        (_set("cameras.0.availability", 1.5), "dien_bien.cameras[0].availability"),
        (_set("network_coverage", "high"), "dien_bien.network_coverage"),
    ],
)
def test_broken_profile_names_the_field(
    write_variant: Variant, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(write_variant(change))
    assert caught.value.field == field
    assert caught.value.reason


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: dien_bien\ncameras: [{id: TC-01\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    assert caught.value.field.startswith("profile")
    assert "not valid YAML" in caught.value.reason


def test_missing_field(write_variant: Variant) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(write_variant(lambda d: d.pop("calendar")))
    assert "calendar" in str(caught.value)


@pytest.mark.parametrize("name", ["lai_chau", "missing.yaml"])
def test_unknown_profile(name: str) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(name)
    assert caught.value.field == "profile"
