"""What the camera detectors remember per camera, as plain JSON-able data.

One :class:`CameraState` per camera id (the Kafka key of the observations
topic), so a worker's state lives on the partition of the messages that
change it. Levels are kept in log space (``log1p``): the rules compare
ratios, and a log level averages a scene's light or crowd fairly. "Never" is
``None`` rather than an infinity, which JSON cannot carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from iocsim.streams.errors import StateError

HOURS = 24


class Gate(msgspec.Struct, kw_only=True):
    """Passes a rule's verdict on change, while active, and for a quiet spell after clearing.

    The lifecycle needs repeated verdicts to move from pending to firing and a
    later false one to resolve; steady "all is well" needs no message.
    """

    active: bool = False
    at: float | None = None
    quiet_until: float | None = None

    def offer(self, t: float, active: bool, quiet: float, heartbeat: float = 0.0) -> bool:
        """Whether a verdict at ``t`` should become a signal; remembers it if so."""
        if self.at is not None and t <= self.at:
            return False
        if active == self.active:
            if active and self.at is not None and t - self.at < heartbeat:
                return False
            if not active and (self.quiet_until is None or t > self.quiet_until):
                return False
        elif not active:
            self.quiet_until = t + quiet
        self.active, self.at = active, t
        return True


class Condition(msgspec.Struct, kw_only=True):
    """One tamper verdict and, while it holds, the anomalous levels it is tracking."""

    active: bool = False
    since: float | None = None
    brightness: float = 0.0
    sharpness: float = 0.0


class Tamper(msgspec.Struct, kw_only=True):
    """Short-term reference of the healthy view (log brightness, log sharpness, displacement px).

    ``previous`` and ``previous_sharpness`` are the log levels of the previous observation,
    whatever its verdicts. ``sharpness_step`` is the usual absolute change of log sharpness
    from one healthy clip to the next (0 in a state saved before it was kept: learned anew).
    """

    seen: int = 0
    brightness: float = 0.0
    sharpness: float = 0.0
    sharpness_step: float = 0.0
    displacement: float = 0.0
    previous: float = 0.0
    previous_sharpness: float = 0.0
    covered: Condition = msgspec.field(default_factory=Condition)
    defocused: Condition = msgspec.field(default_factory=Condition)
    turned: Condition = msgspec.field(default_factory=Condition)

    def any_active(self) -> bool:
        return self.covered.active or self.defocused.active or self.turned.active


class Activity(msgspec.Struct, kw_only=True):
    """Short-term and per-local-hour levels of log1p(blobs) and log1p(motion per mille).

    ``peak`` is the short-term blob level's recent maximum, falling by a fixed step per observation;
    ``busy`` counts the observations in a row at which the scene was expected to hold a crowd's minimum;
    ``score`` and ``presence`` are the night-intrusion CUSUMs of blobs and of clips with anything in view;
    ``night`` is the scene's mean capped blobs per clip while it is judged empty (0 in a state saved before it
    was kept: learned anew); ``recent_people`` and ``recent_motion`` are the levels of the last clips, the
    crowd rule's medians (kept as flat lists: a list of pairs cost more to unpack and rebuild per batch
    than the rules that read it), and ``recent_detail`` their log1p(sharpness). ``light`` is the short-term
    level of log1p(brightness), learned as the people's level is; ``crowd_detail`` is the detail before the
    crowd being alerted (None when there is none).
    """

    seen: int = 0
    busy: int = 0
    blobs: float = 0.0
    peak: float = 0.0
    motion: float = 0.0
    hours: list[list[float]] = msgspec.field(default_factory=lambda: [[0.0, 0.0, 0.0] for _ in range(HOURS)])
    recent_people: list[float] = msgspec.field(default_factory=list)
    recent_motion: list[float] = msgspec.field(default_factory=list)
    recent_detail: list[float] = msgspec.field(default_factory=list)
    light: float | None = None
    crowd_detail: float | None = None
    crowd: bool = False
    intrusion: bool = False
    score: float = 0.0
    presence: float = 0.0
    night: float = 0.0


class CameraState(msgspec.Struct, kw_only=True):
    """Everything remembered of one camera."""

    district: str
    commune: str | None = None
    scene: str | None = None
    last: float | None = None
    gaps: list[float] = msgspec.field(default_factory=list)
    outage: float | None = None
    offline: bool = False
    tamper: Tamper = msgspec.field(default_factory=Tamper)
    activity: Activity = msgspec.field(default_factory=Activity)
    gates: dict[str, Gate] = msgspec.field(default_factory=dict)

    def gate(self, rule: str) -> Gate:
        gate = self.gates.get(rule)
        if gate is None:
            gate = self.gates[rule] = Gate()
        return gate

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> CameraState:
        activity = data.get("activity")
        if isinstance(activity, Mapping) and "recent" in activity:  # saved when the levels were kept as pairs
            pairs = activity["recent"]
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise StateError(f"{key}.activity.recent", "must be a list of [people, motion] pairs")
            people, motion = [p[0] for p in pairs], [p[1] for p in pairs]
            data = {**data, "activity": {**activity, "recent_people": people, "recent_motion": motion}}
        try:
            state = msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            raise StateError(key, str(exc)) from exc
        if len(state.activity.recent_people) != len(state.activity.recent_motion):
            raise StateError(f"{key}.activity.recent_motion", "must be as long as recent_people")
        if not state.tamper.sharpness_step >= 0:
            raise StateError(f"{key}.tamper.sharpness_step", "must be a number >= 0")
        if not state.activity.night >= 0:
            raise StateError(f"{key}.activity.night", "must be a number >= 0")
        if len(state.activity.hours) != HOURS or any(len(bucket) != 3 for bucket in state.activity.hours):
            raise StateError(f"{key}.activity.hours", f"must be {HOURS} buckets of [blobs, motion, count]")
        return state
