"""Load profiles: stages of offered rate over time, per feed, from YAML or from flags.

A stage says how many events per second the harness offers to one feed (or to ``all`` feeds mixed in the
simulation's own proportions) over a stretch of time. Stages of a feed follow one another unless a stage
gives ``start``; ``scale`` multiplies every rate, so a profile written for Điện Biên's traffic can be
replayed at ×20 with the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from iocsim.loadtest.errors import ProfileError
from iocsim.sim.errors import SimError
from iocsim.sim.scenario import parse_duration
from iocsim.sim.simulation import FEEDS

STAGE_KINDS = ("constant", "ramp", "step", "spike", "soak")
ALL_FEEDS = "all"
_STAGE_KEYS = {"kind", "feed", "start", "duration", "rate", "to_rate", "steps", "spike_at", "spike_duration"}
_PROFILE_KEYS = {"name", "scale", "feed", "scenario", "seed", "stages", "thresholds", "description"}


@dataclass(frozen=True)
class Stage:
    """One stretch of offered load. Rates are events/s after scaling.

    constant, soak: ``rate`` throughout (a soak is a long constant stage, named for its report).
    ramp: linear from ``rate`` to ``to_rate``. step: ``steps`` equal stairs from ``rate`` to ``to_rate``.
    spike: ``rate``, with ``to_rate`` from ``spike_at_s`` for ``spike_s`` seconds.
    """

    kind: str
    feed: str
    start_s: float
    duration_s: float
    rate: float
    to_rate: float | None = None
    steps: int | None = None
    spike_at_s: float | None = None
    spike_s: float | None = None

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def segments(self) -> list[tuple[float, float, float, float]]:
        """The stage as (start_s, duration_s, rate at start, rate at end) pieces, each constant or linear."""
        s, d, r = self.start_s, self.duration_s, self.rate
        if self.kind in ("constant", "soak"):
            return [(s, d, r, r)]
        to = self.to_rate if self.to_rate is not None else r
        if self.kind == "ramp":
            return [(s, d, r, to)]
        if self.kind == "step":
            n = self.steps or 1
            width = d / n
            rates = [r + (to - r) * i / (n - 1) if n > 1 else to for i in range(n)]
            return [(s + i * width, width, rate, rate) for i, rate in enumerate(rates)]
        at = self.spike_at_s if self.spike_at_s is not None else 0.0
        length = min(self.spike_s if self.spike_s is not None else d - at, d - at)
        pieces = [(s, at, r, r), (s + at, length, to, to), (s + at + length, d - at - length, r, r)]
        return [p for p in pieces if p[1] > 0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "feed": self.feed,
            "start_s": self.start_s,
            "duration_s": self.duration_s,
            "rate": self.rate,
            "to_rate": self.to_rate,
            "steps": self.steps,
            "spike_at_s": self.spike_at_s,
            "spike_s": self.spike_s,
        }


@dataclass(frozen=True)
class LoadProfile:
    """What to offer: stages (already scaled), the content's scenario and seed, and pass/fail thresholds."""

    name: str
    stages: tuple[Stage, ...]
    scale: float = 1.0
    scenario: str | None = None
    seed: int | None = None
    thresholds: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return max(stage.end_s for stage in self.stages)

    @property
    def feeds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(stage.feed for stage in self.stages))

    def with_scale(self, scale: float) -> LoadProfile:
        """The same shape at ``scale`` times the rates (relative to the profile's own scale)."""
        factor = scale / self.scale
        stages = tuple(
            replace(s, rate=s.rate * factor, to_rate=None if s.to_rate is None else s.to_rate * factor)
            for s in self.stages
        )
        return replace(self, stages=stages, scale=scale)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "scale": self.scale, "stages": [stage.as_dict() for stage in self.stages]}


