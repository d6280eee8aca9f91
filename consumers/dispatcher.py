"""The alert dispatcher: every sink gets its own lane on the alerts topic; one process runs them all.

Built on aiokafka rather than kafka-python in a thread: delivery is asyncio
(aiohttp) end to end, and commits, pauses (backpressure) and rebalance
callbacks must happen on the consumer's own loop; a threaded kafka-python
consumer would need every completion handed back across threads to commit.
Settings are explicit so ``iocsim run`` can start a dispatcher in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from iocsim.broker import BrokerAddress
from iocsim.consumers.annotations import GrafanaAnnotator, GrafanaSettings
from iocsim.consumers.deadletters import DeadLetterWriter
from iocsim.consumers.delivery import Sink
from iocsim.consumers.endpoints import Endpoint
from iocsim.consumers.errors import DispatchError, EndpointConfigError
from iocsim.consumers.lane import Lane, LaneTiming
from iocsim.consumers.metrics import WebhookMetrics, serve_metrics
from iocsim.consumers.webhook import WebhookSink
from iocsim.contract import ALERTS

log = logging.getLogger(__name__)

_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


@dataclass(frozen=True)
class DispatchSettings:
    """Everything a dispatcher needs. Each sink's lane reads with consumer group ``<group_id>.<sink name>``.

    ``offset_reset`` applies to a lane's first start only (no committed offset
    yet): ``earliest`` delivers every alert still on the topic, so alerts
    published before the dispatcher first started are not missed. (``latest``
    on the embedded broker starts a little early, at the last batch's base
    offset, since Tansu under-reports end offsets: a few duplicates, no loss.)
    Session timeout and heartbeat follow what consumer groups need on the
    embedded broker (first assignment after half the session timeout).
    """

    brokers: BrokerAddress
    endpoints: tuple[Endpoint, ...] = ()
    grafana: GrafanaSettings | None = None
    topic: str = ALERTS
    group_id: str = "iocsim-dispatch"
    offset_reset: Literal["earliest", "latest"] = "earliest"
    session_timeout: float = 10.0
    heartbeat_interval: float = 1.0
    timing: LaneTiming = field(default_factory=LaneTiming)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.endpoints and self.grafana is None:
            raise EndpointConfigError(
                "--endpoints", "no endpoint configured (give --endpoints FILE, IOCSIM_WEBHOOK_URL or --grafana-url)"
            )
        if not _GROUP.match(self.group_id):
            raise EndpointConfigError("--group", f"{self.group_id!r} must be letters, digits, '-', '_' or '.'")
        if not 0 < self.heartbeat_interval < self.session_timeout / 2:
            raise EndpointConfigError("heartbeat_interval", "must be > 0 and below half the session timeout")
        if self.metrics_port is not None and not 0 <= self.metrics_port < 65536:
            raise EndpointConfigError("--metrics-port", f"{self.metrics_port} is not a port number")
        names = [e.name for e in self.endpoints] + ([self.grafana.name] if self.grafana else [])
        if len(set(names)) != len(names):
            raise EndpointConfigError("endpoints", f"sink names must be unique, got {names}")


class Dispatcher:
    """Runs one lane per sink until ``stop()``; ``lanes`` and ``metrics`` are there to be inspected."""

    def __init__(self, settings: DispatchSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = WebhookMetrics(self.registry)
        self.lanes: list[Lane] = []
        self.started = asyncio.Event()
        self._stop_requested = False

    def stop(self) -> None:
        """Stop fetching, let deliveries in flight finish (up to the drain timeout), commit, close."""
        self._stop_requested = True
        for lane in self.lanes:
            lane.stop()

    async def wait_assigned(self, timeout: float = 30.0) -> None:
        """Wait until every lane has been assigned partitions (tests publish only after this)."""
        await asyncio.wait_for(self.started.wait(), timeout)
        await asyncio.wait_for(asyncio.gather(*(lane.assigned.wait() for lane in self.lanes)), timeout)

    def _consumer(self, sink: Sink) -> AIOKafkaConsumer:
        s = self.settings
        return AIOKafkaConsumer(
            bootstrap_servers=s.brokers.bootstrap,
            group_id=f"{s.group_id}.{sink.name}",
            client_id=f"{s.group_id}.{sink.name}",
            enable_auto_commit=False,
            auto_offset_reset=s.offset_reset,
            session_timeout_ms=int(s.session_timeout * 1000),
            heartbeat_interval_ms=int(s.heartbeat_interval * 1000),
            max_partition_fetch_bytes=256 * 1024,
            fetch_max_bytes=1024 * 1024,
        )

    async def run(self) -> None:
        s = self.settings
        metrics_runner = None
        producer = AIOKafkaProducer(
            bootstrap_servers=s.brokers.bootstrap,
            client_id=f"{s.group_id}.deadletters",
            acks="all",
            enable_idempotence=False,
        )
        await producer.start()
        consumers: list[AIOKafkaConsumer] = []
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        try:
            sinks: list[Sink] = [WebhookSink(endpoint, session) for endpoint in s.endpoints]
            if s.grafana is not None:
                sinks.append(GrafanaAnnotator(s.grafana))
            self.metrics.declare(sink.name for sink in sinks)
            if s.metrics_port is not None:
                metrics_runner = await serve_metrics(self.registry, s.metrics_host, s.metrics_port)
            deadletters = DeadLetterWriter(producer)
            seeds = random.Random(s.seed)
            for i, sink in enumerate(sinks):
                consumer = self._consumer(sink)
                await consumer.start()
                consumers.append(consumer)
                rng = random.Random(seeds.getrandbits(64))
                lane = Lane(sink, consumer, deadletters, self.metrics, rng, s.topic, s.timing, reports_malformed=i == 0)
                self.lanes.append(lane)
            if self._stop_requested:
                self.stop()
            self.started.set()
            await _run_all(self.lanes)
        finally:
            for consumer in consumers:
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await session.close()
            await producer.stop()
            if metrics_runner is not None:
                await metrics_runner.cleanup()


async def _run_all(lanes: Sequence[Lane]) -> None:
    """Run every lane; if one fails, stop the others and raise its error."""
    tasks = [asyncio.create_task(lane.run(), name=f"lane-{lane.sink.name}") for lane in lanes]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                for lane in lanes:
                    lane.stop()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise task.exception()  # type: ignore[misc]
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def run_until_signalled(settings: DispatchSettings, registry: CollectorRegistry | None = None) -> Dispatcher:
    """Run a dispatcher until SIGINT or SIGTERM, then stop it gracefully."""
    dispatcher = Dispatcher(settings, registry)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, dispatcher.stop)
    try:
        await dispatcher.run()
    except KafkaError as exc:
        raise DispatchError(f"Kafka at {settings.brokers}: {type(exc).__name__}: {exc}") from exc
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return dispatcher
