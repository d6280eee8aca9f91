"""What the public-service detectors share: replay memory, signal gating, per-entity state handling.

Every detector keeps one state per entity (an office, or ``portal``), the
Kafka key of ``ioc.services.events``, so a worker's state lives on the
partition of the messages that change it. A batch is split per entity and
each entity's messages are handled one by one in event-time order, so the
signals do not depend on how messages were batched.
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from iocsim.contract import SERVICE_EVENTS, AlertKind, Envelope, Evidence, ServiceEvent, Severity
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.profiles import Profile
from iocsim.streams.detectors.batch_ticks import BatchTicks
from iocsim.streams.detectors.service_settings import ServiceDetectorSettings
from iocsim.streams.errors import StateError
from iocsim.streams.lifecycle import Signal


@dataclass
class SeenIds:
    """Event ids of the last ``retention`` seconds; anything older than that counts as seen.

    A restarted worker re-reads from its last committed offset, minutes back,
    so a replayed message is either remembered here or too old to matter.
    """

    ids: dict[str, float] = field(default_factory=dict)
    latest: float = float("-inf")

    def admit(self, event_id: str, t: float, retention: float) -> bool:
        """Whether the message is new; remembers it if so."""
        if t < self.latest - retention or event_id in self.ids:
            return False
        self.ids[event_id] = t
        if t > self.latest:
            self.latest = t
            if len(self.ids) > 64 and min(self.ids.values()) < t - 2 * retention:
                self.ids = {k: v for k, v in self.ids.items() if v >= t - retention}
        return True

    def to_list(self) -> list[list[Any]]:
        return [[k, v] for k, v in sorted(self.ids.items(), key=lambda kv: (kv[1], kv[0]))]

    @classmethod
    def from_list(cls, where: str, data: Any) -> SeenIds:
        try:
            ids = {str(k): float(v) for k, v in data}
        except (TypeError, ValueError) as exc:
            raise StateError(where, f"{data!r} is not a list of [event_id, time]") from exc
        return cls(ids, max(ids.values(), default=float("-inf")))


def count_between(times: Sequence[float], start: float, end: float) -> int:
    """Entries of a sorted list in (start, end]."""
    return bisect.bisect_right(times, end) - bisect.bisect_right(times, start)


@dataclass(kw_only=True)
class EntityState:
    """What every detector remembers of an entity: where it is and which messages it has seen."""

    district: str
    ids: SeenIds = field(default_factory=SeenIds)


S = TypeVar("S", bound=EntityState)


class ServiceDetector(ABC, Generic[S]):
    """A detector of ``ioc.services.events`` with one state of type ``S`` per entity."""

    topic: str = SERVICE_EVENTS

    def __init__(self, profile: Profile, settings: ServiceDetectorSettings | None = None) -> None:
        self.profile = profile
        self.settings = settings or ServiceDetectorSettings()
        self.calendar = ProvinceCalendar(profile.calendar)
        self._states: dict[str, S] = {}
        self._ticks = BatchTicks(self.settings.tick_seconds)

    @abstractmethod
    def reads(self, event: ServiceEvent) -> bool:
        """Whether this detector learns from the message."""

    @abstractmethod
    def new_state(self, event: ServiceEvent) -> S: ...

    @abstractmethod
    def handle(self, key: str, state: S, event: ServiceEvent) -> list[Signal]:
        """Learn from one new (not replayed) message and return the signals it causes."""

    @abstractmethod
    def check(self, key: str, state: S, now: float) -> list[Signal]:
        """Re-evaluate the entity at ``now`` without a message."""

    @abstractmethod
    def state_to_dict(self, state: S) -> dict[str, Any]: ...

    @abstractmethod
    def state_from_dict(self, key: str, data: Mapping[str, Any]) -> S: ...

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        return {m.entity_id for m in messages if isinstance(m, ServiceEvent) and self.reads(m)}

    def load_state(self, key: str, state: dict[str, Any]) -> None:
        self._states[key] = self.state_from_dict(key, state)

    def export_state(self, key: str) -> dict[str, Any] | None:
        state = self._states.get(key)
        return None if state is None else self.state_to_dict(state)

    def forget(self, key: str) -> None:
        self._states.pop(key, None)

    def entities(self) -> list[str]:
        """The entities this detector holds state for."""
        return sorted(self._states)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        """Handle a batch in event-time order, ticking inside it as a live worker would (see ``BatchTicks``)."""
        events = sorted(
            (m for m in messages if isinstance(m, ServiceEvent) and self.reads(m)), key=lambda e: e.event_time
        )
        signals: list[Signal] = []
        batch_keys = {e.entity_id for e in events}
        for event in events:
            t = event.event_time
            key = event.entity_id
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = self.new_state(event)
            if state.ids.admit(event.event_id, t, self.settings.retention_seconds):
                signals.extend(self.handle(key, state, event))
            if self._ticks.due(t):
                signals.extend(self.tick(t, batch_keys))
        return signals

    def tick(self, event_time: float, keys: Set[str] | None = None) -> list[Signal]:
        """Re-judge the entities (all, or those of ``keys`` known here) at ``event_time``."""
        self._ticks.ticked(event_time)
        signals: list[Signal] = []
        for key in sorted(self._states if keys is None else keys & self._states.keys()):
            signals.extend(self.check(key, self._states[key], event_time))
        return signals

    def signal(
        self,
        rule: str,
        kind: AlertKind,
        severity: Severity,
        entity_id: str,
        district: str,
        active: bool,
        t: float,
        evidence: tuple[float, float, float],
        summary: str,
    ) -> Signal:
        observed, baseline, threshold = evidence
        return Signal(
            rule=rule,
            kind=kind,
            entity_id=entity_id,
            district=district,
            commune=None,
            active=active,
            event_time=t,
            severity=severity,
            evidence=Evidence(
                observed=round(observed, 4), baseline=round(baseline, 4), threshold=round(threshold, 4), event_time=t
            ),
            summary=summary,
        )
