"""Completes a table recovery on brokers that under-report end offsets (Tansu).

Faust recovers a table by reading its changelog up to the partition's end
offset. Tansu reports the base offset of the last record batch plus one as
that end, so the other records of the last batch (the last state a worker
wrote before it stopped) are never applied and a restarted worker would fire
an alert a second time. Once Faust is done, the tail of each newly owned
changelog partition is read again up to the highwater a *fetch* returns,
which is correct, and applied to the table. On Kafka this re-applies one
record, which changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)


async def complete_recovery(
    bootstrap: str, tables: Sequence[Any], partitions: Iterable[int], timeout: float = 10.0
) -> int:
    """Apply the changelog records of ``tables`` that Faust's recovery left out; return how many were read."""
    by_topic = {table.changelog_topic_name: table for table in tables}
    tps = [TopicPartition(topic, p) for topic in by_topic for p in sorted(set(partitions))]
    if not tps:
        return 0
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    applied = 0
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends.get(tp)}
        for tp in tps:
            if tp in pending:
                consumer.seek(tp, max(ends[tp] - 1, 0))
        consumer.pause(*(tp for tp in tps if tp not in pending))
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            fetched = await consumer.getmany(*pending, timeout_ms=200)
            for tp, records in fetched.items():
                applied += _apply(by_topic[tp.topic], records)
            for tp in list(pending):
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    pending.discard(tp)
        if pending:
            log.warning("changelog tail of %s not read within %.0f s", sorted(map(str, pending)), timeout)
    finally:
        await consumer.stop()
    return applied


def _apply(table: Any, records: Sequence[Any]) -> int:
    store = table.data
    for record in records:
        if record.key is None:
            continue
        key = json.loads(record.key)
        if record.value is None:
            store.pop(key, None)
        else:
            store[key] = json.loads(record.value)
    return len(records)
