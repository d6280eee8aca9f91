"""Feed-level metrics (cameras, field reports, queues) derived from each decoded batch.

They are what the operations-centre wall shows even without any detector, so
they are computed by the worker from the messages it already decodes: one
pass per batch, aggregated before touching the Prometheus client (a label
lookup per message would cost more than the decoding).

Each worker reports only the entities of the partitions it owns; Grafana sums
over workers.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from iocsim import contract
from iocsim.contract import CameraObservation, Envelope, IncidentReport, ServiceEvent
from iocsim.streams.metrics import WorkerMetrics
from iocsim.streams.settings import FEEDS


@dataclass
class _Seen:
    district: str
    partition: int
    event_time: float


class FeedMetrics:
    """Keeps the little state feed gauges need (last sight of each camera, dossier tallies)."""

    def __init__(self, metrics: WorkerMetrics, camera_offline_after_seconds: float) -> None:
        self.metrics = metrics
        self.offline_after = camera_offline_after_seconds
        self._cameras: dict[str, _Seen] = {}
        self._offices: dict[str, int] = {}
        self._dossiers: dict[str, list[int]] = {}

    def observe(self, topic: str, partition: int, messages: Sequence[Envelope]) -> None:
        """Account for a batch of valid messages read from one partition of ``topic``."""
        if not messages:
            return
        self.metrics.events_processed.labels(FEEDS.get(topic, topic)).inc(len(messages))
        if topic == contract.CAMERA_OBSERVATIONS:
            self._observe_cameras(partition, messages)  # type: ignore[arg-type]
        elif topic == contract.INCIDENT_REPORTS:
            self._observe_reports(messages)  # type: ignore[arg-type]
        elif topic == contract.SERVICE_EVENTS:
            self._observe_services(partition, messages)  # type: ignore[arg-type]

    def _observe_cameras(self, partition: int, messages: Sequence[CameraObservation]) -> None:
        cameras = self._cameras
        for message in messages:
            seen = cameras.get(message.entity_id)
            if seen is None:
                cameras[message.entity_id] = _Seen(message.district, partition, message.event_time)
            elif message.event_time > seen.event_time:
                seen.event_time, seen.partition = message.event_time, partition

    def _observe_reports(self, messages: Sequence[IncidentReport]) -> None:
        guard = self.metrics.guard
        counts = Counter((m.district, m.payload.category) for m in messages if m.payload.status == "received")
        for (district, category), n in counts.items():
            self.metrics.reports.labels(guard("district", district), category).inc(n)

    def _observe_services(self, partition: int, messages: Sequence[ServiceEvent]) -> None:
        guard, metrics = self.metrics.guard, self.metrics
        latest: dict[str, tuple[float, int]] = {}
        waits: dict[str, list[float]] = {}
        for message in messages:
            payload, office = message.payload, message.entity_id
            if payload.channel == "counter":
                previous = latest.get(office)
                if previous is None or message.event_time >= previous[0]:
                    latest[office] = (message.event_time, payload.queue_length)
                if payload.kind == "ticket_called" and payload.wait_seconds is not None:
                    waits.setdefault(office, []).append(payload.wait_seconds)
            if payload.kind == "dossier_completed" and payload.on_time is not None:
                tally = self._dossiers.setdefault(office, [0, 0])
                tally[0] += payload.on_time
                tally[1] += 1
                self._offices[office] = partition
        for office, (_, length) in latest.items():
            self._offices[office] = partition
            metrics.queue_length.labels(guard("office", office)).set(length)
        for office, values in waits.items():
            histogram = metrics.queue_wait.labels(guard("office", office))
            for value in values:
                histogram.observe(value)
        for office, (on_time, total) in self._dossiers.items():
            metrics.dossiers_on_time.labels(guard("office", office)).set(on_time / total)

    def refresh_cameras(self, stream_time: float | None) -> None:
        """Recount cameras online/offline at the camera stream's latest event time."""
        if stream_time is None:
            return
        guard = self.metrics.guard
        counts: Counter[tuple[str, ...]] = Counter()
        for seen in self._cameras.values():
            status = "online" if stream_time - seen.event_time < self.offline_after else "offline"
            counts[(guard("district", seen.district), status)] += 1
        self.metrics.set_gauge_family(self.metrics.cameras, "cameras", counts)

    def forget(self, topic: str, partitions: Iterable[int]) -> None:
        """Drop the entities of partitions this worker no longer owns."""
        lost = set(partitions)
        if topic == contract.CAMERA_OBSERVATIONS:
            self._cameras = {k: v for k, v in self._cameras.items() if v.partition not in lost}
        elif topic == contract.SERVICE_EVENTS:
            for office in [o for o, p in self._offices.items() if p in lost]:
                del self._offices[office]
                self._dossiers.pop(office, None)
                label = self.metrics.guard("office", office)
                for gauge in (self.metrics.queue_length, self.metrics.dossiers_on_time):
                    with contextlib.suppress(KeyError):
                        gauge.remove(label)
