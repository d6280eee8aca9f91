"""The worker's hot path: feed records read in bulk, handled a partition at a time, committed after publishing.

Each fetch (up to ``batch_size`` records over the assigned feed partitions)
goes to the pipelines partition by partition; what they return is published,
and every ``commit_interval_seconds`` the producer is flushed and the offsets
past the handled records are committed. Alerts, dead letters and table writes
are therefore on the broker before the records that caused them are marked
consumed: at-least-once. A batch is never interrupted by a rebalance or a
stop: both wait for it and commit (:meth:`FeedLoop.checkpoint`). The next
fetch is read while a batch is handled, and commits (a flush is a round trip
to the broker) run beside the handling: the loop waits for neither.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from iocsim.streams.partition_reader import Fetched, PartitionReader
from iocsim.streams.pipeline import Outcome, TopicPipeline
from iocsim.streams.probe import WorkerProbe

log = logging.getLogger(__name__)

Publish = Callable[[Outcome], Awaitable[None]]
Adopt = Callable[[str], Awaitable[None]]


class FeedLoop:
    """Reads ``pipelines``' topics through ``reader`` until stopped (see module docstring)."""

    def __init__(
        self,
        reader: PartitionReader,
        pipelines: Mapping[str, TopicPipeline],
        publish: Publish,
        adopt: Adopt,
        probe: WorkerProbe,
        fetch_timeout_seconds: float,
        commit_interval_seconds: float,
    ) -> None:
        self.reader = reader
        self.pipelines = pipelines
        self.publish = publish
        self.adopt = adopt
        self.probe = probe
        self.fetch_timeout = fetch_timeout_seconds
        self.commit_interval = commit_interval_seconds
        self._pending: dict[Any, int] = {}
        self._committed_at = time.monotonic()
        self._lock = asyncio.Lock()
        self._commit_lock = asyncio.Lock()
        self._committing: asyncio.Future[None] | None = None
        self._stopping = False

    async def run(self) -> None:
        """Handle fetches until stopped, reading the next fetch while handling one, committing in the background."""
        fetching = asyncio.ensure_future(self.reader.fetch(self.fetch_timeout))
        try:
            while not self._stopping:
                fetched = await fetching
                fetching = asyncio.ensure_future(self.reader.fetch(self.fetch_timeout))
                if fetched.records:
                    async with self._lock:
                        await self._handle(fetched)
                due = time.monotonic() - self._committed_at >= self.commit_interval
                if due and self._pending and not self._commit_lock.locked():
                    self._committing = asyncio.ensure_future(self._commit())
        finally:
            fetching.cancel()

    async def _handle(self, fetched: Fetched) -> None:
        if self._stopping or await self.reader.give_back_if_stale(fetched):
            return
        now = time.time()
        events = 0
        for topic in {tp.topic for tp in fetched.records}:
            await self.adopt(topic)
        for tp, records in fetched.records.items():
            pipeline = self.pipelines[tp.topic]
            if tp.partition not in pipeline.owned:
                continue
            outcome = pipeline.process(tp.partition, records, records[-1].timestamp / 1000.0, now)
            if outcome.alerts or outcome.dead_letters:
                await self.publish(outcome)
            self._pending[tp] = records[-1].offset + 1
            events += len(records)
        self.probe.batch_done(events)

    async def checkpoint(self) -> None:
        """Wait for the batch in hand, then flush the producer and commit what was handled."""
        async with self._lock:
            await self._commit()

    async def stop(self) -> None:
        """Stop reading after the batch in hand, and commit it."""
        self._stopping = True
        await self.checkpoint()

    async def _commit(self) -> None:
        async with self._commit_lock:
            pending, self._pending = self._pending, {}
            self._committed_at = time.monotonic()
            if not pending:
                return
            try:
                await self.reader.commit(pending)
            except Exception:
                log.exception("commit of %d feed partitions failed; they will be read again", len(pending))
