from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim.sim.cameras.activity import NIGHT_FLOOR, busyness, expected_counts
from iocsim.sim.cameras.layouts import FrameGeometry
from iocsim.sim.cameras.scene import Conditions, Scene, SceneAssets, daylight
from iocsim.sim.profiles import SCENE_TYPES

GEOMETRY = FrameGeometry(160, 120)
T0 = dt.datetime(2025, 5, 12, tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp()


def _scene(kind: str = "crossroads", seed: int = 1) -> Scene:
    return Scene(kind, SceneAssets.build(GEOMETRY, np.random.default_rng(0)), np.random.default_rng(seed))


def _clip(scene: Scene, t: float, cond: Conditions) -> np.ndarray:
    return scene.render(t, [t + i / 5 for i in range(5)], t + 10, cond)


@given(st.sampled_from(SCENE_TYPES), st.floats(0, 24, exclude_max=True), st.booleans())
def test_busyness_is_bounded(scene: str, hour: float, workday: bool) -> None:
    assert NIGHT_FLOOR <= busyness(scene, hour, workday) <= 1.2
    assert all(v >= 0 for v in expected_counts(scene, hour, workday).values())


@given(st.floats(0, 24, exclude_max=True))
def test_daylight_is_a_share(hour: float) -> None:
    assert 0.0 <= daylight(hour) <= 1.0


def test_daylight_ramps_at_dawn_and_dusk() -> None:
    assert daylight(2.0) == daylight(23.0) == 0.0
    assert daylight(12.0) == 1.0
    assert 0 < daylight(5.75) < 1 and 0 < daylight(18.9) < 1
    assert daylight(5.5) < daylight(6.0) and daylight(18.5) > daylight(19.0)


def test_hourly_patterns_of_the_scenes() -> None:
    assert busyness("market", 7.5, True) > 2 * busyness("market", 14.0, True)
    for peak in (7.0, 11.2, 17.0):
        assert busyness("school_gate", peak, True) > 4 * busyness("school_gate", peak + 1.5, True)
    assert busyness("school_gate", 7.0, False) < 0.1
    assert busyness("crossroads", 7.0, True) > 1.5 * busyness("crossroads", 15.0, True)
    assert sum(expected_counts("border_road", 10.0, True).values()) < 0.2 * sum(
        expected_counts("crossroads", 10.0, True).values()
    )
    for scene in SCENE_TYPES:
        assert busyness(scene, 2.5, True) == NIGHT_FLOOR
    counts = expected_counts("crossroads", 8.0, True)
    assert counts["motorbike"] > 4 * counts["car"]


def test_render_is_deterministic_and_gray() -> None:
    cond = Conditions(hour=9.0, workday=True)
    a, b = _clip(_scene(), T0, cond), _clip(_scene(), T0, cond)
    assert a.shape == (5, 120, 160) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, _clip(_scene(seed=2), T0, cond))
    assert not np.array_equal(a[0], a[4])  # road users move between frames


def test_background_depends_on_the_scene_type() -> None:
    references = [_scene(kind).reference().astype(np.float32) for kind in SCENE_TYPES]
    for i in range(len(references)):
        for j in range(i + 1, len(references)):
            assert np.abs(references[i] - references[j]).mean() > 10, (SCENE_TYPES[i], SCENE_TYPES[j])


def test_night_is_noisier_and_the_covered_lens_is_flat() -> None:
    scene = _scene()
    day = _clip(scene, T0, Conditions(hour=12.0, workday=True)).astype(np.float32)
    night = _clip(scene, T0 + 10, Conditions(hour=2.0, workday=True)).astype(np.float32)
    covered = _clip(scene, T0 + 20, Conditions(hour=12.0, workday=True, covered=True))
    # Frame-to-frame differences of the static scene are mostly sensor noise.
    assert np.median(np.abs(night[1] - night[0])) > np.median(np.abs(day[1] - day[0]))
    assert covered.max() < 20 and covered.std() < 3


def test_turned_view_shows_another_part_of_the_world() -> None:
    scene = _scene("bus_station")
    home = _clip(scene, T0, Conditions(hour=12.0, workday=True))
    turned = _clip(scene, T0 + 10, Conditions(hour=12.0, workday=True, turned=True, turn_px=20.0))
    assert np.abs(home[0].astype(int) - turned[0]).mean() > 10


@pytest.mark.parametrize("width", [96, 320])
def test_other_frame_sizes_render(width: int) -> None:
    geometry = FrameGeometry(width, width * 3 // 4)
    scene = Scene(
        "square", SceneAssets.build(geometry, np.random.default_rng(0), clip_frames=2), np.random.default_rng(0)
    )
    clip = scene.render(T0, [T0 + i / 5 for i in range(3)], T0 + 10, Conditions(hour=19.5, workday=False, crowd=6.0))
    assert clip.shape == (3, geometry.height, width)  # longer than the noise table was drawn for