def load_profile_file(path: str | Path) -> LoadProfile:
    file = Path(path)
    if not file.is_file():
        raise ProfileError("--profile", f"no such file: {path}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError("--profile", f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    return parse_profile(data, default_name=file.stem)


def parse_profile(data: Any, default_name: str = "profile") -> LoadProfile:
    if not isinstance(data, dict):
        raise ProfileError("profile", "must be a mapping with a 'stages' list")
    unknown = sorted(set(data) - _PROFILE_KEYS)
    if unknown:
        raise ProfileError(unknown[0], f"unknown profile key; expected one of {', '.join(sorted(_PROFILE_KEYS))}")
    scale = _positive(data.get("scale", 1.0), "scale")
    default_feed = _feed(data.get("feed", ALL_FEEDS), "feed")
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise ProfileError("stages", "must be a non-empty list of stages")
    stages: list[Stage] = []
    next_start: dict[str, float] = {}
    for i, raw in enumerate(raw_stages):
        stage = _stage(raw, f"stages[{i}]", default_feed, next_start)
        next_start[stage.feed] = stage.end_s
        stages.append(stage)
    thresholds = data.get("thresholds") or []
    if not isinstance(thresholds, list) or not all(isinstance(t, str) for t in thresholds):
        raise ProfileError("thresholds", "must be a list of expressions such as 'lost == 0'")
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise ProfileError("seed", f"{seed!r} is not a non-negative integer")
    scenario = data.get("scenario")
    unscaled = LoadProfile(
        name=str(data.get("name") or default_name),
        stages=tuple(stages),
        scale=1.0,
        scenario=None if scenario is None else str(scenario),
        seed=seed,
        thresholds=tuple(thresholds),
    )
    return unscaled.with_scale(scale)


def constant_profile(rate: float, duration: str | float, feed: str = ALL_FEEDS, scale: float = 1.0) -> LoadProfile:
    """The profile that ``--rate N --duration D [--feed F] [--scale X]`` describe."""
    seconds = _duration(duration, "--duration")
    if seconds <= 0:
        raise ProfileError("--duration", "must be positive")
    stage = Stage("constant", _feed(feed, "--feed"), 0.0, seconds, _rate(rate, "--rate"))
    return LoadProfile(name=f"constant {rate:g}/s", stages=(stage,)).with_scale(_positive(scale, "--scale"))


def _stage(raw: Any, where: str, default_feed: str, next_start: dict[str, float]) -> Stage:
    if not isinstance(raw, dict):
        raise ProfileError(where, "must be a mapping such as {kind: constant, rate: 1000, duration: 60s}")
    unknown = sorted(set(raw) - _STAGE_KEYS)
    if unknown:
        raise ProfileError(
            f"{where}.{unknown[0]}", f"unknown stage key; expected one of {', '.join(sorted(_STAGE_KEYS))}"
        )
    kind = raw.get("kind")
    if kind not in STAGE_KINDS:
        raise ProfileError(f"{where}.kind", f"{kind!r} is not a stage kind; choose from {', '.join(STAGE_KINDS)}")
    feed = _feed(raw.get("feed", default_feed), f"{where}.feed")
    duration = _duration(raw.get("duration"), f"{where}.duration")
    if duration <= 0:
        raise ProfileError(f"{where}.duration", "must be positive")
    start = _duration(raw["start"], f"{where}.start") if "start" in raw else next_start.get(feed, 0.0)
    rate = _rate(raw.get("rate"), f"{where}.rate")
    to_rate = None
    if kind in ("ramp", "step", "spike"):
        to_rate = _rate(raw.get("to_rate"), f"{where}.to_rate")
    elif "to_rate" in raw:
        raise ProfileError(f"{where}.to_rate", f"a {kind} stage has one rate")
    steps = None
    if kind == "step":
        steps = raw.get("steps", 5)
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ProfileError(f"{where}.steps", f"{steps!r} is not a positive integer")
    spike_at = spike_s = None
    if kind == "spike":
        spike_at = _duration(raw.get("spike_at", 0), f"{where}.spike_at")
        spike_s = _duration(raw.get("spike_duration", duration - spike_at), f"{where}.spike_duration")
        if spike_at >= duration or spike_s <= 0:
            raise ProfileError(f"{where}.spike_at", "the spike must start and last within the stage")
    return Stage(kind, feed, start, duration, rate, to_rate, steps, spike_at, spike_s)


def _feed(value: Any, where: str) -> str:
    if value != ALL_FEEDS and value not in FEEDS:
        raise ProfileError(where, f"{value!r} is not a feed; choose from {ALL_FEEDS}, {', '.join(FEEDS)}")
    return str(value)


def _duration(value: Any, where: str) -> float:
    if value is None:
        raise ProfileError(where, "is required (e.g. 45s, 20m, 1h30m)")
    try:
        return parse_duration(value, where)
    except SimError as exc:
        raise ProfileError(where, exc.reason) from exc


def _rate(value: Any, where: str) -> float:
    if value is None:
        raise ProfileError(where, "is required (events per second)")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfileError(where, f"{value!r} is not a number of events per second")
    if value < 0 or value != value:
        raise ProfileError(where, f"must not be negative, got {value}")
    return float(value)


def _positive(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProfileError(where, f"{value!r} is not a number") from None
    if not number > 0:
        raise ProfileError(where, f"must be positive, got {value}")
    return number


__all__ = ["ALL_FEEDS", "STAGE_KINDS", "LoadProfile", "Stage", "constant_profile", "load_profile_file", "parse_profile"]
