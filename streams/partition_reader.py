"""Reads the feed partitions Faust assigned to this worker in bulk, through Faust's own consumer.

Faust hands a stream one message at a time: a task and a few futures per
message cap a worker at about 14k messages/s whatever the agent does. The
feeds are read here instead with the ``getmany`` Faust's fetcher itself uses,
a whole fetch at a time, while everything else stays Faust's: the consumer
group, the assignment (tables co-partitioned with the feeds), table recovery,
the producer and the commit. The topics must still be subscribed (see
:meth:`PartitionReader.subscribe`) for the group to assign them.

This needs three things Faust does not offer publicly, and this module is the
only place that touches them (``tests/streams/test_partition_reader.py`` fails
if they change):

- ``Consumer._getmany(active_partitions, timeout)``: the bulk fetch. It is
  wrapped on the consumer instance so that Faust's fetcher never asks for the
  feed partitions (pausing them would not last: table recovery resumes every
  assigned partition), and called directly for the feed partitions here. It
  returns nothing while Faust has stopped the flow for a rebalance.
- ``Consumer._commit_offsets(offsets)``: Faust's commit path (flush the
  producer, commit, bookkeeping), for offsets Faust never saw acknowledged.
- ``App.topics`` (the conductor) ``add``: subscribes a topic without an agent.
- ``Consumer._thread`` (the consumer thread, with ``call_thread``) and its
  ``_consumer`` (the aiokafka consumer): to have the fetcher hand the feed
  records over as parsed (:mod:`light_records`), from the thread it runs in.

Records are read only while Faust is not rebalancing (``App.rebalancing``,
cleared once the tables are recovered and the partitions sought to their
committed offsets), and records read before a rebalance began
(``App.rebalancing_count``) are given back, so a pipeline never handles a
record of a partition it no longer owns or before its tables are recovered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import IllegalStateError

from iocsim.streams.errors import StreamsError
from iocsim.streams.light_records import lighten

log = logging.getLogger(__name__)

FetchedRecords = Mapping[Any, Sequence[Any]]


@dataclass(frozen=True)
class Fetched:
    """Records read by one fetch, by partition, and the rebalance count when it began."""

    records: FetchedRecords
    rebalances: int


class PartitionReader:
    """Bulk reads of ``topics`` for one Faust app (see module docstring)."""

    def __init__(self, app: Any, topics: Collection[str]) -> None:
        self.app = app
        self.topics = frozenset(topics)
        self.light: bool | None = None
        """Whether records come as aiokafka parsed them; None until the consumer has started."""
        self._fetch: Any = None

    def subscribe(self, topics: Iterable[Any]) -> None:
        """Have the consumer group assign these Faust topics (of ``topics``), which no agent reads."""
        for topic in topics:
            self.app.topics.add(topic)

    def install(self) -> None:
        """Keep Faust's fetcher away from ``topics`` (once, before the app starts)."""
        consumer = self.app.consumer
        fetch = getattr(consumer, "_getmany", None)
        if fetch is None or not hasattr(consumer, "_commit_offsets"):
            raise StreamsError(f"this Faust consumer ({type(consumer).__name__}) cannot be read in bulk")
        topics = self.topics

        async def faust_getmany(active_partitions: set[Any] | None, timeout: float) -> Any:
            if active_partitions is not None:
                active_partitions = {tp for tp in active_partitions if tp.topic not in topics}
            return await fetch(active_partitions=active_partitions, timeout=timeout)

        consumer._getmany = faust_getmany
        self._fetch = fetch

    def assigned(self) -> set[Any]:
        """The partitions of ``topics`` this worker is assigned now."""
        return {tp for tp in self.app.consumer.assignment() if tp.topic in self.topics}

    async def fetch(self, timeout: float) -> Fetched:
        """Records of the assigned partitions of ``topics`` (up to ``broker_max_poll_records``), by partition.

        Nothing is read during a rebalance; what was read before one is
        discarded by :meth:`give_back_if_stale`.
        """
        if self._fetch is None:
            raise StreamsError("PartitionReader.install() was not called")
        app = self.app
        rebalances = app.rebalancing_count
        partitions = set() if app.rebalancing else self.assigned()
        if not partitions:
            await asyncio.sleep(timeout)
            return Fetched({}, rebalances)
        if self.light is None:
            await self._lighten()
        records: FetchedRecords = await self._fetch(active_partitions=partitions, timeout=timeout)
        return Fetched({tp: batch for tp, batch in records.items() if batch}, rebalances)

    async def _lighten(self) -> None:
        thread: Any = getattr(self.app.consumer, "_thread", None)
        if hasattr(thread, "call_thread"):
            fetcher = getattr(getattr(thread, "_consumer", None), "_fetcher", None)
            if fetcher is None:
                return  # the consumer has not started yet: at the next fetch

            async def in_consumer_thread() -> bool:
                return lighten(fetcher, self.topics)

            self.light = bool(await thread.call_thread(in_consumer_thread))
        else:
            self.light = False
        if not self.light:
            log.warning("feed records are rebuilt as aiokafka ConsumerRecords: the consumer's internals changed")

    async def give_back_if_stale(self, fetched: Fetched) -> bool:
        """Whether a rebalance began since ``fetched`` was read; if so, read its partitions again from its start.

        Its partitions still assigned are sought to its first records, so the
        next fetch reads them again under the new assignment.
        """
        app = self.app
        if not app.rebalancing and app.rebalancing_count == fetched.rebalances:
            return False
        assignment = app.consumer.assignment()
        for tp, records in fetched.records.items():
            if tp in assignment:
                with contextlib.suppress(IllegalStateError):
                    await app.consumer.seek(tp, records[0].offset)
        return True

    async def commit(self, offsets: Mapping[Any, int]) -> bool:
        """Flush the producer, then commit ``offsets`` (next offset to read, per partition) that are still assigned."""
        if not offsets:
            return False
        committed: bool = await self.app.consumer._commit_offsets(dict(offsets))
        return committed
