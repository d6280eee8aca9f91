"""Small sprites of people and vehicles, stamped into a whole clip at once.

A clip is a (frames, height, width) array; every visible sprite pixel of every
frame is written by one fancy-indexing assignment, so the cost hardly depends
on how many road users there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Clip = npt.NDArray[np.uint8]

KINDS = ("person", "motorbike", "car", "truck")

# '#' body, 'o' darker (windows, tyres), 'L' a lamp that shines at night; anchored bottom centre, facing right.
_ART = {
    "person": (".##.", ".##.", "####", "####", "####", ".##.", ".##.", ".##.", ".#.#"),
    "motorbike": ("..##....", "..##....", ".####...", ".####..L", "#######L", "########", "oo...oo.", "oo...oo."),
    "car": (
        "....#########.....",
        "...#ooo#ooooo##...",
        "..#ooo##ooooooo#..",
        "#################L",
        "#################L",
        "##################",
        ".ooo.........ooo..",
        ".ooo.........ooo..",
    ),
    "truck": (
        "#################.......",
        "#################.####..",
        "#################.#oo##.",
        "#################.#ooo##",
        "#################.######",
        "#################.#####L",
        "########################",
        "########################",
        "..ooo..ooo.........ooo..",
        "..ooo..ooo.........ooo..",
    ),
}


def sprite_id(kind: str, leftward: bool) -> int:
    return 2 * KINDS.index(kind) + int(leftward)


@dataclass(frozen=True)
class Sprites:
    """Pixel offsets of every sprite (each kind facing right, then mirrored), flattened."""

    start: Ints
    count: Ints
    dx: Ints
    dy: Ints
    shade: Floats
    lamp: npt.NDArray[np.bool_]

    @staticmethod
    def build(scale: float = 1.0) -> Sprites:
        """Sprites drawn for 160-pixel-wide frames, scaled to other widths."""
        parts: list[tuple[Ints, Ints, Floats, npt.NDArray[np.bool_]]] = []
        for kind in KINDS:
            art = np.array([[ord(c) for c in row] for row in _ART[kind]], np.uint8)
            if scale != 1.0:
                size = (max(1, round(art.shape[1] * scale)), max(1, round(art.shape[0] * scale)))
                art = np.asarray(cv2.resize(art, size, interpolation=cv2.INTER_NEAREST), np.uint8)
            for grid in (art, art[:, ::-1]):
                ys, xs = np.nonzero(grid != ord("."))
                codes = grid[ys, xs]
                dx = (xs - grid.shape[1] // 2).astype(np.int64)
                dy = (ys - grid.shape[0]).astype(np.int64)
                parts.append((dx, dy, np.where(codes == ord("o"), -45.0, 0.0), codes == ord("L")))
        counts = np.array([len(p[0]) for p in parts], np.int64)
        return Sprites(
            np.cumsum(counts) - counts,
            counts,
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]),
        )

    def stamp(
        self,
        clip: Clip,
        frame: Ints,
        x: Ints,
        y: Ints,
        sprite: Ints,
        value: Floats,
        gain: Floats,
        offset: float,
        lamp_level: float,
    ) -> None:
        """Draw sprites with bottom-centre at (x, y) in frame ``frame`` of the clip.

        Pixel = (value + shade) * gain + offset; lamps shine at ``lamp_level`` at least.
        """
        if len(x) == 0:
            return
        _, height, width = clip.shape
        counts = self.count[sprite]
        owner = np.repeat(np.arange(len(x)), counts)
        pixel = np.arange(len(owner)) + np.repeat(self.start[sprite] - (np.cumsum(counts) - counts), counts)
        xs, ys = x[owner] + self.dx[pixel], y[owner] + self.dy[pixel]
        shown = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        level = (value[owner] + self.shade[pixel]) * gain[owner] + offset
        if lamp_level > 0:
            level = np.where(self.lamp[pixel], np.maximum(level, lamp_level), level)
        flat = (frame[owner] * height + ys) * width + xs
        clip.reshape(-1)[flat[shown]] = np.minimum(np.maximum(level[shown], 0.0), 255.0).astype(np.uint8)
