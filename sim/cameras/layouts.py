"""The world a camera looks at: its geometry, the lanes road users follow, and a painter to draw it.

A camera sees a crop of a slightly larger *world* image: when the camera is
turned, the crop moves and phase correlation against the reference sees the
shift. A world is drawn once per camera (flat shapes, then a two-scale grain
so that focus is measurable through the Laplacian) together with the lanes
that people and vehicles follow and a night light map (the camera's own
infrared illuminator brightens the near field, street lamps make pools).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
LaneKind = Literal["vehicle", "person"]


@dataclass(frozen=True)
class FrameGeometry:
    """Frame size and the margins of the world around it (room for a turned view)."""

    width: int
    height: int

    @property
    def margin_x(self) -> int:
        return self.width // 5

    @property
    def margin_y(self) -> int:
        return self.height // 5

    @property
    def world_shape(self) -> tuple[int, int]:
        return self.height + 2 * self.margin_y, self.width + 2 * self.margin_x

    def px(self, u: float, v: float) -> tuple[int, int]:
        """World pixel of a point given in frame units (0..1 spans the home view)."""
        return round(self.margin_x + u * self.width), round(self.margin_y + v * self.height)


@dataclass(frozen=True)
class Lane:
    """A straight path in world pixels; vehicle lanes are one-way, footpaths two-way."""

    x0: float
    y0: float
    x1: float
    y1: float
    kind: LaneKind

    @property
    def length(self) -> float:
        return float(np.hypot(self.x1 - self.x0, self.y1 - self.y0))


@dataclass(frozen=True)
class Layout:
    background: Gray
    night_light: Floats
    lanes: tuple[Lane, ...]


class Painter:
    """Draws flat shapes in frame units on a float world canvas."""

    def __init__(self, geometry: FrameGeometry, rng: np.random.Generator) -> None:
        self.g = geometry
        self.rng = rng
        self.canvas = np.full(geometry.world_shape, 140.0, np.float32)
        self.lanes: list[Lane] = []
        self.lamps: list[tuple[float, float]] = []

    def jitter(self, spread: float = 0.04) -> float:
        return float(self.rng.uniform(-spread, spread))

    def rect(self, u0: float, v0: float, u1: float, v1: float, value: float) -> None:
        cv2.rectangle(self.canvas, self.g.px(u0, v0), self.g.px(u1, v1), float(value), -1)

    def poly(self, points: list[tuple[float, float]], value: float) -> None:
        pts = np.array([self.g.px(u, v) for u, v in points], np.int32)
        cv2.fillPoly(self.canvas, [pts], float(value))

    def line(self, u0: float, v0: float, u1: float, v1: float, value: float, thickness: int = 1) -> None:
        cv2.line(self.canvas, self.g.px(u0, v0), self.g.px(u1, v1), float(value), thickness)

    def road(self, u0: float, v0: float, u1: float, v1: float, width: float, *, two_way: bool = True) -> None:
        """Asphalt with a dashed centre line; vehicles drive on the right."""
        thick = max(2, round(width * self.g.height))
        cv2.line(self.canvas, self.g.px(u0, v0), self.g.px(u1, v1), 85.0, thick)
        for s in np.arange(0.0, 1.0, 0.08):
            a, b = s, s + 0.04
            self.line(u0 + a * (u1 - u0), v0 + a * (v1 - v0), u0 + b * (u1 - u0), v0 + b * (v1 - v0), 205.0)
        dx, dy = (u1 - u0) * self.g.width, (v1 - v0) * self.g.height
        quarter = thick / 4 / float(np.hypot(dx, dy))
        off_u, off_v = -dy * quarter / self.g.width, dx * quarter / self.g.height
        self.lane(u0 + off_u, v0 + off_v, u1 + off_u, v1 + off_v, "vehicle")
        if two_way:
            self.lane(u1 - off_u, v1 - off_v, u0 - off_u, v0 - off_v, "vehicle")

    def lane(self, u0: float, v0: float, u1: float, v1: float, kind: LaneKind) -> None:
        x0, y0 = self.g.px(u0, v0)
        x1, y1 = self.g.px(u1, v1)
        self.lanes.append(Lane(x0, y0, x1, y1, kind))

    def building(self, u0: float, v0: float, u1: float, v1: float) -> None:
        """A wall with a dark roof line and a grid of windows."""
        self.rect(u0, v0, u1, v1, self.rng.uniform(165, 215))
        self.rect(u0, v0, u1, v0 + 0.03, 70.0)
        (x0, y0), (x1, y1) = self.g.px(u0, v0 + 0.05), self.g.px(u1, v1)
        h, w = self.g.world_shape
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            return
        cols, rows = max(1, round((u1 - u0) / 0.07)), max(1, round((v1 - v0) / 0.1))
        pitch_x, pitch_y = max(2.0, (x1 - x0) / cols), max(2.0, (y1 - y0) / rows)
        xs = (np.arange(x0, x1) - x0) % pitch_x
        ys = (np.arange(y0, y1) - y0) % pitch_y
        windows = (ys[:, None] < 0.4 * pitch_y) & (xs[None, :] >= 0.3 * pitch_x) & (xs[None, :] < 0.7 * pitch_x)
        self.canvas[y0:y1, x0:x1][windows] = 60.0

    def trees(self, count: int, u0: float, v0: float, u1: float, v1: float) -> None:
        """Clumps of foliage: a dozen blobs of varied shade each."""
        for _ in range(count):
            cu, cv = self.rng.uniform(u0, u1), self.rng.uniform(v0, v1)
            us, vs = cu + self.rng.normal(0, 0.025, 12), cv + self.rng.normal(0, 0.03, 12)
            radii, shades = self.rng.integers(2, 5, 12), self.rng.uniform(40, 110, 12)
            for u, v, radius, shade in zip(us, vs, radii, shades, strict=True):
                cv2.circle(self.canvas, self.g.px(u, v), int(radius), float(shade), -1)

    def lamp(self, u: float, v: float) -> None:
        self.line(u, v, u, v - 0.25, 60.0)
        self.rect(u - 0.015, v - 0.27, u + 0.015, v - 0.25, 230.0)
        self.lamps.append((u, v - 0.1))

    def finish(self, infrared: bool = True) -> Layout:
        grain = self.canvas + 6.0 * self._texture(0.7) + 12.0 * self._texture(8.0)
        background = np.clip(grain, 0, 255).astype(np.uint8)
        return Layout(background, self._night_light(infrared), tuple(self.lanes))

    def _texture(self, sigma: float) -> Floats:
        """Unit-variance smooth noise with a feature size of about ``sigma`` pixels."""
        h, w = self.g.world_shape
        if sigma < 2:
            noise = cv2.GaussianBlur(self.rng.standard_normal((h, w), dtype=np.float32), (0, 0), sigma)
        else:
            small = self.rng.standard_normal((max(2, round(h / sigma)), max(2, round(w / sigma))), dtype=np.float32)
            noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        return (noise / max(float(noise.std()), 1e-6)).astype(np.float32)

    def _night_light(self, infrared: bool) -> Floats:
        h, w = self.g.world_shape
        rows = np.arange(h, dtype=np.float32)[:, None]
        cols = np.arange(w, dtype=np.float32)[None, :]
        light = np.full((h, w), 0.08, np.float32)
        if infrared:
            near = np.clip((rows - self.g.margin_y - 0.35 * self.g.height) / (0.65 * self.g.height), 0, 1)
            light += 0.45 * near**1.5
        radius = 0.14 * self.g.width
        for u, v in self.lamps:
            x, y = self.g.px(u, v)
            light += 0.75 * np.exp(-((rows - y) ** 2) / (2 * radius**2)) * np.exp(-((cols - x) ** 2) / (2 * radius**2))
        return np.minimum(light, 1.0).astype(np.float32)
