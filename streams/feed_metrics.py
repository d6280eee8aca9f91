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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from iocsim import contract
from iocsim.contract import Alert, CameraObservation, Envelope, IncidentReport, ServiceEvent
from iocsim.sim.profiles import Profile, load_profile
from iocsim.streams.metrics import WorkerMetrics
from iocsim.streams.settings import FEEDS

TAMPER_KINDS = frozenset({"camera_covered", "camera_defocused", "camera_turned"})
CAMERA_STATES = {"offline": 0.0, "online": 1.0, "tampered": 2.0}


def camera_places(profile: Profile) -> dict[str, tuple[float, float]]:
    """Latitude and longitude of each camera of ``profile``, for the per-camera state series."""
    return {camera.id: (camera.lat, camera.lon) for camera in profile.cameras}


_FEED_TOPICS = frozenset((contract.CAMERA_OBSERVATIONS, contract.INCIDENT_REPORTS, contract.SERVICE_EVENTS))


@dataclass
class _Seen:
    district: str
    partition: int
    event_time: float


class FeedMetrics:
    """Keeps the little state feed gauges need (last sight of each camera, dossier tallies)."""

    def __init__(
        self,
        metrics: WorkerMetrics,
        camera_offline_after_seconds: float,
        places: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        """``places`` defaults to the cameras of the default profile, whose detectors a worker runs by default."""
        self.metrics = metrics
        self.offline_after = camera_offline_after_seconds
        self.places = dict(places) if places is not None else camera_places(load_profile())
        self._tampered: set[str] = set()
        self._cameras: dict[str, _Seen] = {}
        self._offices: dict[str, int] = {}
        self._dossiers: dict[str, list[int]] = {}

    def observe(self, topic: str, partition: int, messages: Sequence[Envelope]) -> None:
        """Account for a batch of valid messages read from one partition of ``topic`` (the three feeds only)."""
        if not messages or topic not in _FEED_TOPICS:
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
        latest: dict[str, tuple[float, int, int]] = {}
        waits: dict[str, list[float]] = {}
        for message in messages:
            payload, office = message.payload, message.entity_id
            if payload.channel == "counter" and payload.kind != "dossier_completed":
                previous = latest.get(office)
                if previous is None or message.event_time >= previous[0]:
                    latest[office] = (message.event_time, payload.queue_length, payload.counters_open)
                if payload.kind == "ticket_called" and payload.wait_seconds is not None:
                    waits.setdefault(office, []).append(payload.wait_seconds)
            if payload.kind == "dossier_completed" and payload.on_time is not None:
                tally = self._dossiers.setdefault(office, [0, 0])
                tally[0] += payload.on_time
                tally[1] += 1
                self._offices[office] = partition
        for office, (_, length, counters) in latest.items():
            self._offices[office] = partition
            metrics.queue_length.labels(guard("office", office)).set(length)
            metrics.counters_open.labels(guard("office", office)).set(counters)
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
        self.metrics.set_gauge_family(
            self.metrics.camera_state, "camera_state", self._camera_states(stream_time), remove_absent=True
        )

    def _camera_states(self, stream_time: float) -> dict[tuple[str, ...], float]:
        guard = self.metrics.guard
        states: dict[tuple[str, ...], float] = {}
        for camera, seen in self._cameras.items():
            if stream_time - seen.event_time >= self.offline_after:
                status = "offline"
            else:
                status = "tampered" if camera in self._tampered else "online"
            lat, lon = self.places.get(camera, (None, None))
            labels = (guard("camera", camera), guard("district", seen.district), _coordinate(lat), _coordinate(lon))
            states[labels] = max(states.get(labels, 0.0), CAMERA_STATES[status])
        return states

    def observe_alerts(self, alerts: Iterable[Alert]) -> None:
        """Follow camera tampering alerts (covered, defocused, turned) so the map can show those cameras apart."""
        for alert in alerts:
            if alert.payload.kind not in TAMPER_KINDS:
                continue
            if alert.payload.status == "firing":
                self._tampered.add(alert.entity_id)
            else:
                self._tampered.discard(alert.entity_id)

    def forget(self, topic: str, partitions: Iterable[int]) -> None:
        """Drop the entities of partitions this worker no longer owns."""
        lost = set(partitions)
        if topic == contract.CAMERA_OBSERVATIONS:
            self._cameras = {k: v for k, v in self._cameras.items() if v.partition not in lost}
            self._tampered &= self._cameras.keys()
        elif topic == contract.SERVICE_EVENTS:
            for office in [o for o, p in self._offices.items() if p in lost]:
                del self._offices[office]
                self._dossiers.pop(office, None)
                label = self.metrics.guard("office", office)
                for gauge in (self.metrics.queue_length, self.metrics.counters_open, self.metrics.dossiers_on_time):
                    with contextlib.suppress(KeyError):
                        gauge.remove(label)


def _coordinate(value: float | None) -> str:
    return "" if value is None else f"{value:.5f}"
