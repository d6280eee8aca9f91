"""Alert lifecycle: turns detector signals into firing/resolved alert transitions.

Detectors only say, per rule and entity at an event time, whether their
condition holds. Operators want something else, as Alertmanager gives them: one
alert per problem (a stable fingerprint of rule + entity), raised only once the
condition has lasted ``for_seconds`` (a single odd reading pages nobody),
resolved only once it has been false for ``resolve_after_seconds`` (a flapping
metric does not page twice), and never repeated while it is active.

Everything runs on event time, so a replay of the same events gives the same
transitions whatever the wall clock says. Signals that are not newer than the
last one seen for their fingerprint are ignored: a worker that replays from its
last committed offset after a restart adds no duplicate transition, and the
transition ``event_id`` is derived from the fingerprint and the alert's start,
so receivers can deduplicate what was published twice anyway. The state is
plain dicts per fingerprint so that it can live in a Faust table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import msgspec

from iocsim.contract import ALERT_KINDS, SEVERITIES, Alert, AlertDetails, AlertKind, Evidence, Severity
from iocsim.streams.errors import SettingsError, StateError

Phase: TypeAlias = Literal["inactive", "pending", "firing"]
_PHASES: tuple[Phase, ...] = ("inactive", "pending", "firing")


@dataclass(frozen=True)
class Signal:
    """A detector's verdict on one rule for one entity at one event time."""

    rule: str
    kind: AlertKind
    entity_id: str
    district: str
    commune: str | None
    active: bool
    event_time: float
    severity: Severity
    evidence: Evidence
    summary: str = ""


@dataclass(frozen=True)
class RuleTiming:
    """How long a condition must hold before firing, and be false before resolving."""

    for_seconds: float = 0.0
    resolve_after_seconds: float = 0.0


@dataclass(frozen=True)
class LifecycleSettings:
    """Timings per rule (``default`` for rules not listed) and staleness.

    ``stale_seconds`` (assumption: 15 minutes) is how long an entity may stay
    silent before its firing alerts are resolved by :meth:`AlertLifecycle.expire`.
    """

    default: RuleTiming = RuleTiming()
    rules: Mapping[str, RuleTiming] = field(default_factory=dict)
    stale_seconds: float = 900.0

    def __post_init__(self) -> None:
        for name, timing in {"default": self.default, **self.rules}.items():
            for attr in ("for_seconds", "resolve_after_seconds"):
                if getattr(timing, attr) < 0:
                    raise SettingsError(f"rules.{name}.{attr}", "must be >= 0")
        if self.stale_seconds <= 0:
            raise SettingsError("stale_seconds", "must be > 0")

    def timing(self, rule: str) -> RuleTiming:
        return self.rules.get(rule, self.default)


def fingerprint(rule: str, entity_id: str) -> str:
    """Stable 16-hex-digit id of an alert: the same rule on the same entity is the same alert."""
    return hashlib.blake2b(f"{rule}\x1f{entity_id}".encode(), digest_size=8).hexdigest()


