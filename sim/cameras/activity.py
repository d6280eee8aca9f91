"""How many people and vehicles a scene holds at a given local hour.

These curves are modelling assumptions (the domain brief gives no counts per
camera): morning markets in the north-west highlands are busiest 6–10 h;
school gates peak at drop-off (≈7 h), the lunch break (≈11 h, when pupils go
home) and pick-up (≈17 h) on school days; town crossroads carry commuter peaks
at 7 h and 17 h plus the lunch-time trips home common in Vietnam; squares fill
for dawn and evening exercise; border roads see little traffic; everything is
near empty at night. Motorbikes dominate traffic in Vietnam, so most vehicles
are motorbikes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NIGHT_FLOOR = 0.01


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


def _daytime(hour: float) -> float:
    """A plateau from about 6 h to 21 h with soft edges."""
    rise = 1 / (1 + math.exp(-(hour - 6.0) * 2.5))
    fall = 1 / (1 + math.exp((hour - 21.0) * 2.0))
    return rise * fall


def _office_hours(hour: float) -> float:
    return 1.0 if 7.5 <= hour < 11.5 or 13.5 <= hour < 17.0 else 0.0


def _shape(scene: str, hour: float, workday: bool) -> float:
    day = _daytime(hour)
    if scene == "market":
        return 0.25 * day + _bump(hour, 7.5, 1.3) + 0.3 * _bump(hour, 16.0, 1.5)
    if scene in ("crossroads", "bridge"):
        if not workday:
            return 0.45 * day + 0.3 * _bump(hour, 10.0, 2.0) + 0.4 * _bump(hour, 17.0, 2.0)
        return (
            0.35 * day
            + 0.9 * _bump(hour, 7.0, 0.8)
            + 0.5 * _bump(hour, 11.3, 0.6)
            + 0.5 * _bump(hour, 13.3, 0.6)
            + _bump(hour, 17.2, 0.9)
        )
    if scene == "school_gate":
        if not workday:
            return 0.05 * day
        return (
            0.05 * day
            + _bump(hour, 7.0, 0.35)
            + 0.9 * _bump(hour, 11.2, 0.35)
            + 0.6 * _bump(hour, 13.3, 0.3)
            + _bump(hour, 17.0, 0.4)
        )
    if scene == "commune_office":
        return 0.05 * day + (0.8 * _office_hours(hour) if workday else 0.0)
    if scene == "border_road":
        return 0.6 * day + 0.4 * _bump(hour, 8.0, 1.5)
    if scene == "bus_station":
        return 0.4 * day + _bump(hour, 6.0, 1.0) + 0.5 * _bump(hour, 13.0, 1.5) + 0.4 * _bump(hour, 17.0, 1.0)
    if scene == "square":
        return 0.2 * day + 0.6 * _bump(hour, 5.8, 0.6) + _bump(hour, 19.5, 1.5)
    raise ValueError(f"unknown scene type {scene!r}")


@dataclass(frozen=True)
class SceneActivity:
    """Expected numbers in view at the busiest time, and the vehicle mix."""

    people: float
    vehicles: float
    motorbike: float = 0.82
    car: float = 0.14
    truck: float = 0.04


ACTIVITY: dict[str, SceneActivity] = {
    "market": SceneActivity(people=30, vehicles=4),
    "crossroads": SceneActivity(people=6, vehicles=8),
    "school_gate": SceneActivity(people=35, vehicles=10, motorbike=0.92, car=0.07, truck=0.01),
    "bridge": SceneActivity(people=3, vehicles=5),
    "commune_office": SceneActivity(people=8, vehicles=2),
    "border_road": SceneActivity(people=0.4, vehicles=0.8, motorbike=0.55, car=0.2, truck=0.25),
    "bus_station": SceneActivity(people=14, vehicles=4, motorbike=0.6, car=0.15, truck=0.25),
    "square": SceneActivity(people=25, vehicles=2),
}


def busyness(scene: str, hour: float, workday: bool) -> float:
    """Share of the scene's peak crowd present at a local hour (NIGHT_FLOOR at night)."""
    return max(NIGHT_FLOOR, min(1.2, _shape(scene, hour, workday)))


def expected_counts(scene: str, hour: float, workday: bool) -> dict[str, float]:
    """Expected number of each kind of road user in view."""
    activity = ACTIVITY[scene]
    level = busyness(scene, hour, workday)
    vehicles = activity.vehicles * level
    return {
        "person": activity.people * level,
        "motorbike": vehicles * activity.motorbike,
        "car": vehicles * activity.car,
        "truck": vehicles * activity.truck,
    }
