"""What a worker does with one topic's messages, free of Faust: decode, set aside, detect, run the lifecycle.

The agent hands over one partition's slice of a batch at a time. State is
loaded for keys this worker does not hold yet and written back once per batch.

Every state key has a *home* partition, sticky once chosen: the one it was
stored under, else the partition of the messages that first touched it (for
alert state: of the messages keyed by the alert's entity, or else by its
district, as field reports are, whatever partitioner the producer used). A
restarted worker finds each key in one changelog partition, and a worker
owning a partition owns the keys homed there. Detectors should key their
state by something co-partitioned with the Kafka key (a camera, an office;
a commune or a district for field reports): state keyed by something wider
than the key is updated by every worker that reads a part of it, and the
last write wins.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from iocsim.contract import Alert, ContractError, DeadLetter, Envelope, decode
from iocsim.streams.deadletter import dead_letter, reason_class
from iocsim.streams.detector import Detector
from iocsim.streams.errors import StateError
from iocsim.streams.feed_metrics import FeedMetrics
from iocsim.streams.lifecycle import AlertLifecycle, LifecycleSettings, Signal, fingerprint
from iocsim.streams.metrics import WorkerMetrics
from iocsim.streams.state import KeyedState, partition_of

log = logging.getLogger(__name__)


class RawRecord(Protocol):
    """What the pipeline needs of a consumed record (a Faust ``Message`` qualifies)."""

    @property
    def offset(self) -> int: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


@dataclass
class Outcome:
    """What a batch produced: alert transitions and dead letters, ready to publish."""

    alerts: list[Alert] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


@dataclass
class _Bound:
    """A detector with its table and the keys (and their partitions) it currently holds."""

    detector: Detector
    state: KeyedState
    known: dict[str, int] = field(default_factory=dict)


class TopicPipeline:
    """Processing of one input topic on one worker."""

    def __init__(
        self,
        topic: str,
        partitions: int,
        detectors: Sequence[tuple[Detector, KeyedState]],
        lifecycle_state: KeyedState,
        lifecycle_settings: LifecycleSettings,
        metrics: WorkerMetrics,
        feeds: FeedMetrics,
    ) -> None:
        self.topic = topic
        self.partitions = partitions
        self.bound = [_Bound(detector, state) for detector, state in detectors]
        self.lifecycle_state = lifecycle_state
        self.lifecycle_settings = lifecycle_settings
        self.lifecycle = AlertLifecycle(lifecycle_settings)
        self.metrics = metrics
        self.feeds = feeds
        self.owned: set[int] = set()
        self.stream_time: float | None = None
        self.partition_times: dict[int, float] = {}
        self.key_homes: dict[bytes, int] = {}
        self.track_homes: dict[str, int] = {}
        self.next_offsets: dict[int, int] = {}

    def process(self, partition: int, records: Sequence[RawRecord], broker_time: float, now: float) -> Outcome:
        """Handle one partition's records (in offset order); ``broker_time`` is the newest record's timestamp."""
        outcome = Outcome()
        messages: list[Envelope] = []
        append, topic = messages.append, self.topic
        for record in records:
            try:
                append(decode(topic, record.value or b""))
            except ContractError as error:
                outcome.dead_letters.append(
                    dead_letter(topic, partition, record.offset, record.key, record.value, error, now)
                )
                self.metrics.dead_letters.labels(topic, reason_class(error)).inc()
        if records:
            self.next_offsets[partition] = records[-1].offset + 1
            self.key_homes.update(dict.fromkeys({r.key for r in records if r.key}, partition))
        if not messages:
            return outcome
        newest = max(m.event_time for m in messages)
        if newest > self.partition_times.get(partition, newest - 1):
            self.partition_times[partition] = newest
        if self.stream_time is None or newest > self.stream_time:
            self.stream_time = newest
        self.feeds.observe(topic, partition, messages)
        signals: list[Signal] = []
        for bound in self.bound:
            signals.extend(self._update(bound, partition, messages))
        if signals:
            outcome.alerts = self._lifecycle(signals, now - broker_time)
        return outcome

    def _update(self, bound: _Bound, partition: int, messages: Sequence[Envelope]) -> list[Signal]:
        detector = bound.detector
        try:
            keys = detector.state_keys(messages)
            for key in keys:
                if key not in bound.known:
                    stored = bound.state.get(key)
                    if stored is not None:
                        detector.load_state(key, stored[1])
                        bound.known[key] = stored[0]
            signals = detector.update(messages)
            for key in keys:
                exported = detector.export_state(key)
                if exported is not None:
                    home = bound.known.setdefault(key, partition)
                    bound.state.put(home, key, exported)
        except Exception:
            log.exception("detector %s failed on a batch of %s", type(detector).__name__, self.topic)
            self.metrics.detector_errors.labels(type(detector).__name__).inc()
            return []
        return signals

    def _lifecycle(self, signals: Sequence[Signal], wall_latency: float | None) -> list[Alert]:
        touched: dict[str, int] = {}
        for signal in signals:
            key = fingerprint(signal.rule, signal.entity_id)
            if key not in touched:
                if self.lifecycle.export(key) is None:
                    self._load_track(key)
                touched[key] = self.track_homes.setdefault(key, self.home_of(signal.entity_id, signal.district))
        alerts = self.lifecycle.process(signals)
        for key, partition in touched.items():
            exported = self.lifecycle.export(key)
            if exported is not None:
                self.lifecycle_state.put(partition, key, exported)
        self._account(alerts, wall_latency)
        return alerts

    def home_of(self, entity_id: str, district: str | None = None) -> int:
        """The partition an entity's messages (keyed by it, or by its district) arrive on here.

        Else the one Kafka's default partitioner gives the entity's id.
        """
        home = self.key_homes.get(entity_id.encode())
        if home is None and district is not None:
            home = self.key_homes.get(district.encode())
        return partition_of(entity_id, self.partitions) if home is None else home

    def _load_track(self, key: str) -> None:
        stored = self.lifecycle_state.get(key)
        if stored is None:
            return
        try:
            self.lifecycle.load(key, stored[1])
            self.track_homes[key] = stored[0]
        except StateError as error:
            log.warning("ignoring unreadable alert state %s: %s", key, error)

    def _account(self, alerts: Sequence[Alert], wall_latency: float | None) -> None:
        metrics = self.metrics
        for alert in alerts:
            kind, status = alert.payload.kind, alert.payload.status
            metrics.alert_transitions.labels(kind, status).inc()
            if status != "firing":
                continue
            if self.stream_time is not None:
                metrics.detection_latency.labels(kind).observe(
                    max(self.stream_time - alert.payload.evidence.event_time, 0.0)
                )
            if wall_latency is not None:
                metrics.processing_latency.labels(kind).observe(max(wall_latency, 0.0))

    def watermark(self, lagging: set[int]) -> float | None:
        """The event time it is safe to call silence at.

        The latest event time seen, unless some owned partitions still have a
        backlog: then the oldest of their latest times, so that a camera whose
        observations are waiting in a slow partition is not taken for silent.
        """
        behind = [self.partition_times[p] for p in lagging & self.owned if p in self.partition_times]
        return min(behind) if behind else self.stream_time

    def tick(self, lagging: set[int] | None = None) -> list[Alert]:
        """Signals due without messages (silence) and stale alerts, at the watermark (see :meth:`watermark`)."""
        now = self.watermark(lagging or set())
        if now is None:
            return []
        signals: list[Signal] = []
        for bound in self.bound:
            try:
                raised = bound.detector.tick(now)
            except Exception:
                log.exception("detector %s failed on tick", type(bound.detector).__name__)
                self.metrics.detector_errors.labels(type(bound.detector).__name__).inc()
                continue
            signals.extend(s for s in raised if self.home_of(s.entity_id, s.district) in self.owned)
            self._save_changed(bound)
        alerts = self._lifecycle(signals, None) if signals else []
        expired = self.lifecycle.expire(now)
        for alert in expired:
            key = alert.payload.fingerprint
            exported = self.lifecycle.export(key)
            if exported is not None:
                home = self.track_homes.setdefault(key, self.home_of(alert.entity_id, alert.district))
                self.lifecycle_state.put(home, key, exported)
        self._account(expired, None)
        return alerts + expired

    def _save_changed(self, bound: _Bound) -> None:
        for key, partition in bound.known.items():
            exported = bound.detector.export_state(key)
            stored = bound.state.get(key)
            if exported is not None and (stored is None or stored[1] != exported):
                bound.state.put(partition, key, exported)

    def states(self) -> list[KeyedState]:
        """Every store this pipeline writes to (detector tables, then the alert table)."""
        return [bound.state for bound in self.bound] + [self.lifecycle_state]

    def release(self, lost: set[int]) -> None:
        """Forget the partitions another worker now owns (their state lives on in the tables)."""
        lost = lost & self.owned
        if not lost:
            return
        self.owned -= lost
        for partition in lost:
            self.next_offsets.pop(partition, None)
            self.partition_times.pop(partition, None)
        self.key_homes = {k: p for k, p in self.key_homes.items() if p not in lost}
        self.feeds.forget(self.topic, lost)
        for bound in self.bound:
            forget = getattr(bound.detector, "forget", None)
            for key in [k for k, p in bound.known.items() if p in lost]:
                del bound.known[key]
                if callable(forget):
                    forget(key)
        self._reload_lifecycle()

    def adopt(self, owned: set[int]) -> None:
        """Once the tables are recovered: load the state of the partitions this worker now owns."""
        self.release(self.owned - owned)
        self.owned = set(owned)
        for bound in self.bound:
            for key, partition, state in bound.state.owned(self.owned):
                if key not in bound.known:
                    self._load_detector(bound, key, partition, state)
        self._reload_lifecycle()

    def _reload_lifecycle(self) -> None:
        self.lifecycle = AlertLifecycle(self.lifecycle_settings)
        self.track_homes = {}
        for key, partition, state in self.lifecycle_state.owned(self.owned):
            try:
                self.lifecycle.load(key, state)
                self.track_homes[key] = partition
            except StateError as error:
                log.warning("ignoring unreadable alert state %s: %s", key, error)

    def _load_detector(self, bound: _Bound, key: str, partition: int, state: dict[str, Any]) -> None:
        try:
            bound.detector.load_state(key, state)
            bound.known[key] = partition
        except Exception:
            log.exception("detector %s cannot load state %s", type(bound.detector).__name__, key)

    def firing(self) -> dict[tuple[str, str], int]:
        """Alerts firing here, per (kind, severity)."""
        counts: dict[tuple[str, str], int] = {}
        for key in self.lifecycle.firing():
            state = self.lifecycle.export(key) or {}
            label = (str(state.get("kind")), str(state.get("fired_severity") or state.get("severity")))
            counts[label] = counts.get(label, 0) + 1
        return counts