@dataclass
class _Track:
    """What the lifecycle remembers about one fingerprint."""

    last: Signal
    phase: Phase = "inactive"
    since: float | None = None
    inactive_since: float | None = None
    severity: Severity | None = None

    def to_dict(self) -> dict[str, Any]:
        last = self.last
        return {
            "rule": last.rule,
            "kind": last.kind,
            "entity_id": last.entity_id,
            "district": last.district,
            "commune": last.commune,
            "active": last.active,
            "event_time": last.event_time,
            "severity": last.severity,
            "evidence": msgspec.to_builtins(last.evidence),
            "summary": last.summary,
            "phase": self.phase,
            "since": self.since,
            "inactive_since": self.inactive_since,
            "fired_severity": self.severity,
        }

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> _Track:
        try:
            evidence = msgspec.convert(data["evidence"], Evidence)
            last = Signal(
                rule=str(data["rule"]),
                kind=data["kind"],
                entity_id=str(data["entity_id"]),
                district=str(data["district"]),
                commune=data["commune"],
                active=bool(data["active"]),
                event_time=float(data["event_time"]),
                severity=data["severity"],
                evidence=evidence,
                summary=str(data["summary"]),
            )
            phase = data["phase"]
            since, inactive_since = data["since"], data["inactive_since"]
            severity = data["fired_severity"]
        except KeyError as exc:
            raise StateError(f"{key}.{exc.args[0]}", "missing") from exc
        except (msgspec.ValidationError, TypeError, ValueError) as exc:
            raise StateError(key, str(exc)) from exc
        if phase not in _PHASES:
            raise StateError(f"{key}.phase", f"{phase!r} is not one of {', '.join(_PHASES)}")
        if last.kind not in ALERT_KINDS:
            raise StateError(f"{key}.kind", f"{last.kind!r} is not an alert kind")
        if last.severity not in SEVERITIES:
            raise StateError(f"{key}.severity", f"{last.severity!r} is not one of {', '.join(SEVERITIES)}")
        if severity is not None and severity not in SEVERITIES:
            raise StateError(f"{key}.fired_severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
        if phase != "inactive" and since is None:
            raise StateError(f"{key}.since", f"required when phase is {phase}")
        return cls(
            last=last,
            phase=phase,
            since=None if since is None else float(since),
            inactive_since=None if inactive_since is None else float(inactive_since),
            severity=severity,
        )


class AlertLifecycle:
    """Deduplicating, debouncing state machine per fingerprint (inactive -> pending -> firing)."""

    def __init__(self, settings: LifecycleSettings | None = None) -> None:
        self.settings = settings or LifecycleSettings()
        self._tracks: dict[str, _Track] = {}

    def process(self, signals: Iterable[Signal]) -> list[Alert]:
        """Apply a batch of signals (any order) and return the transitions they cause, in event-time order."""
        alerts: list[Alert] = []
        for signal in sorted(signals, key=lambda s: s.event_time):
            alert = self._apply(fingerprint(signal.rule, signal.entity_id), signal)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def expire(self, now: float) -> list[Alert]:
        """Resolve firing alerts of entities silent for ``stale_seconds`` before event time ``now``."""
        alerts = []
        for key in sorted(self._tracks):
            track = self._tracks[key]
            if track.phase == "inactive" or now - track.last.event_time < self.settings.stale_seconds:
                continue
            if track.phase == "firing":
                ends_at = track.inactive_since if track.inactive_since is not None else track.last.event_time
                alerts.append(self._alert(key, track, "resolved", now, ends_at, track.last))
            track.phase, track.since, track.inactive_since = "inactive", None, None
        return alerts

    def firing(self) -> list[str]:
        """Fingerprints of the alerts currently firing."""
        return sorted(key for key, track in self._tracks.items() if track.phase == "firing")

    def to_state(self) -> dict[str, dict[str, Any]]:
        """Plain, JSON-compatible state per fingerprint."""
        return {key: track.to_dict() for key, track in self._tracks.items()}

    @classmethod
    def from_state(
        cls, state: Mapping[str, Mapping[str, Any]], settings: LifecycleSettings | None = None
    ) -> AlertLifecycle:
        lifecycle = cls(settings)
        for key, data in state.items():
            lifecycle.load(key, data)
        return lifecycle

    def export(self, key: str) -> dict[str, Any] | None:
        """The state of one fingerprint (what a table stores under that key)."""
        track = self._tracks.get(key)
        return None if track is None else track.to_dict()

    def load(self, key: str, data: Mapping[str, Any]) -> None:
        """Restore one fingerprint's state exported by :meth:`export` or :meth:`to_state`."""
        self._tracks[key] = _Track.from_dict(key, data)

    def _apply(self, key: str, signal: Signal) -> Alert | None:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(last=signal)
        elif signal.event_time <= track.last.event_time:
            return None
        track.last = signal
        timing = self.settings.timing(signal.rule)
        now = signal.event_time
        if signal.active:
            track.inactive_since = None
            if track.phase == "inactive":
                track.phase, track.since = "pending", now
            if track.phase == "pending" and track.since is not None and now - track.since >= timing.for_seconds:
                track.phase, track.severity = "firing", signal.severity
                return self._alert(key, track, "firing", now, None, signal)
            return None
        if track.phase == "pending":
            track.phase, track.since = "inactive", None
        elif track.phase == "firing":
            if track.inactive_since is None:
                track.inactive_since = now
            if now - track.inactive_since >= timing.resolve_after_seconds:
                alert = self._alert(key, track, "resolved", now, track.inactive_since, signal)
                track.phase, track.since, track.inactive_since = "inactive", None, None
                return alert
        return None

    @staticmethod
    def _alert(
        key: str, track: _Track, status: Literal["firing", "resolved"], now: float, ends_at: float | None, by: Signal
    ) -> Alert:
        starts_at = track.since if track.since is not None else now
        severity = track.severity if track.severity is not None else by.severity
        return Alert(
            event_id=f"{key}-{starts_at:.3f}-{status}",
            entity_id=by.entity_id,
            district=by.district,
            commune=by.commune,
            event_time=now,
            payload=AlertDetails(
                fingerprint=key,
                rule=by.rule,
                kind=by.kind,
                status=status,
                severity=severity,
                starts_at=starts_at,
                ends_at=ends_at,
                summary=by.summary,
                evidence=by.evidence,
            ),
        )
