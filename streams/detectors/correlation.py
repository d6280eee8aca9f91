"""Cross-feed correlation on ``ioc.alerts``: an incident burst and unusual camera activity in one district.

A burst of field reports in a commune says something happened; a crowd or a
night intrusion on a camera of the same district says people are gathering
there. Either alone may be noise; together, within ``window_seconds`` of each
other, they are one incident worth a critical page: rule
``correlation.incident`` (kind ``correlated_incident``, entity = district).

It is raised when the second of the two fires, if the first is firing or
ended at most ``window_seconds`` before, and it holds while either of them is
firing. Reports come minutes after what they report, and a crowd alert can
end while people still stand there (its rule judges the camera's recent
level, which a long crowd raises): requiring both to fire at once missed 8
of 43 injected correlated incidents whose burst and crowd were both alerted
(``benchmarks/eval_detection.py --feeds correlation``, seeds 1-50 and
1001-1030).

The detector keeps per district the source alerts firing or recently ended,
keyed by fingerprint, with the time of each one's latest transition: a
replayed or late transition older than what is known changes nothing. Its
own alerts (kind ``correlated_incident``) are ignored. While the combination
holds, :meth:`tick` repeats it every ``heartbeat_seconds`` so the lifecycle
does not take the district for silent. Evidence: ``observed`` is the time
(s) from the end of the earlier alert to the start of the later one (0 while
the earlier still fires), ``threshold`` the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from iocsim.contract import ALERTS, Alert, Envelope, Evidence
from iocsim.sim.profiles import Profile
from iocsim.streams.detector import Detector
from iocsim.streams.detectors.camera_state import Gate
from iocsim.streams.errors import SettingsError, StateError
from iocsim.streams.lifecycle import RuleTiming, Signal

RULE = "correlation.incident"
BURST_KINDS = frozenset({"incident_burst"})
ACTIVITY_KINDS = frozenset({"crowd", "night_intrusion"})


@dataclass(frozen=True)
class CorrelationSettings:
    """``window_seconds`` (assumption: 30 minutes) bounds the gap between the two alerts' starts."""

    window_seconds: float = 1800.0
    heartbeat_seconds: float = 300.0
    retention_seconds: float = 6 * 3600.0
    quiet_seconds: float = 600.0

    def __post_init__(self) -> None:
        for name in ("window_seconds", "heartbeat_seconds", "retention_seconds", "quiet_seconds"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"correlation.{name}", "must be > 0")


def correlation_timing() -> RuleTiming:
    """Suggested lifecycle timing: both sources already passed their own debouncing."""
    return RuleTiming(for_seconds=0.0, resolve_after_seconds=0.0)


class Source(msgspec.Struct, kw_only=True):
    """A source alert as last seen: its entity, kind, start, latest transition, and whether it is firing."""

    entity: str
    kind: str
    starts_at: float
    at: float
    firing: bool


class DistrictState(msgspec.Struct, kw_only=True):
    sources: dict[str, Source] = msgspec.field(default_factory=dict)
    gate: Gate = msgspec.field(default_factory=Gate)
    pair: list[str] = msgspec.field(default_factory=list)


