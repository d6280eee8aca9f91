"""Synthetic grayscale clips of one camera: background, road users, light, weather, optics, sensor noise.

Frames are 160×120 by default: an edge box analyses a downscaled stream
anyway (motion and tamper analytics rarely need more than QQVGA), and at this
size rendering plus analysis of 61 cameras at 5 frames/s fits on one core.
What changes slowly (view, light, weather, contrast) is computed once and
cached; each clip then costs a broadcast copy, one sprite stamp for all its
frames, optional blur and two saturating additions of pre-drawn noise.

Assumed light in Điện Biên (≈21° N, 103° E, UTC+7, so solar noon ≈ 12:10):
dawn 5:00–6:30, dusk 18:15–19:30; at night the camera's infrared lamp lights
the near field and street lamps make pools of light. Rain dims and flattens
the picture and streaks it; fog pulls it toward gray and blurs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.cameras.backgrounds import draw_layout
from iocsim.sim.cameras.layouts import FrameGeometry, Gray
from iocsim.sim.cameras.sensor import (
    Clip,
    NoiseTable,
    RainStreaks,
    SensorNoise,
    blur,
    covered_frame,
    rotate,
    turn_shift,
)
from iocsim.sim.cameras.sprites import Sprites
from iocsim.sim.cameras.traffic import Traffic
from iocsim.sim.scenario import CAMERA_KINDS, Anomaly, Scenario

Floats = npt.NDArray[np.float32]
_CACHE_SIZE = 4


@dataclass(frozen=True)
class Conditions:
    """Everything about one clip that is not the scene itself."""

    hour: float
    workday: bool
    rain: float = 0.0
    fog: float = 0.0
    covered: bool = False
    defocus_sigma: float = 0.0
    turned: bool = False
    turn_px: float | None = None
    turn_degrees: float = 0.0
    crowd: float | None = None
    intruders: int = 0
    intrusion_since: float = 0.0


def daylight(hour: float) -> float:
    """Share of full daylight at a local hour."""

    def ramp(x: float) -> float:
        x = min(1.0, max(0.0, x))
        return x * x * (3 - 2 * x)

    return ramp((hour - 5.0) / 1.5) * (1.0 - ramp((hour - 18.25) / 1.25))


def conditions_at(
    scenario: Scenario, anomalies: Sequence[Anomaly], calendar: ProvinceCalendar, district: str, t: float
) -> Conditions:
    """Conditions of a camera's clip starting at t (``anomalies`` are the camera's own).

    Anomaly parameters: ``camera_defocused`` sigma (blur, px, default 3);
    ``camera_turned`` shift_px (default 15 % of the width) and angle (degrees,
    default 0); ``crowd`` multiplier (default 6); ``night_intrusion`` count
    (people, default 2).
    """
    local = calendar.local(t)
    rain, fog = scenario.weather(district, t)
    active = {a.kind: a for a in anomalies if a.kind in CAMERA_KINDS and a.active(t)}
    turned, crowd, intrusion = active.get("camera_turned"), active.get("crowd"), active.get("night_intrusion")
    defocus = active.get("camera_defocused")
    return Conditions(
        hour=local.hour + local.minute / 60 + local.second / 3600,
        workday=calendar.is_workday(local.date()),
        rain=rain,
        fog=fog,
        covered="camera_covered" in active,
        defocus_sigma=defocus.number("sigma", 3.0) if defocus else 0.0,
        turned=turned is not None,
        turn_px=turned.number("shift_px", 0.0) if turned and "shift_px" in turned.params else None,
        turn_degrees=turned.number("angle", 0.0) if turned else 0.0,
        crowd=crowd.number("multiplier", 6.0) if crowd else None,
        intruders=max(0, round(intrusion.number("count", 2))) if intrusion else 0,
        intrusion_since=intrusion.start if intrusion else 0.0,
    )


@dataclass(frozen=True)
class _Look:
    """How the empty scene looks under one light and weather: the base every frame starts from."""

    base: Gray
    light: Floats
    contrast: float
    offset: float
    noise_sigma: float


@dataclass(frozen=True)
class SceneAssets:
    """What every camera's scene of a run shares: frame geometry, sprites and the sensor-noise table."""

    geometry: FrameGeometry
    sprites: Sprites
    noise: NoiseTable

    @staticmethod
    def build(geometry: FrameGeometry, rng: np.random.Generator, clip_frames: int = 5) -> SceneAssets:
        noise = NoiseTable(clip_frames * geometry.width * geometry.height, rng)
        return SceneAssets(geometry, Sprites.build(geometry.width / 160), noise)


