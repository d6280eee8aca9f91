"""Load profiles: stages of offered rate over time, per feed, from YAML or from flags.

A stage says how many events per second the harness offers to one feed (or to ``all`` feeds mixed in the
simulation's own proportions) over a stretch of time. Stages of a feed follow one another unless a stage
gives ``start``; ``scale`` multiplies every rate, so a profile written for Điện Biên's traffic can be
replayed at ×20 with the same shape. A ``province`` stage needs no rate at all: it offers the province's own
simulated day (see ``daily_traffic``), from a local clock time and sped up, times ``scale``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from iocsim.loadtest.daily_traffic import DAY_S, daily_traffic, representative_day
from iocsim.loadtest.errors import ProfileError
from iocsim.sim.errors import SimError
from iocsim.sim.profiles import DEFAULT_PROFILE, load_profile
from iocsim.sim.scenario import clean_scenario, load_scenario, parse_duration
from iocsim.sim.simulation import FEEDS

STAGE_KINDS = ("constant", "ramp", "step", "spike", "soak", "province")
ALL_FEEDS = "all"
_STAGE_KEYS = {
    "kind",
    "feed",
    "start",
    "duration",
    "rate",
    "to_rate",
    "steps",
    "spike_at",
    "spike_duration",
    "start_at",
    "speed",
    "date",
}
_PROVINCE_KEYS = {"start_at", "speed", "date"}
_RATE_KEYS = ("rate", "to_rate", "steps", "spike_at", "spike_duration")
MAX_PROVINCE_DAYS = 31
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True)
class ProvinceDay:
    """Where a province stage runs through the simulated day, and the shape of its rate.

    ``shape`` holds (offset_s, duration_s, factor) pieces in wall seconds from the stage's start; a piece's
    rate is the stage's ``rate`` (its mean) times ``factor``, so scaling the stage keeps the shape exactly.
    """

    province: str
    date: str
    start_at_s: float
    speed: float
    shape: tuple[tuple[float, float, float], ...]


_PROFILE_KEYS = {"name", "scale", "feed", "scenario", "seed", "stages", "thresholds", "description"}


@dataclass(frozen=True)
class Stage:
    """One stretch of offered load. Rates are events/s after scaling.

    constant, soak: ``rate`` throughout (a soak is a long constant stage, named for its report).
    ramp: linear from ``rate`` to ``to_rate``. step: ``steps`` equal stairs from ``rate`` to ``to_rate``.
    spike: ``rate``, with ``to_rate`` from ``spike_at_s`` for ``spike_s`` seconds.
    province: the province's simulated day (``day``), ``rate`` being its mean over the stage.
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
    day: ProvinceDay | None = None

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def segments(self) -> list[tuple[float, float, float, float]]:
        """The stage as (start_s, duration_s, rate at start, rate at end) pieces, each constant or linear."""
        s, d, r = self.start_s, self.duration_s, self.rate
        if self.kind in ("constant", "soak"):
            return [(s, d, r, r)]
        if self.day is not None:
            return [(s + offset, length, r * factor, r * factor) for offset, length, factor in self.day.shape]
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
        stage = {
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
        if self.day is not None:
            seconds = round(self.day.start_at_s)
            stage.update(
                province=self.day.province,
                date=self.day.date,
                start_at=f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
                speed=self.day.speed,
                peak_rate=max((self.rate * factor for _, _, factor in self.day.shape), default=0.0),
            )
        return stage


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
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise ProfileError("seed", f"{seed!r} is not a non-negative integer")
    scenario = data.get("scenario")
    province = _province_source(None if scenario is None else str(scenario), seed)
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise ProfileError("stages", "must be a non-empty list of stages")
    stages: list[Stage] = []
    next_start: dict[str, float] = {}
    for i, raw in enumerate(raw_stages):
        feed, made = _stage(raw, f"stages[{i}]", default_feed, next_start, province)
        for stage in made:
            next_start[stage.feed] = next_start[feed] = stage.end_s
            stages.append(stage)
    thresholds = data.get("thresholds") or []
    if not isinstance(thresholds, list) or not all(isinstance(t, str) for t in thresholds):
        raise ProfileError("thresholds", "must be a list of expressions such as 'lost == 0'")
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


ProvinceSource = Callable[[], tuple[str, int, dt.date]]
"""The province (profile name or path), seed and representative day that province stages simulate."""


def _province_source(scenario_name: str | None, seed: int | None) -> ProvinceSource:
    """Looked up on first use only: loading the scenario and simulating its day is for province stages."""
    found: list[tuple[str, int, dt.date]] = []

    def source() -> tuple[str, int, dt.date]:
        if not found:
            try:
                scenario = load_scenario(scenario_name) if scenario_name else clean_scenario(DAY_S)
                province = scenario.profile or DEFAULT_PROFILE
                day = representative_day(scenario, load_profile(province))
            except SimError as exc:
                raise ProfileError("scenario", exc.reason) from exc
            chosen = seed if seed is not None else (scenario.seed if scenario.seed is not None else 1)
            found.append((province, chosen, day))
        return found[0]

    return source


def _stage(
    raw: Any, where: str, default_feed: str, next_start: dict[str, float], province: ProvinceSource
) -> tuple[str, list[Stage]]:
    """The stage's feed as written, and the stages it makes (a province stage on ``all`` makes one per feed)."""
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
    if kind == "province":
        return feed, _province_stages(raw, where, feed, start, duration, province)
    extra = sorted(_PROVINCE_KEYS & set(raw))
    if extra:
        raise ProfileError(f"{where}.{extra[0]}", f"only a province stage runs through the simulated day, not {kind}")
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
    return feed, [Stage(kind, feed, start, duration, rate, to_rate, steps, spike_at, spike_s)]


def _province_stages(
    raw: dict[str, Any], where: str, feed: str, start: float, duration: float, province: ProvinceSource
) -> list[Stage]:
    """One stage per feed, each offering speed × the feed's day rate at ``start_at + speed × t``."""
    given = [key for key in _RATE_KEYS if key in raw]
    if given:
        raise ProfileError(
            f"{where}.{given[0]}", "a province stage takes its rates from the province's day; use scale to multiply"
        )
    start_at = _clock(raw.get("start_at", "00:00"), f"{where}.start_at")
    speed = _positive(raw.get("speed", 1.0), f"{where}.speed")
    if not math.isfinite(speed) or speed * duration > MAX_PROVINCE_DAYS * DAY_S:
        raise ProfileError(
            f"{where}.speed", f"speed × duration must cover at most {MAX_PROVINCE_DAYS} simulated days, got {speed}"
        )
    name, seed, representative = province()
    date = _date(raw["date"], f"{where}.date") if "date" in raw else representative
    try:
        traffic = daily_traffic(name, seed, date)
    except SimError as exc:
        raise ProfileError(f"{where}.date", exc.reason) from exc
    stages = []
    for each in traffic.feeds_of(feed):
        pieces = traffic.pieces(each, start_at, speed, duration)
        mean = sum(length * rate for _, length, rate in pieces) / duration
        shape = tuple((offset, length, rate / mean if mean > 0 else 0.0) for offset, length, rate in pieces)
        day = ProvinceDay(traffic.province, date.isoformat(), start_at, speed, shape)
        stages.append(Stage("province", each, start, duration, mean, day=day))
    return stages


def _clock(value: Any, where: str) -> float:
    """Seconds after local midnight from ``"07:00"`` or ``"07:00:30"``."""
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        hint = " (quote it: YAML reads an unquoted 11:00 as the number 660)" if isinstance(value, int) else ""
        raise ProfileError(where, f"{value!r} is not a local clock time HH:MM{hint}")
    hours, minutes, seconds = (int(group) if group else 0 for group in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ProfileError(where, f"{value!r} is not a day YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ProfileError(where, f"{value!r} is not a day YYYY-MM-DD") from None


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


__all__ = [
    "ALL_FEEDS",
    "STAGE_KINDS",
    "LoadProfile",
    "ProvinceDay",
    "Stage",
    "constant_profile",
    "load_profile_file",
    "parse_profile",
]
