"""The harness's own Prometheus metrics, so a long soak can be watched (and alerted on) like any service.

Rates are counters (``rate()`` gives offered and achieved events/s). Latency histograms are fed in bulk
from the sender's buffers: prometheus-client's ``Histogram.observe`` costs a lock and a bucket search per
call, which at hundreds of thousands of events a second would slow the very thing being measured, so
the buckets here are counted with numpy and exported by a collector of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from wsgiref.simple_server import WSGIServer

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_MEASURES = ("produce_ack", "e2e_group", "webhook")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds: 1 ms (an acknowledgement on loopback) to a minute (a stalled group or broker)."""


class BulkHistogram(Collector):
    """``iocsim_load_latency_seconds{measure}``: a Prometheus histogram whose buckets are counted in bulk."""

    def __init__(self, name: str, documentation: str, bounds: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self._lock = threading.Lock()
        self._counts: dict[str, np.ndarray] = {}
        self._sums: dict[str, float] = {}

    def observe_many(self, measure: str, seconds: np.ndarray) -> None:
        values = np.asarray(seconds, dtype=np.float64)
        if values.size == 0:
            return
        slots = np.bincount(np.searchsorted(self.bounds, values, side="left"), minlength=self.bounds.size + 1)
        total = float(values.sum())
        with self._lock:
            counts = self._counts.setdefault(measure, np.zeros(self.bounds.size + 1, dtype=np.int64))
            counts += slots
            self._sums[measure] = self._sums.get(measure, 0.0) + total

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=["measure"])
        with self._lock:
            snapshot = {measure: (counts.copy(), self._sums[measure]) for measure, counts in self._counts.items()}
        for measure, (counts, total) in sorted(snapshot.items()):
            cumulative = np.cumsum(counts)
            bounds = [repr(float(bound)) for bound in self.bounds]  # as prometheus-client writes "le"
            buckets = [(le, float(n)) for le, n in zip(bounds, cumulative[:-1], strict=True)]
            buckets.append(("+Inf", float(cumulative[-1])))
            family.add_metric([measure], buckets, total)
        yield family


class HarnessMetrics:
    """Every series the harness exports, on the registry passed in (never the global default)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.offered = Counter(
            "iocsim_load_offered_events", "Events the schedule asked for so far, per feed.", ["feed"], registry=registry
        )
        self.sent = Counter(
            "iocsim_load_sent_events", "Events handed to the client so far, per feed.", ["feed"], registry=registry
        )
        self.acked = Counter(
            "iocsim_load_acked_events", "Events the target acknowledged, per feed.", ["feed"], registry=registry
        )
        self.errors = Counter(
            "iocsim_load_errors",
            "Failed sends and other errors, per kind (delivery, queue_full, timeout, http_<status>...).",
            ["kind"],
            registry=registry,
        )
        self.behind = Gauge(
            "iocsim_load_behind_seconds",
            "How far the harness is behind its own schedule now; above zero the harness, not the target, limits.",
            registry=registry,
        )
        self.latency = BulkHistogram(
            "iocsim_load_latency_seconds",
            "Latency from each event's intended send time, per measure (produce_ack, e2e_group, webhook).",
        )
        registry.register(self.latency)

    def count(self, feed: str, *, offered: int = 0, sent: int = 0, acked: int = 0) -> None:
        """Add one interval's progress of a feed (called per batch, not per event)."""
        if offered:
            self.offered.labels(feed).inc(offered)
        if sent:
            self.sent.labels(feed).inc(sent)
        if acked:
            self.acked.labels(feed).inc(acked)

    def error(self, kind: str, n: int = 1) -> None:
        if n:
            self.errors.labels(kind).inc(n)

    def observe_latencies(self, measure: str, seconds: np.ndarray) -> None:
        if measure not in LATENCY_MEASURES:
            raise ValueError(f"measure {measure!r} is not one of {', '.join(LATENCY_MEASURES)}")
        self.latency.observe_many(measure, seconds)

    def set_behind(self, seconds: float) -> None:
        self.behind.set(max(seconds, 0.0))

    def serve(self, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
        """Serve ``/metrics`` from a daemon thread (scrapes answer while the sender is busy); shut down the server."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return server, thread
