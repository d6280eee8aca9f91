"""Backgrounds of the eight scene types, drawn in frame units with small per-camera variations."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from iocsim.sim.cameras.layouts import FrameGeometry, Layout, Painter


def _crossroads(p: Painter) -> None:
    p.rect(-0.3, -0.3, 1.3, 1.3, 150)
    for u in np.arange(-0.2, 1.2, 0.28):
        p.building(u + p.jitter(0.02), -0.2, u + 0.24, 0.33 + p.jitter(0.03))
    v, u = 0.66 + p.jitter(), 0.5 + p.jitter()
    p.road(-0.3, v, 1.3, v, 0.28)
    p.road(u, 1.3, u, 0.36, 0.22 * p.g.width / p.g.height)
    for k in range(6):
        p.rect(u + 0.14, v - 0.12 + k * 0.045, u + 0.26, v - 0.1 + k * 0.045, 215)
    p.lane(-0.3, 0.43, 1.3, 0.43, "person")
    p.lane(-0.3, 0.93, 1.3, 0.93, "person")
    p.lane(u + 0.2, 0.43, u + 0.2, 0.93, "person")
    for lu in (0.1, 0.8):
        p.lamp(lu + p.jitter(), 0.45)
    p.lamp(0.3, 0.95)


def _market(p: Painter) -> None:
    p.rect(-0.3, -0.3, 1.3, 1.3, 135)
    p.building(-0.2, -0.25, 1.2, 0.15)
    for row_v in (0.22, 0.56):
        for u in np.arange(-0.2, 1.2, 0.2):
            u0 = u + p.jitter(0.02)
            p.rect(u0, row_v, u0 + 0.17, row_v + 0.16, p.rng.uniform(120, 200))
            for s in range(4):
                p.line(u0 + s * 0.045, row_v, u0 + s * 0.045, row_v + 0.16, 90.0)
    p.road(-0.3, 0.92, 1.3, 0.92, 0.14)
    for v in (0.45, 0.8):
        p.lane(-0.3, v, 1.3, v, "person")
    for _ in range(4):
        p.lane(p.rng.uniform(-0.3, 1.3), -0.2, p.rng.uniform(-0.3, 1.3), 1.2, "person")
    p.lamp(0.3, 0.5)
    p.lamp(0.85, 0.82)


def _school_gate(p: Painter) -> None:
    p.rect(-0.3, -0.3, 1.3, 1.3, 150)
    p.building(-0.1, -0.25, 1.1, 0.12)
    p.rect(-0.3, 0.2, 1.3, 0.48, 185)
    gate = 0.5 + p.jitter()
    p.rect(gate - 0.12, 0.2, gate + 0.12, 0.48, 110)
    for s in np.arange(gate - 0.11, gate + 0.12, 0.03):
        p.line(s, 0.22, s, 0.48, 50.0)
    p.rect(gate - 0.15, 0.12, gate + 0.15, 0.2, 70)
    p.road(-0.3, 0.78, 1.3, 0.78, 0.26)
    p.lane(gate, 0.4, gate + p.jitter(0.2), 1.3, "person")
    p.lane(gate - 0.05, 0.4, gate - 0.4, 1.3, "person")
    p.lane(-0.3, 0.56, 1.3, 0.56, "person")
    p.lamp(gate - 0.25, 0.55)
    p.lamp(gate + 0.25, 0.55)


def _bridge(p: Painter) -> None:
    p.rect(-0.3, -0.3, 1.3, 0.2, 210)
    p.poly([(-0.3, 0.3), (0.1, 0.05), (0.45, 0.22), (0.8, 0.02), (1.3, 0.28)], 105)
    p.rect(-0.3, 0.3, 1.3, 1.3, 70)
    for v in np.arange(0.72, 1.3, 0.06):
        p.line(-0.3, v + p.jitter(0.01), 1.3, v + p.jitter(0.01), 95.0)
    v = 0.55 + p.jitter()
    p.rect(-0.3, v - 0.14, 1.3, v + 0.16, 120)
    p.road(-0.3, v, 1.3, v, 0.2)
    for u in np.arange(-0.3, 1.3, 0.06):
        p.line(u, v - 0.2, u, v - 0.13, 200.0)
        p.line(u, v + 0.14, u, v + 0.22, 200.0)
    p.line(-0.3, v - 0.2, 1.3, v - 0.2, 200.0, 2)
    p.lane(-0.3, v - 0.125, 1.3, v - 0.125, "person")
    p.lamp(0.2, v - 0.13)
    p.lamp(0.75, v - 0.13)


def _commune_office(p: Painter) -> None:
    p.rect(-0.3, -0.3, 1.3, 1.3, 125)
    p.building(0.05 + p.jitter(), -0.15, 0.95 + p.jitter(), 0.42)
    p.rect(0.35, 0.06, 0.65, 0.14, 150)
    for u in np.arange(0.12, 0.95, 0.12):
        p.rect(u, 0.2, u + 0.025, 0.42, 225)
    p.rect(-0.3, 0.42, 1.3, 0.78, 165)
    for v in np.arange(0.45, 0.78, 0.06):
        p.line(-0.3, v, 1.3, v, 140.0)
    p.line(0.1, 0.7, 0.1, 0.2, 220.0)
    p.rect(0.1, 0.2, 0.2, 0.27, 90)
    p.road(-0.3, 0.9, 1.3, 0.9, 0.18)
    p.lane(0.5, 0.43, 0.5 + p.jitter(0.1), 1.3, "person")
    p.lane(-0.3, 0.76, 1.3, 0.76, "person")
    p.lane(0.3, 0.43, 1.2, 0.7, "person")
    p.lamp(0.75, 0.78)


def _border_road(p: Painter) -> None:
    p.rect(-0.3, -0.3, 1.3, 0.25, 205)
    p.poly([(-0.3, 0.45), (0.0, 0.1), (0.3, 0.3), (0.6, 0.02), (1.0, 0.25), (1.3, 0.12), (1.3, 1.3), (-0.3, 1.3)], 125)
    p.trees(40, -0.3, 0.2, 1.3, 1.3)
    v0, v1 = 0.55 + p.jitter(), 0.95 + p.jitter()
    p.road(-0.3, v0, 1.3, v1, 0.2)
    p.lane(-0.3, v0 - 0.12, 1.3, v1 - 0.12, "person")
    p.rect(0.72, v0 - 0.02, 0.86, v0 + 0.12, 175)


def _bus_station(p: Painter) -> None:
    p.rect(-0.3, -0.3, 1.3, 1.3, 100)
    p.building(-0.25, -0.25, 1.25, 0.2)
    p.rect(-0.3, 0.2, 1.3, 0.26, 60)
    for u in np.arange(-0.2, 1.2, 0.3):
        u0 = u + p.jitter(0.03)
        p.rect(u0, 0.36, u0 + 0.24, 0.52, p.rng.uniform(150, 220))
        p.rect(u0 + 0.02, 0.38, u0 + 0.22, 0.43, 60)
    p.road(-0.3, 0.74, 1.3, 0.74, 0.26)
    p.lane(-0.3, 0.3, 1.3, 0.3, "person")
    for _ in range(3):
        u = p.rng.uniform(0.0, 1.0)
        p.lane(u, 0.28, u + p.jitter(0.3), 1.3, "person")
    p.lamp(0.25, 0.56)
    p.lamp(0.7, 0.56)


def _square(p: Painter) -> None:
    p.rect(-0.3, -0.3, 1.3, 1.3, 160)
    for u in np.arange(-0.3, 1.3, 0.08):
        p.line(u, 0.15, u, 1.3, 140.0)
    for v in np.arange(0.15, 1.3, 0.1):
        p.line(-0.3, v, 1.3, v, 140.0)
    p.road(-0.3, 0.05, 1.3, 0.05, 0.16)
    cu = 0.5 + p.jitter()
    p.rect(cu - 0.1, 0.3, cu + 0.1, 0.5, 190)
    p.rect(cu - 0.03, 0.12, cu + 0.03, 0.32, 120)
    p.trees(6, -0.25, 0.15, 0.15, 0.9)
    p.trees(6, 0.85, 0.15, 1.25, 0.9)
    for _ in range(6):
        p.lane(p.rng.uniform(-0.3, 1.3), 0.15, p.rng.uniform(-0.3, 1.3), 1.3, "person")
    p.lane(-0.3, 0.6, 1.3, 0.65, "person")
    for u in (0.15, 0.5, 0.85):
        p.lamp(u, 0.7)


_DRAWERS: dict[str, Callable[[Painter], None]] = {
    "crossroads": _crossroads,
    "market": _market,
    "school_gate": _school_gate,
    "bridge": _bridge,
    "commune_office": _commune_office,
    "border_road": _border_road,
    "bus_station": _bus_station,
    "square": _square,
}


def draw_layout(scene: str, geometry: FrameGeometry, rng: np.random.Generator) -> Layout:
    """Background, lanes and night light of one camera; ``rng`` varies the details."""
    painter = Painter(geometry, rng)
    _DRAWERS[scene](painter)
    return painter.finish()
