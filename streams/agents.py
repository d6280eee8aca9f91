"""The Faust side of a worker: one agent per input topic, a tick timer, rebalance bookkeeping.

Agents stay thin: they take batches of events, split them by partition and
hand each slice to the topic's :class:`TopicPipeline`, then publish what comes
back. Offsets are acknowledged by ``take_events`` only after the batch was
handled, and Faust flushes the producer before it commits, which gives
at-least-once delivery of alerts and dead letters.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iocsim import contract
from iocsim.contract import Alert, DeadLetter, encode
from iocsim.streams.feed_metrics import FeedMetrics
from iocsim.streams.metrics import WorkerMetrics
from iocsim.streams.pipeline import TopicPipeline
from iocsim.streams.recovery import complete_recovery
from iocsim.streams.settings import FEEDS, WorkerSettings
from iocsim.streams.state import TableState


@dataclass
class WorkerProbe:
    """What a running worker has done, for its runner and tests (read from any thread)."""

    started_at: float = field(default_factory=time.monotonic)
    first_batch_at: float | None = None
    batches: int = 0
    events: int = 0
    alerts: int = 0
    dead_letters: int = 0

    @property
    def seconds_to_first_batch(self) -> float | None:
        return None if self.first_batch_at is None else self.first_batch_at - self.started_at


class Publisher:
    """Publishes alert transitions (keyed by fingerprint) and dead letters (keyed by the original key)."""

    def __init__(self, app: Any, settings: WorkerSettings) -> None:
        self._alerts = app.topic(
            contract.ALERTS,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions[contract.ALERTS],
        )
        self._dead_letters = app.topic(
            contract.DEADLETTER,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions[contract.DEADLETTER],
        )

    async def publish(self, alerts: Sequence[Alert], dead_letters: Sequence[DeadLetter]) -> None:
        for letter in dead_letters:
            await self._dead_letters.send(key=letter.entity_id.encode(), value=encode(letter))
        for alert in alerts:
            await self._alerts.send(key=alert.payload.fingerprint.encode(), value=encode(alert))


def attach_agents(
    app: Any,
    settings: WorkerSettings,
    pipelines: Mapping[str, TopicPipeline],
    metrics: WorkerMetrics,
    feeds: FeedMetrics,
    probe: WorkerProbe,
) -> None:
    """Declare the agents, the tick timer and the rebalance hook on ``app`` (before it starts)."""
    publisher = Publisher(app, settings)
    pending_adoption: dict[str, set[int]] = {}

    async def adopt_if_rebalanced(pipeline: TopicPipeline) -> None:
        owned = pending_adoption.get(pipeline.topic)
        if owned is None:
            return
        tables = [state.table for state in pipeline.states() if isinstance(state, TableState)]
        await complete_recovery(settings.brokers.bootstrap, tables, owned - pipeline.owned)
        pipeline.adopt(owned)
        pending_adoption.pop(pipeline.topic, None)

    for topic, pipeline in pipelines.items():
        source = app.topic(topic, key_serializer="raw", value_serializer="raw", partitions=settings.partitions[topic])

        async def consume(stream: Any, pipeline: TopicPipeline = pipeline) -> None:
            async for events in stream.take_events(settings.batch_size, within=settings.batch_within_seconds):
                await adopt_if_rebalanced(pipeline)
                await handle_batch(events, pipeline, publisher, probe)

        app.agent(source, name=f"{settings.app_id}.{FEEDS[topic]}")(consume)

    async def on_tick() -> None:
        lag = consumer_lag(app.consumer, pipelines)
        for pipeline in pipelines.values():
            if pipeline.topic in pending_adoption:
                continue
            lagging = {int(partition) for (topic, partition), n in lag.items() if topic == pipeline.topic and n > 0}
            alerts = pipeline.tick(lagging)
            if alerts:
                probe.alerts += len(alerts)
                await publisher.publish(alerts, ())
        feeds.refresh_cameras(
            pipelines[contract.CAMERA_OBSERVATIONS].stream_time if contract.CAMERA_OBSERVATIONS in pipelines else None
        )
        firing: dict[tuple[str, ...], float] = {}
        for pipeline in pipelines.values():
            for labels, count in pipeline.firing().items():
                firing[labels] = firing.get(labels, 0) + count
        metrics.set_gauge_family(metrics.alerts_active, "alerts_active", firing)
        metrics.set_gauge_family(metrics.consumer_lag, "consumer_lag", lag, remove_absent=True)

    app.timer(settings.tick_interval_seconds, name=f"{settings.app_id}.tick")(on_tick)

    @app.on_partitions_assigned.connect  # type: ignore[untyped-decorator]
    async def on_assigned(sender: Any, assigned: set[Any], **_: Any) -> None:
        for topic, pipeline in pipelines.items():
            owned = {tp.partition for tp in assigned if tp.topic == topic}
            pipeline.release(pipeline.owned - owned)
            if owned - pipeline.owned:
                pending_adoption[topic] = owned


async def handle_batch(
    events: Sequence[Any], pipeline: TopicPipeline, publisher: Publisher, probe: WorkerProbe
) -> None:
    """Process one ``take_events`` batch, partition by partition, and publish the outcome."""
    slices: dict[int, list[Any]] = {}
    for event in events:
        message = event.message
        slices.setdefault(message.partition, []).append(message)
    now = time.time()
    for partition, messages in slices.items():
        outcome = pipeline.process(partition, messages, messages[-1].timestamp, now)
        if outcome.alerts or outcome.dead_letters:
            await publisher.publish(outcome.alerts, outcome.dead_letters)
        probe.alerts += len(outcome.alerts)
        probe.dead_letters += len(outcome.dead_letters)
    probe.events += len(events)
    probe.batches += 1
    if probe.first_batch_at is None:
        probe.first_batch_at = time.monotonic()


def consumer_lag(consumer: Any, pipelines: Mapping[str, TopicPipeline]) -> dict[tuple[str, ...], float]:
    """Lag per assigned input partition from the fetch highwater (end offsets are under-reported on Tansu)."""
    lag: dict[tuple[str, ...], float] = {}
    try:
        assignment = consumer.assignment()
    except Exception:
        return lag
    for tp in assignment:
        pipeline = pipelines.get(tp.topic)
        if pipeline is None:
            continue
        highwater = consumer.highwater(tp)
        position = pipeline.next_offsets.get(tp.partition)
        if highwater is None or position is None:
            continue
        lag[(tp.topic, str(tp.partition))] = float(max(highwater - position, 0))
    return lag
