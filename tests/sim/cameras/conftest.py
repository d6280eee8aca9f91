"""A small province with one camera of every scene type, and a helper to run the camera feed."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from iocsim.contract import CameraMetrics, CameraObservation
from iocsim.sim.cameras.feed import CameraFeed, CameraSettings
from iocsim.sim.profiles import (
    Calendar,
    Camera,
    Commune,
    District,
    Incidents,
    Office,
    Profile,
    SceneType,
    Services,
    ServiceType,
)
from iocsim.sim.scenario import Anomaly, Scenario, WeatherSpell

ICT = dt.timezone(dt.timedelta(hours=7))
MONDAY = dt.date(2025, 5, 12)
SCENES: tuple[SceneType, ...] = (
    "market",
    "crossroads",
    "school_gate",
    "bridge",
    "commune_office",
    "border_road",
    "bus_station",
    "square",
)
VIDEO_DIR = Path(__file__).resolve().parents[4] / "shared" / "data" / "video"

Runner = Callable[..., list[CameraObservation]]


def camera_id(scene: str) -> str:
    return f"XX-{SCENES.index(scene) + 1:02d}"


def make_profile(availability: float = 1.0) -> Profile:
    cameras = [
        Camera(camera_id(s), "xa", "xa/town", 21.0 + i / 100, 103.0, s, availability) for i, s in enumerate(SCENES)
    ]
    return Profile(
        id="test",
        name="Test province",
        sources=["tests"],
        network_coverage=0.9,
        districts=[
            District("xa", "District A", "district", 21.0, 103.0, [Commune("xa/town", "Town", 10000, 21.0, 103.0)])
        ],
        cameras=cameras,
        offices=[Office("xa-office", "Office A", "xa", 2, 1.0)],
        services=Services(1000, 0.5, 0.96, [ServiceType("birth", "Birth registration", 1.0, 3.0, 10.0)]),
        incidents=Incidents(12.0, 0.68, {"traffic": 1.0}),
        calendar=Calendar("Asia/Ho_Chi_Minh", [("07:00", "11:30"), ("13:30", "17:00")], [0, 1, 2, 3, 4], []),
    )


def at(hour: float, day: dt.date = MONDAY) -> float:
    midnight = dt.datetime.combine(day, dt.time(), ICT).timestamp()
    return midnight + hour * 3600


def mean(observations: Sequence[CameraObservation], field: str, start: float, end: float) -> float:
    values = [getattr(o.payload, field) for o in observations if start <= o.event_time < end]
    assert values, f"no observation in [{start}, {end})"
    return float(np.mean(values))


def payloads(observations: Sequence[CameraObservation], start: float, end: float) -> list[CameraMetrics]:
    return [o.payload for o in observations if start <= o.event_time < end]


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (which cannot import this file)."""
    return SimpleNamespace(camera_id=camera_id, at=at, mean=mean, payloads=payloads, make_profile=make_profile)


@pytest.fixture(scope="session")
def profile() -> Profile:
    return make_profile()


@pytest.fixture(scope="session")
def run_camera(profile: Profile) -> Runner:
    """Observations of one camera from ``hour`` for ``seconds``; anomalies and weather as offsets in seconds."""

    def run(
        scene: str,
        hour: float,
        seconds: float,
        anomalies: Sequence[tuple[str, float, float, dict[str, float | str]]] = (),
        weather: Sequence[tuple[str, float, float, float]] = (),
        seed: int = 11,
        day: dt.date = MONDAY,
    ) -> list[CameraObservation]:
        t0 = at(hour, day)
        cam = camera_id(scene)
        scenario = Scenario(
            "test",
            t0,
            t0 + seconds,
            weather_spells=tuple(
                WeatherSpell(c, t0 + a, t0 + b, frozenset(), i)  # type: ignore[arg-type]
                for c, a, b, i in weather
            ),
            anomalies=tuple(Anomaly(k, cam, t0 + a, t0 + b, dict(p)) for k, a, b, p in anomalies),
        )
        settings = CameraSettings(camera_ids=(cam,), link_drops=False)
        return list(CameraFeed(profile, scenario, seed, settings=settings).events())

    return run


@pytest.fixture(scope="session")
def video_dir() -> Path:
    """The shared reference videos; skipped when absent, except under CI where they must be present."""
    if not VIDEO_DIR.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"reference videos missing under CI: {VIDEO_DIR}")
        pytest.skip(f"reference videos not present: {VIDEO_DIR}")
    return VIDEO_DIR
