"""The Faust side of a worker: the feed loop, the alert router, a tick timer, rebalance bookkeeping.

The feeds (and the alerts re-keyed by district) are read in bulk by a
:class:`FeedLoop` running as an app task; only ``ioc.alerts`` itself goes
through a Faust agent, which forwards what correlation reads (see
:mod:`alert_routing`). After a rebalance a pipeline adopts its new partitions
(once Faust recovered the tables, plus the changelog tail Faust's recovery
misses on Tansu) before it handles their first record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iocsim import contract
from iocsim.contract import Alert, DeadLetter, encode
from iocsim.streams.alert_routing import route
from iocsim.streams.feed_loop import FeedLoop
from iocsim.streams.feed_metrics import FeedMetrics
from iocsim.streams.metrics import WorkerMetrics
from iocsim.streams.partition_reader import PartitionReader
from iocsim.streams.pipeline import Outcome, TopicPipeline
from iocsim.streams.probe import WorkerProbe
from iocsim.streams.recovery import complete_recovery
from iocsim.streams.settings import WorkerSettings
from iocsim.streams.state import TableState

__all__ = ["Publisher", "WorkerProbe", "attach_agents", "consumer_lag"]


class Publisher:
    """Publishes alert transitions (keyed by fingerprint) and dead letters (keyed by the original key)."""

    def __init__(self, app: Any, settings: WorkerSettings, feeds: FeedMetrics, probe: WorkerProbe) -> None:
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
        self._feeds = feeds
        self._probe = probe

    async def publish(self, alerts: Sequence[Alert], dead_letters: Sequence[DeadLetter]) -> None:
        for letter in dead_letters:
            await self._dead_letters.send(key=letter.entity_id.encode(), value=encode(letter))
        for alert in alerts:
            await self._alerts.send(key=alert.payload.fingerprint.encode(), value=encode(alert))
        if alerts:
            self._feeds.observe_alerts(alerts)
        self._probe.alerts += len(alerts)
        self._probe.dead_letters += len(dead_letters)

    async def publish_outcome(self, outcome: Outcome) -> None:
        await self.publish(outcome.alerts, outcome.dead_letters)


def attach_agents(
    app: Any,
    settings: WorkerSettings,
    pipelines: Mapping[str, TopicPipeline],
    metrics: WorkerMetrics,
    feeds: FeedMetrics,
    probe: WorkerProbe,
) -> FeedLoop:
    """Declare the feed loop, the alert router, the tick timer and the rebalance hooks on ``app`` (before it starts).

    ``pipelines`` are keyed by the topic they read: a feed, or the routed alerts topic.
    """
    publisher = Publisher(app, settings, feeds, probe)
    pending_adoption: dict[str, set[int]] = {}

    async def adopt_if_rebalanced(topic: str) -> None:
        owned = pending_adoption.get(topic)
        if owned is None:
            return
        pipeline = pipelines[topic]
        tables = [state.table for state in pipeline.states() if isinstance(state, TableState)]
        await complete_recovery(settings.brokers.bootstrap, tables, owned - pipeline.owned)
        pipeline.adopt(owned)
        pending_adoption.pop(topic, None)

    sources = {
        topic: app.topic(
            topic,
            key_serializer="raw",
            value_serializer="raw",
            partitions=pipeline.partitions,
            internal=topic == settings.routed_alerts_topic,
        )
        for topic, pipeline in pipelines.items()
    }
    reader = PartitionReader(app, pipelines)
    reader.subscribe(sources.values())
    reader.install()
    loop = FeedLoop(
        reader,
        pipelines,
        publisher.publish_outcome,
        adopt_if_rebalanced,
        probe,
        fetch_timeout_seconds=settings.batch_within_seconds,
        commit_interval_seconds=settings.commit_interval_seconds,
    )

    async def read_feeds() -> None:
        await loop.run()

    app.task(read_feeds)

    if settings.routed_alerts_topic in sources:
        _attach_router(app, settings, sources[settings.routed_alerts_topic], publisher, metrics)

    async def on_tick() -> None:
        lag = consumer_lag(app.consumer, pipelines)
        for topic, pipeline in pipelines.items():
            if topic in pending_adoption:
                continue
            lagging = {int(partition) for (t, partition), n in lag.items() if t == topic and n > 0}
            alerts = pipeline.tick(lagging)
            if alerts:
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

    @app.on_partitions_revoked.connect  # type: ignore[untyped-decorator]
    async def on_revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        await loop.checkpoint()

    @app.on_partitions_assigned.connect  # type: ignore[untyped-decorator]
    async def on_assigned(sender: Any, assigned: set[Any], **_: Any) -> None:
        for topic, pipeline in pipelines.items():
            owned = {tp.partition for tp in assigned if tp.topic == topic}
            pipeline.release(pipeline.owned - owned)
            if owned - pipeline.owned:
                pending_adoption[topic] = owned

    return loop


def _attach_router(
    app: Any, settings: WorkerSettings, routed: Any, publisher: Publisher, metrics: WorkerMetrics
) -> None:
    """The agent forwarding alerts from ``ioc.alerts`` to ``routed`` (offsets acked after the sends)."""
    alerts = app.topic(
        contract.ALERTS, key_serializer="raw", value_serializer="raw", partitions=settings.partitions[contract.ALERTS]
    )

    async def forward(stream: Any) -> None:
        async for events in stream.take_events(1000, within=settings.batch_within_seconds):
            forwarded, letters = route([event.message for event in events], metrics)
            for key, value in forwarded:
                await routed.send(key=key, value=value)
            if letters:
                await publisher.publish((), letters)

    app.agent(alerts, name=f"{settings.app_id}.alert-router")(forward)


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
