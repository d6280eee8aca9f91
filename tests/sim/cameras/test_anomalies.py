"""Injected anomalies and the weather change the analytics the way they would on a real camera."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from iocsim.contract import CameraObservation

BEFORE, START, END = (0, 150), 150, 350


def _window(kit: Any, obs: list[CameraObservation], field: str, start: float, end: float) -> float:
    t0 = obs[0].event_time
    return float(kit.mean(obs, field, t0 + start, t0 + end))


@pytest.mark.parametrize("scene", ["crossroads", "market", "border_road"])
def test_covered_lens_is_dark_and_flat(run_camera: Any, kit: Any, scene: str) -> None:
    obs = run_camera(scene, 12.0, 350, anomalies=[("camera_covered", START, END, {})])
    healthy = [_window(kit, obs, f, *BEFORE) for f in ("brightness", "sharpness")]
    covered = [_window(kit, obs, f, START, END) for f in ("brightness", "sharpness")]
    assert covered[0] < 0.1 * healthy[0]
    assert covered[1] < 0.05 * healthy[1]
    responses = [o.payload.displacement_response for o in obs if o.event_time >= obs[0].event_time + START]
    assert np.median(responses) < 0.3  # nothing to correlate: the displacement is not to be trusted


@pytest.mark.parametrize("scene", ["square", "commune_office"])
def test_defocus_drops_sharpness_only(run_camera: Any, kit: Any, scene: str) -> None:
    obs = run_camera(scene, 12.0, 350, anomalies=[("camera_defocused", START, END, {})])
    assert _window(kit, obs, "sharpness", START, END) < 0.1 * _window(kit, obs, "sharpness", *BEFORE)
    brightness = _window(kit, obs, "brightness", START, END), _window(kit, obs, "brightness", *BEFORE)
    assert brightness[0] == pytest.approx(brightness[1], rel=0.05)


@pytest.mark.parametrize(("scene", "params"), [("bridge", {}), ("bus_station", {"shift_px": 12.0, "angle": 4.0})])
def test_turned_camera_shows_displacement(run_camera: Any, kit: Any, scene: str, params: dict[str, float]) -> None:
    obs = run_camera(scene, 12.0, 350, anomalies=[("camera_turned", START, END, params)])
    t0 = obs[0].event_time
    healthy = [o.payload.displacement_px for o in obs if o.event_time < t0 + START]
    turned = [o.payload for o in obs if o.event_time >= t0 + START]
    assert max(healthy) < 1.5
    assert np.median([p.displacement_px for p in turned]) > 8
    assert np.median([p.displacement_response for p in turned]) > 0.2


def test_crowd_raises_blobs_and_motion(run_camera: Any, kit: Any) -> None:
    obs = run_camera("crossroads", 14.0, 400, anomalies=[("crowd", START, 400, {"multiplier": 6})])
    settled = START + 60  # people need about one crossing to gather
    assert _window(kit, obs, "blobs", settled, 400) > 2 * _window(kit, obs, "blobs", *BEFORE)
    assert _window(kit, obs, "motion_ratio", settled, 400) > 1.5 * _window(kit, obs, "motion_ratio", *BEFORE)


@pytest.mark.parametrize("scene", ["border_road", "school_gate"])
def test_night_intrusion_moves_where_night_is_still(run_camera: Any, kit: Any, scene: str) -> None:
    clean = run_camera(scene, 2.0, 300)
    intrusion = run_camera(scene, 2.0, 300, anomalies=[("night_intrusion", 100, 300, {})])
    assert _window(kit, intrusion, "motion_ratio", 100, 300) > 5 * _window(kit, clean, "motion_ratio", 100, 300) + 1e-4
    assert _window(kit, intrusion, "blobs", 100, 300) > 0.8
    assert _window(kit, clean, "blobs", 100, 300) < 0.3


def test_night_is_darker_than_day(run_camera: Any, kit: Any) -> None:
    day = run_camera("market", 12.0, 60)
    night = run_camera("market", 23.0, 60)
    dusk = run_camera("market", 18.8, 60)
    brightness = [_window(kit, o, "brightness", 0, 60) for o in (day, dusk, night)]
    assert brightness[0] > brightness[1] > brightness[2]
    assert brightness[2] < 0.5 * brightness[0]


def test_rain_and_fog_soften_the_picture(run_camera: Any, kit: Any) -> None:
    rain = run_camera("crossroads", 12.0, 300, weather=[("rain", 100, 300, 1.0)])
    fog = run_camera("crossroads", 12.0, 300, weather=[("fog", 100, 300, 0.8)])
    for obs in (rain, fog):
        assert _window(kit, obs, "sharpness", 150, 300) < 0.75 * _window(kit, obs, "sharpness", 0, 100)
    assert _window(kit, rain, "brightness", 150, 300) < 0.9 * _window(kit, rain, "brightness", 0, 100)
    # Fog flattens the picture far more than rain does, but it does not move the view.
    assert _window(kit, fog, "sharpness", 150, 300) < 0.5 * _window(kit, rain, "sharpness", 150, 300)
    assert _window(kit, fog, "displacement_px", 150, 300) < 1.0
