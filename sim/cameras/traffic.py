"""People and vehicles moving through a scene.

Road users enter on a lane as a Poisson stream whose rate keeps the expected
number in view at the level of ``activity.expected_counts`` (Little's law:
rate = count / time to cross). They move in straight lines at their own speed
and leave at the far end, so counts follow the hour with a lag of about one
crossing. All road users are held in one array and moved together.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from iocsim.sim.cameras.activity import ACTIVITY, expected_counts
from iocsim.sim.cameras.layouts import FrameGeometry, Lane
from iocsim.sim.cameras.sprites import KINDS, Floats, Ints

METRES_ACROSS = 29.0
"""Assumed width of the scene a town camera frames; sets speeds in pixels (sprites are drawn to match)."""
SPEEDS = {"person": (1.3, 0.3), "motorbike": (8.0, 2.5), "car": (9.0, 2.5), "truck": (7.0, 2.0)}
"""Mean and spread in m/s (motorbikes ≈ 30 km/h in town)."""
VALUES = {
    "person": (35, 60, 90, 175, 205),
    "motorbike": (30, 50, 170),
    "car": (40, 70, 185, 215, 235),
    "truck": (40, 70, 185, 215, 235),
}
"""Gray levels of clothes and paint: dark or light against the mid-gray ground."""
INTRUDER_SPEED = 0.8
INTRUDER_VALUE = 210.0
"""Under the camera's infrared lamp skin and most fabrics reflect strongly: intruders look light."""
WARM_UP = 120.0
"""Seconds of arrivals simulated before the first clip, so a scene starts populated."""

Positions = tuple[Ints, Floats, Floats, Ints, Floats]
"""Frame index, x, y (world pixels), sprite id and gray value of each road user in each frame."""


class Traffic:
    """The road users of one camera's scene, advanced interval by interval."""

    def __init__(self, scene: str, lanes: tuple[Lane, ...], geometry: FrameGeometry, rng: np.random.Generator) -> None:
        self.scene = scene
        self.rng = rng
        px_per_m = geometry.width / METRES_ACROSS
        walk = [lane for lane in lanes if lane.kind == "person"]
        drive = [lane for lane in lanes if lane.kind == "vehicle"]
        self._lanes = np.array([(ln.x0, ln.y0, ln.x1, ln.y1) for ln in walk + drive], np.float64).reshape(-1, 4)
        person = np.array([k == "person" for k in KINDS])
        self._lane_first = np.where(person, 0, len(walk))
        self._lane_count = np.where(person, len(walk), len(drive))
        mean_length = np.array([np.mean([ln.length for ln in (walk if p else drive)] or [0.0]) for p in person])
        self._speed = np.array([SPEEDS[k][0] for k in KINDS]) * px_per_m
        self._spread = np.array([SPEEDS[k][1] for k in KINDS]) * px_per_m
        self._crossing = mean_length / self._speed
        widest = max(len(v) for v in VALUES.values())
        self._palette = np.array([[*VALUES[k], *[0] * (widest - len(VALUES[k]))] for k in KINDS], np.float64)
        self._palette_size = np.array([len(VALUES[k]) for k in KINDS])
        self._intruder_speed = INTRUDER_SPEED * px_per_m
        self._intruder_path = (geometry.px(0.1, 0.82), geometry.px(0.9, 0.86))
        self._until: float | None = None
        self._agents = np.zeros((0, 8))  # t0, x0, y0, vx, vy, t_end, sprite, value

    def advance(self, t: float, until: float, hour: float, workday: bool, crowd: float | None = None) -> None:
        """Let road users enter until ``until``; the first call starts from a populated scene.

        A ``crowd`` multiplies the people expected at this hour, counted from at
        least a quarter of the scene's peak (and two people), so that a gathering
        is also a crowd where the place is usually quiet.
        """
        start = t - WARM_UP if self._until is None else max(self._until, t - WARM_UP)
        if until <= start:
            return
        counts = expected_counts(self.scene, hour, workday)
        if crowd is not None:
            counts["person"] = crowd * max(counts["person"], 0.25 * ACTIVITY[self.scene].people, 2.0)
        expected = np.array([counts[k] for k in KINDS]) * (self._lane_count > 0)
        arrivals = self.rng.poisson(expected / self._crossing * (until - start))
        alive = self._agents[self._agents[:, 5] > t]
        if arrivals.any():
            alive = np.concatenate([alive, self._enter(np.repeat(np.arange(len(KINDS)), arrivals), start, until)])
        self._agents = alive
        self._until = until

    def _enter(self, kind: Ints, start: float, until: float) -> npt.NDArray[np.float64]:
        n = len(kind)
        if n == 0:
            return np.zeros((0, 8))
        rng = self.rng
        draws = rng.random((n, 4))
        lane = self._lane_first[kind] + (draws[:, 0] * self._lane_count[kind]).astype(np.int64)
        ends = self._lanes[lane]
        flip = (kind == 0) & (draws[:, 1] < 0.5)
        ends[flip] = ends[flip][:, [2, 3, 0, 1]]
        speed = np.maximum(0.3 * self._speed[kind], self._speed[kind] + self._spread[kind] * rng.standard_normal(n))
        jitter = rng.standard_normal(n) * np.where(kind == 0, 2.0, 1.0)
        t0 = start + draws[:, 2] * (until - start)
        duration = np.hypot(ends[:, 2] - ends[:, 0], ends[:, 3] - ends[:, 1]) / speed
        vx, vy = (ends[:, 2] - ends[:, 0]) / duration, (ends[:, 3] - ends[:, 1]) / duration
        value = self._palette[kind, (draws[:, 3] * self._palette_size[kind]).astype(np.int64)]
        sprite = 2 * kind + (vx < 0)
        return np.column_stack([t0, ends[:, 0], ends[:, 1] + jitter, vx, vy, t0 + duration, sprite, value])

    def positions(self, times: npt.NDArray[np.float64]) -> Positions:
        """Where every road user is in each frame of a clip taken at ``times``."""
        a = self._agents
        live = (a[:, 0, None] <= times[None, :]) & (a[:, 5, None] > times[None, :])
        who, frame = np.nonzero(live)
        dt = times[frame] - a[who, 0]
        return frame, a[who, 1] + a[who, 3] * dt, a[who, 2] + a[who, 4] * dt, a[who, 6].astype(np.int64), a[who, 7]

    def intruders(self, times: npt.NDArray[np.float64], count: int, since: float) -> Positions:
        """People loitering back and forth across the near field, lit by the camera's infrared lamp."""
        (x0, y0), (x1, y1) = self._intruder_path
        length = float(np.hypot(x1 - x0, y1 - y0))
        frame = np.repeat(np.arange(len(times)), count)
        walked = (times[frame] - since) * self._intruder_speed / length + np.tile(np.arange(count), len(times)) / count
        phase = walked % 2.0
        s = np.where(phase < 1.0, phase, 2.0 - phase)
        sprite = np.where(phase < 1.0, 0, 1).astype(np.int64)
        return frame, x0 + s * (x1 - x0), y0 + s * (y1 - y0), sprite, np.full(len(frame), INTRUDER_VALUE)
