"""What happens between the scene and the pixels: sensor noise, rain on the lens, tampering.

Noise is drawn once per run and read at a random offset for each clip, which
costs two saturating additions instead of fresh random numbers; rain streaks cycle
through a few pre-drawn layers. Tampering (a covered lens, lost focus, a
turned mount) applies to synthetic and real video frames alike.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from iocsim.sim.cameras.layouts import FrameGeometry, Gray

Clip = npt.NDArray[np.uint8]
NOISE_OFFSETS = 4096
STREAK_LAYERS = 4


class NoiseTable:
    """Gaussian noise drawn once for every camera of a run, kept per level of standard deviation."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self._unit = rng.standard_normal(size + NOISE_OFFSETS, dtype=np.float32)
        self._levels: dict[float, tuple[Gray, Gray]] = {}

    def level(self, sigma: float, size: int) -> tuple[Gray, Gray]:
        """Positive and negative parts of the noise at ``sigma`` (rounded to half a gray level), long enough."""
        if size + NOISE_OFFSETS > len(self._unit):  # a longer clip than drawn for: repeat the table
            self._unit = np.resize(self._unit, size + NOISE_OFFSETS)
            self._levels.clear()
        if sigma not in self._levels:
            scaled = np.rint(self._unit * sigma)
            self._levels[sigma] = (
                np.minimum(np.maximum(scaled, 0), 255).astype(np.uint8),
                np.minimum(np.maximum(-scaled, 0), 255).astype(np.uint8),
            )
        return self._levels[sigma]


class SensorNoise:
    """A camera's sensor noise: a slab of the shared table at a random offset for each clip.

    All frames of a clip get fresh-looking noise from one saturating addition and one subtraction.
    """

    def __init__(self, table: NoiseTable, rng: np.random.Generator) -> None:
        self.table = table
        self.rng = rng

    def add(self, clip: Clip, sigma: float) -> None:
        """Add noise of standard deviation ``sigma`` to every frame of the clip, in place."""
        level = round(sigma * 2) / 2
        if level <= 0:
            return
        rows = clip.reshape(-1, clip.shape[-1])
        up, down = self.table.level(level, rows.size)
        offset = int(self.rng.integers(NOISE_OFFSETS))
        cv2.add(rows, up[offset : offset + rows.size].reshape(rows.shape), dst=rows)
        cv2.subtract(rows, down[offset : offset + rows.size].reshape(rows.shape), dst=rows)


class RainStreaks:
    """Short bright slanted streaks of falling rain, drawn on first use."""

    def __init__(self, geometry: FrameGeometry, rng: np.random.Generator) -> None:
        self.geometry = geometry
        self.rng = rng
        self._layers: list[Gray] | None = None

    def add(self, clip: Clip, rain: float, sun: float) -> None:
        if self._layers is None:
            self._layers = [self._draw() for _ in range(STREAK_LAYERS)]
        amplitude = np.uint8(round(40 * rain * (0.4 + 0.6 * sun)))
        for i, frame in enumerate(clip):
            cv2.add(frame, self._layers[i % STREAK_LAYERS] * amplitude, dst=frame)

    def _draw(self) -> Gray:
        g = self.geometry
        layer = np.zeros((g.height, g.width), np.uint8)
        for _ in range(int(0.012 * g.width * g.height)):
            x, y = int(self.rng.integers(g.width)), int(self.rng.integers(g.height))
            cv2.line(layer, (x, y), (x + 2, y + 7), 1, 1)
        return layer


def covered_frame(geometry: FrameGeometry) -> Gray:
    """A lens under a hand, tape or a bag: near dark, a faint glow leaking in at one edge."""
    ramp = np.linspace(9.0, 3.0, geometry.width, dtype=np.float32)
    return np.broadcast_to(ramp, (geometry.height, geometry.width)).astype(np.uint8)


def turn_shift(geometry: FrameGeometry, shift_px: float | None) -> tuple[float, float]:
    """How far a turned camera's view moves: a pan of 15 % of the width by default, dipping a little."""
    shift = 0.15 * geometry.width if shift_px is None else shift_px
    return shift, 0.25 * shift


def rotate(clip: Clip, degrees: float) -> None:
    height, width = clip.shape[1:]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    for frame in clip:
        frame[:] = cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


def blur(clip: Clip, sigma: float) -> None:
    for frame in clip:
        frame[:] = cv2.GaussianBlur(frame, (0, 0), sigma)


def tamper_video(clip: Clip, covered: bool, shift: tuple[float, float] | None, defocus_sigma: float) -> None:
    """Lens and mount anomalies applied to real video frames (their scene cannot be changed), in place."""
    height, width = clip.shape[1:]
    if covered:
        clip[:] = covered_frame(FrameGeometry(width, height))
        return
    if shift is not None:
        move = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
        for frame in clip:
            frame[:] = cv2.warpAffine(frame, move, (width, height), borderMode=cv2.BORDER_REFLECT)
    if defocus_sigma > 0:
        blur(clip, defocus_sigma)