class CorrelationDetector:
    """Correlated incidents per district (see module docstring)."""

    name = "correlation"
    topic = ALERTS

    def __init__(self, settings: CorrelationSettings | None = None) -> None:
        self.settings = settings or CorrelationSettings()
        self._states: dict[str, DistrictState] = {}

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        return {m.district for m in messages if isinstance(m, Alert) and is_source(m)}

    def load_state(self, key: str, state: dict[str, Any]) -> None:
        try:
            self._states[key] = msgspec.convert(state, DistrictState)
        except msgspec.ValidationError as exc:
            raise StateError(key, str(exc)) from exc

    def export_state(self, key: str) -> dict[str, Any] | None:
        state = self._states.get(key)
        if state is None:
            return None
        data: dict[str, Any] = msgspec.to_builtins(state)
        return data

    def forget(self, key: str) -> None:
        self._states.pop(key, None)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        alerts = sorted((m for m in messages if isinstance(m, Alert) and is_source(m)), key=lambda a: a.event_time)
        signals: list[Signal] = []
        for alert in alerts:
            state = self._states.setdefault(alert.district, DistrictState())
            if self._apply(state, alert):
                signal = self._judge(alert.district, state, alert.event_time, heartbeat=None)
                if signal is not None:
                    signals.append(signal)
        return signals

    def tick(self, event_time: float) -> list[Signal]:
        signals = []
        for district in sorted(self._states):
            state = self._states[district]
            signal = self._judge(district, state, event_time, heartbeat=self.settings.heartbeat_seconds)
            if signal is not None:
                signals.append(signal)
        return signals

    def _apply(self, state: DistrictState, alert: Alert) -> bool:
        """Record a source transition; False for one not newer than what is known of its fingerprint."""
        p = alert.payload
        known = state.sources.get(p.fingerprint)
        if known is not None and alert.event_time <= known.at:
            return False
        state.sources[p.fingerprint] = Source(
            entity=alert.entity_id, kind=p.kind, starts_at=p.starts_at, at=alert.event_time, firing=p.status == "firing"
        )
        horizon = alert.event_time - self.settings.retention_seconds
        state.sources = {k: v for k, v in state.sources.items() if v.firing or v.at >= horizon}
        return True

    def _judge(self, district: str, state: DistrictState, t: float, heartbeat: float | None) -> Signal | None:
        pair = self._best_pair(state)
        active = pair is not None
        if heartbeat is not None and not active and not state.gate.active:
            return None
        if not state.gate.offer(t, active, self.settings.quiet_seconds, heartbeat or 0.0):
            return None
        if pair is not None:
            state.pair = [pair[0].entity, pair[1].entity]
        burst_entity, camera = state.pair if len(state.pair) == 2 else ("", "")
        gap = _gap(*pair) if pair is not None else 0.0
        return Signal(
            rule=RULE,
            kind="correlated_incident",
            entity_id=district,
            district=district,
            commune=burst_entity or None,
            active=active,
            event_time=t,
            severity="critical",
            evidence=Evidence(
                observed=round(gap, 3), baseline=0.0, threshold=self.settings.window_seconds, event_time=t
            ),
            summary=f"incident burst in {burst_entity} with unusual activity at camera {camera} ({district})",
        )

    def _best_pair(self, state: DistrictState) -> tuple[Source, Source] | None:
        """The burst and activity alert, one of them firing, closest in time, if within the window."""
        known = sorted(state.sources.values(), key=lambda s: (s.starts_at, s.entity))
        bursts = [s for s in known if s.kind in BURST_KINDS]
        activity = [s for s in known if s.kind in ACTIVITY_KINDS]
        best: tuple[Source, Source] | None = None
        for burst in bursts:
            for seen in activity:
                if not (burst.firing or seen.firing):
                    continue
                gap = _gap(burst, seen)
                if gap <= self.settings.window_seconds and (best is None or gap < _gap(*best)):
                    best = (burst, seen)
        return best


def _gap(one: Source, other: Source) -> float:
    """Time from the end of the earlier-starting alert to the start of the other (0 if it was still firing)."""
    first, second = (one, other) if one.starts_at <= other.starts_at else (other, one)
    return 0.0 if first.firing else max(0.0, second.starts_at - first.at)


def is_source(alert: Alert) -> bool:
    """Whether correlation reads ``alert`` (a worker routes only those to it)."""
    kind = alert.payload.kind
    return kind in BURST_KINDS or kind in ACTIVITY_KINDS


def detectors_for(profile: Profile) -> list[Detector]:
    """What a worker runs on ``ioc.alerts`` by default (the profile changes nothing)."""
    return [CorrelationDetector()]
