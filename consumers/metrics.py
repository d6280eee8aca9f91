"""Prometheus metrics of alert delivery, in a registry passed in (never the process-global one).

Labels stay bounded: ``endpoint`` comes from configuration, ``outcome`` and
``status_class`` from fixed sets. Latency runs from the Kafka record's publish
time to the receiver's 2xx, so it includes time spent queued and retrying.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from iocsim.consumers.delivery import OUTCOMES

STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "timeout", "error")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


@dataclass(frozen=True)
class SinkMetrics:
    """The labelled children of one sink, looked up once instead of on every delivery."""

    deliveries: dict[str, Any]
    attempts: dict[str, Any]
    latency: Any
    dead_letters: Any
    in_flight: Any


class WebhookMetrics:
    """The dispatcher's counters, histogram and gauges."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.deliveries = Counter(
            "iocsim_webhook_deliveries",
            "Alert transitions whose delivery to an endpoint ended, by outcome (success, failed, dead_lettered).",
            ["endpoint", "outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "iocsim_webhook_attempts",
            "HTTP attempts, by status class (2xx..5xx, timeout, error).",
            ["endpoint", "status_class"],
            registry=registry,
        )
        self.latency = Histogram(
            "iocsim_webhook_delivery_latency_seconds",
            "From the alert's publication on Kafka to its successful delivery.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.dead_letters = Counter(
            "iocsim_webhook_dead_letters",
            "Dead letters written to ioc.deadletter (refused or given up).",
            ["endpoint"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "iocsim_webhook_in_flight",
            "Alert transitions taken from Kafka and not yet finished (queued, being sent or waiting to retry).",
            ["endpoint"],
            registry=registry,
        )

    def declare(self, endpoints: Iterable[str]) -> None:
        """Create every label combination up front so dashboards see zeros, not gaps."""
        for name in endpoints:
            self.for_sink(name)

    def for_sink(self, name: str) -> SinkMetrics:
        return SinkMetrics(
            deliveries={outcome: self.deliveries.labels(name, outcome) for outcome in OUTCOMES},
            attempts={status_class: self.attempts.labels(name, status_class) for status_class in STATUS_CLASSES},
            latency=self.latency.labels(name),
            dead_letters=self.dead_letters.labels(name),
            in_flight=self.in_flight.labels(name),
        )


async def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> web.AppRunner:
    """Expose ``/metrics`` on ``host:port``; the caller cleans the runner up."""

    async def metrics(_: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
