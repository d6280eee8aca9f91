"""The worker's Prometheus metrics, on a registry of their own.

Names follow Prometheus conventions (``_total`` counters, base units, label
sets bounded by the profile and the contract). Faust's built-in sensor names do
not pass ``promtool check metrics``, so nothing of Faust's is exported here.

The metrics are served by prometheus-client's own HTTP server on a loopback
port rather than by Faust's web server: it answers from a thread, so a scrape
works while the event loop is busy with a large batch or blocked in a
rebalance or a table recovery (exactly when an operator wants to look), and
the scrape endpoint does not depend on Faust's web stack.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

SIM_LATENCY_BUCKETS = (1.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
WALL_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUEUE_WAIT_BUCKETS = (60.0, 300.0, 600.0, 900.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0, 10800.0)
OTHER = "other"


class LabelGuard:
    """Caps the distinct values of a label (one profile has tens of offices or districts).

    Values come from messages that passed the contract, but an integrator's
    feed could still send a new id per message; past ``limit`` values a
    label reads ``other`` instead of growing the series without bound.
    """

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._seen: dict[str, set[str]] = {}

    def __call__(self, label: str, value: str) -> str:
        seen = self._seen.setdefault(label, set())
        if value in seen:
            return value
        if len(seen) >= self.limit:
            return OTHER
        seen.add(value)
        return value


class WorkerMetrics:
    """Every series a worker exports; pass ``registry`` explicitly (never the global default)."""

    def __init__(self, registry: CollectorRegistry, label_limit: int = 256) -> None:
        self.registry = registry
        self.guard = LabelGuard(label_limit)
        self._lock = threading.Lock()
        self._gauge_keys: dict[str, set[tuple[str, ...]]] = {}
        self.events_processed = Counter(
            "iocsim_events_processed", "Valid messages handled, per feed.", ["feed"], registry=registry
        )
        self.dead_letters = Counter(
            "iocsim_dead_letters",
            "Messages set aside on ioc.deadletter, per source topic and kind of failure.",
            ["topic", "reason_class"],
            registry=registry,
        )
        self.detector_errors = Counter(
            "iocsim_detector_errors",
            "Batches or ticks a detector failed on (logged; the worker goes on).",
            ["detector"],
            registry=registry,
        )
        self.alerts_active = Gauge(
            "iocsim_alerts_active", "Alerts currently firing on this worker.", ["kind", "severity"], registry=registry
        )
        self.alert_transitions = Counter(
            "iocsim_alert_transitions",
            "Alert transitions published to ioc.alerts.",
            ["kind", "status"],
            registry=registry,
        )
        self.detection_latency = Histogram(
            "iocsim_detection_latency_seconds",
            "Sim (event) time from the evidence of an alert to the stream time when it was published.",
            ["kind"],
            buckets=SIM_LATENCY_BUCKETS,
            registry=registry,
        )
        self.processing_latency = Histogram(
            "iocsim_alert_processing_latency_seconds",
            "Wall-clock time from the broker timestamp of the batch that raised an alert to its publication.",
            ["kind"],
            buckets=WALL_LATENCY_BUCKETS,
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "iocsim_consumer_lag_messages",
            "Messages not yet processed, from the highwater of the last fetch.",
            ["topic", "partition"],
            registry=registry,
        )
        self.cameras = Gauge(
            "iocsim_cameras",
            "Cameras seen by this worker, by status in event time.",
            ["district", "status"],
            registry=registry,
        )
        self.camera_state = Gauge(
            "iocsim_camera_state",
            "Each camera's state in event time: 0 offline, 1 online, 2 tampered (covered, defocused or turned); "
            "its coordinates ride along as labels so a map can place it.",
            ["camera", "district", "latitude", "longitude"],
            registry=registry,
        )
        self.reports = Counter(
            "iocsim_reports",
            "New citizen field reports (status received).",
            ["district", "category"],
            registry=registry,
        )
        self.queue_length = Gauge(
            "iocsim_queue_length",
            "People waiting at a one-stop-shop office at its latest event.",
            ["office"],
            registry=registry,
        )
        self.counters_open = Gauge(
            "iocsim_counters_open",
            "Counters open at a one-stop-shop office at its latest ticket or counter event.",
            ["office"],
            registry=registry,
        )
        self.queue_wait = Histogram(
            "iocsim_queue_wait_seconds",
            "Sim time a ticket waited before being called to a counter.",
            ["office"],
            buckets=QUEUE_WAIT_BUCKETS,
            registry=registry,
        )
        self.dossiers_on_time = Gauge(
            "iocsim_dossiers_on_time_ratio",
            "Share of dossiers completed on time since the worker started.",
            ["office"],
            registry=registry,
        )

    def set_gauge_family(
        self, gauge: Gauge, name: str, values: Mapping[tuple[str, ...], float], *, remove_absent: bool = False
    ) -> None:
        """Set a whole gauge family at once; label sets no longer present drop to zero (or are removed)."""
        with self._lock:
            previous = self._gauge_keys.get(name, set())
            for labels in previous - values.keys():
                if remove_absent:
                    gauge.remove(*labels)
                else:
                    gauge.labels(*labels).set(0)
            for labels, value in values.items():
                gauge.labels(*labels).set(value)
            self._gauge_keys[name] = set(values) if remove_absent else previous | set(values)

    def count_alerts(self, transitions: Iterable[tuple[str, str]]) -> None:
        for kind, status in transitions:
            self.alert_transitions.labels(kind, status).inc()


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``/metrics`` (any path, in fact) of ``registry`` from a daemon thread; shut it down with the server."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    return server, thread