class Scene:
    """One camera's synthetic view, kept across clips so road users move on."""

    def __init__(self, scene: str, assets: SceneAssets, rng: np.random.Generator) -> None:
        layout_rng, traffic_rng, noise_rng, rain_rng = rng.spawn(4)
        geometry = assets.geometry
        layout = draw_layout(scene, geometry, layout_rng)
        self.geometry = geometry
        self.sprites = assets.sprites
        self._world = layout.background
        self._night = layout.night_light
        self.traffic = Traffic(scene, layout.lanes, geometry, traffic_rng)
        self.noise = SensorNoise(assets.noise, noise_rng)
        self.rain = RainStreaks(geometry, rain_rng)
        self._turn_sign = 1 if layout_rng.random() < 0.5 else -1
        self._covered = covered_frame(geometry)
        self._looks: dict[tuple[int, int, float, float, float], _Look] = {}

    def reference(self) -> Gray:
        """The view as installed: noon, clear weather, nobody about, no noise."""
        g = self.geometry
        return self._world[g.margin_y : g.margin_y + g.height, g.margin_x : g.margin_x + g.width].copy()

    def render(self, t: float, times: Sequence[float], until: float, cond: Conditions) -> Clip:
        """The clip filmed at ``times`` (from t on); road users enter up to ``until``."""
        self.traffic.advance(t, until, cond.hour, cond.workday, cond.crowd)
        g = self.geometry
        clip = np.empty((len(times), g.height, g.width), np.uint8)
        if cond.covered:
            clip[:] = self._covered
            self.noise.add(clip, 0.8)
            return clip
        sun = round(daylight(cond.hour) * (1 - 0.35 * cond.rain) * (1 - 0.2 * cond.fog), 3)
        ox, oy = self._view_origin(cond)
        look = self._look(ox, oy, sun, cond.rain, cond.fog)
        clip[:] = look.base
        self._stamp(clip, np.asarray(times, np.float64), cond, ox, oy, look, sun)
        if cond.rain > 0:
            self.rain.add(clip, cond.rain, sun)
        if cond.turn_degrees:
            rotate(clip, cond.turn_degrees)
        sigma = max(cond.defocus_sigma, 1.5 * cond.fog)
        if sigma > 0:
            blur(clip, sigma)
        self.noise.add(clip, look.noise_sigma)
        return clip

    def _view_origin(self, cond: Conditions) -> tuple[int, int]:
        """Where the crop sits in the world; a turned camera looks at another part of it."""
        g = self.geometry
        if not cond.turned:
            return g.margin_x, g.margin_y
        dx, dy = turn_shift(g, cond.turn_px)
        return g.margin_x + self._turn_sign * min(g.margin_x, round(dx)), g.margin_y + min(g.margin_y, round(dy))

    def _look(self, ox: int, oy: int, sun: float, rain: float, fog: float) -> _Look:
        key = (ox, oy, sun, rain, fog)
        if key not in self._looks:
            if len(self._looks) >= _CACHE_SIZE:
                del self._looks[next(iter(self._looks))]
            g = self.geometry
            window = (slice(oy, oy + g.height), slice(ox, ox + g.width))
            light = sun + (1 - sun) * self._night[window]
            lit = self._world[window].astype(np.float32) * light
            contrast = (1 - 0.35 * rain) * (1 - 0.75 * fog)
            offset = (1 - contrast) * float(lit.mean()) * (1 - fog) + 0.75 * fog * (60 + 110 * sun)
            base = np.minimum(np.maximum(lit * contrast + offset, 0), 255).astype(np.uint8)
            sigma = 1.5 + 5.0 * (1 - float(light.mean())) + 1.0 * rain
            self._looks[key] = _Look(base, light, contrast, offset, sigma)
        return self._looks[key]

    def _stamp(
        self, clip: Clip, times: npt.NDArray[np.float64], cond: Conditions, ox: int, oy: int, look: _Look, sun: float
    ) -> None:
        frame, x, y, sprite, value = self.traffic.positions(times)
        if cond.intruders:
            extra = self.traffic.intruders(times, cond.intruders, cond.intrusion_since)
            frame, x, y, sprite, value = (
                np.concatenate(pair) for pair in zip((frame, x, y, sprite, value), extra, strict=True)
            )
        if len(x) == 0:
            return
        g = self.geometry
        xi, yi = np.rint(x).astype(np.int64) - ox, np.rint(y).astype(np.int64) - oy
        gain = look.light[np.clip(yi - 3, 0, g.height - 1), np.clip(xi, 0, g.width - 1)] * look.contrast
        lamp = 240.0 * (1 - sun) if sun < 0.6 else 0.0
        self.sprites.stamp(clip, frame, xi, yi, sprite, value, gain.astype(np.float64), look.offset, lamp)
