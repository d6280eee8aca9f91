"""Prometheus series of the simulator: messages the broker acknowledged and messages it lost, per feed.

The publisher already counts deliveries per topic; these counters follow
those totals (``observe``) rather than hooking every send, so publishing
costs the same with or without metrics. They live on a registry of their
own, never the process-wide one, so several runs in one process do not clash.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, start_http_server

from iocsim.contract import CAMERA_OBSERVATIONS, INCIDENT_REPORTS, SERVICE_EVENTS, TRUTH
from iocsim.producers.errors import ProducerError
from iocsim.producers.publisher import DeliveryCounts

FEED_OF_TOPIC = {
    CAMERA_OBSERVATIONS: "cameras",
    INCIDENT_REPORTS: "incidents",
    SERVICE_EVENTS: "services",
    TRUTH: "truth",
}


def feed_of(topic: str) -> str:
    """The feed label of a topic; a topic outside the contract's feeds is labelled by its own name."""
    return FEED_OF_TOPIC.get(topic, topic)


class ProducerMetrics:
    """``iocsim_published_events_total{feed}`` and ``iocsim_publish_errors_total{feed}`` on ``registry``."""

    def __init__(self, registry: CollectorRegistry, feeds: Iterable[str] = ()) -> None:
        self.registry = registry
        self.published = Counter(
            "iocsim_published_events",
            "Messages the broker acknowledged, per feed (truth: injected-anomaly labels).",
            ["feed"],
            registry=registry,
        )
        self.errors = Counter(
            "iocsim_publish_errors",
            "Messages the broker did not acknowledge after the client's retries, per feed.",
            ["feed"],
            registry=registry,
        )
        for feed in (*feeds, "truth"):
            self.published.labels(feed)
            self.errors.labels(feed)
        self._acked: Tally[str] = Tally()
        self._failed: Tally[str] = Tally()

    def observe(self, counts: DeliveryCounts) -> None:
        """Advance the counters to the publisher's totals; call it from the thread that publishes."""
        _advance(self.published, self._acked, counts.acked)
        _advance(self.errors, self._failed, counts.failed)


def _advance(counter: Counter, seen: Tally[str], totals: Tally[str]) -> None:
    for topic, total in totals.items():
        step = total - seen[topic]
        if step > 0:
            counter.labels(feed_of(topic)).inc(step)
            seen[topic] = total


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``registry`` at ``http://host:port/metrics`` from a daemon thread; stop it with ``server.shutdown()``."""
    try:
        return start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ProducerError(f"--metrics-port: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
