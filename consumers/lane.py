"""One sink's delivery lane: its own consumer group on the alerts topic, queue, workers and commits.

Each sink reads with its own consumer group (``<group>.<sink name>``) so its
committed offsets say what *it* has finished: a dead endpoint holds back only
its own commits and, once its queue is full, pauses only its own fetching
(backpressure) while the other lanes go on. A shared consumer would have to
choose between stalling every endpoint behind the slowest and dropping work.

Work is split over ``concurrency`` ordered sub-queues by fingerprint, so the
transitions of one alert (firing, then resolved) reach a receiver in order,
and different alerts go out in parallel. Offsets are committed only up to the
first transition not yet delivered or dead-lettered (see ``tracker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from iocsim.consumers.deadletters import DeadLetterWriter, malformed, undeliverable
from iocsim.consumers.delivery import AttemptResult, Sink, Transition, deliver
from iocsim.consumers.metrics import WebhookMetrics
from iocsim.consumers.retry import status_class
from iocsim.consumers.tracker import PartitionTracker
from iocsim.contract import ALERTS, Alert, ContractError, decode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LaneTiming:
    commit_interval: float = 1.0
    drain_timeout: float = 10.0
    poll_timeout: float = 0.2


@dataclass
class _Work:
    transition: Transition
    tracker: PartitionTracker


class Lane:
    """Reads ``topic`` for one sink and delivers what matches; ``run()`` until ``stop()``."""

    def __init__(
        self,
        sink: Sink,
        consumer: AIOKafkaConsumer,
        deadletters: DeadLetterWriter,
        metrics: WebhookMetrics,
        rng: random.Random,
        topic: str = ALERTS,
        timing: LaneTiming | None = None,
        wall: Callable[[], float] = time.time,
        reports_malformed: bool = True,
    ) -> None:
        self.sink = sink
        self.topic = topic
        self._consumer = consumer
        self._deadletters = deadletters
        self._metrics = metrics.for_sink(sink.name)
        self._rng = rng
        self._timing = timing or LaneTiming()
        self._wall = wall
        self._reports_malformed = reports_malformed
        self._trackers: dict[TopicPartition, PartitionTracker] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._queues: list[asyncio.Queue[_Work]] = [asyncio.Queue() for _ in range(sink.concurrency)]
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = asyncio.Event()
        self.assigned = asyncio.Event()
        self.delivered = 0

    def stop(self) -> None:
        self._stopping.set()

    @property
    def outstanding(self) -> int:
        return self._outstanding

    async def run(self) -> None:
        self._consumer.subscribe([self.topic], listener=_Rebalance(self))
        workers = [asyncio.create_task(self._work(queue)) for queue in self._queues]
        try:
            await self._fetch_until_stopped()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self._timing.drain_timeout)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self._commit()

    async def _fetch_until_stopped(self) -> None:
        capacity = self.sink.queue_size
        last_commit = time.monotonic()
        while not self._stopping.is_set():
            free = capacity - self._outstanding
            assignment = self._consumer.assignment()
            if free <= 0:
                self._consumer.pause(*assignment)
            elif self._consumer.paused():
                self._consumer.resume(*self._consumer.paused())
            batch = await self._consumer.getmany(
                timeout_ms=int(self._timing.poll_timeout * 1000), max_records=max(free, 1)
            )
            for tp, records in batch.items():
                for record in records:
                    await self._accept(tp, record)
            if time.monotonic() - last_commit >= self._timing.commit_interval:
                await self._commit()
                last_commit = time.monotonic()

    async def _accept(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        tracker = self._trackers.setdefault(tp, PartitionTracker())
        try:
            tracker.started(record.offset)
        except ValueError:
            log.info("%s: partition %d rewound to offset %d", self.sink.name, tp.partition, record.offset)
            tracker = self._trackers[tp] = PartitionTracker()
            tracker.started(record.offset)
        raw = record.value or b""
        try:
            alert: Alert = decode(ALERTS, raw)
        except ContractError as exc:
            if self._reports_malformed:
                await self._deadletters.write(
                    malformed(tp.topic, tp.partition, record.offset, record.key, raw, exc, self._wall())
                )
            tracker.finished(record.offset)
            return
        if not self.sink.matches(alert):
            tracker.finished(record.offset)
            return
        published = record.timestamp / 1000 if record.timestamp and record.timestamp > 0 else self._wall()
        transition = Transition(alert, raw, tp.topic, tp.partition, record.offset, published)
        self._outstanding += 1
        self._idle.clear()
        self._metrics.in_flight.inc()
        lane = zlib.crc32(alert.payload.fingerprint.encode()) % len(self._queues)
        self._queues[lane].put_nowait(_Work(transition, tracker))

    async def _work(self, queue: asyncio.Queue[_Work]) -> None:
        name = self.sink.name
        attempts = self._metrics.attempts

        def count(result: AttemptResult) -> None:
            attempts[status_class(result.status, result.timed_out)].inc()

        while True:
            work = await queue.get()
            transition = work.transition
            outcome = await deliver(self.sink, transition, self._rng, on_attempt=count, wall=self._wall)
            if outcome.kind == "success":
                self._metrics.latency.observe(max(0.0, self._wall() - transition.published_at))
                self.delivered += 1
            else:
                log.warning(
                    "%s: %s %s after %d attempts: %s",
                    name,
                    outcome.kind.replace("_", "-"),
                    transition.alert.event_id,
                    outcome.attempts,
                    outcome.last_error,
                )
                await self._deadletters.write(undeliverable(transition, name, outcome, self._wall()))
                self._metrics.dead_letters.inc()
            self._metrics.deliveries[outcome.kind].inc()
            work.tracker.finished(transition.offset)
            self._metrics.in_flight.dec()
            self._outstanding -= 1
            if self._outstanding == 0:
                self._idle.set()

    async def _commit(self, only: set[TopicPartition] | None = None) -> None:
        offsets = {}
        for tp, tracker in self._trackers.items():
            if only is not None and tp not in only:
                continue
            offset = tracker.committable()
            if offset is not None and self._committed.get(tp) != offset:
                offsets[tp] = offset
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("%s: commit of %s failed (%s); will retry", self.sink.name, offsets, exc)
            return
        self._committed.update(offsets)

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Commit what is finished, then forget the partitions; their in-flight work finishes untracked."""
        await self._commit(set(revoked))
        for tp in revoked:
            self._trackers.pop(tp, None)
            self._committed.pop(tp, None)

    def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("%s: assigned %s", self.sink.name, sorted(tp.partition for tp in assigned))
        self.assigned.set()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, lane: Lane) -> None:
        self._lane = lane

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._lane.partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._lane.partitions_assigned(assigned)
