"""Reading whole topics from the beginning up to their current end, without a consumer group.

The end is the highwater a fetch returns, not ListOffsets: some brokers
(Tansu) under-report the latter.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from iocsim.broker import BrokerAddress
from iocsim.contract import ContractError, decode


@dataclass
class TopicContents:
    messages: dict[str, list[Any]] = field(default_factory=dict)
    invalid: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    """The topics the broker does not have."""


def read_topics(
    address: BrokerAddress,
    topics: list[str],
    idle_seconds: float = 2.0,
    limit_seconds: float = 300.0,
    schemas: Mapping[str, str] | None = None,
) -> TopicContents:
    """Every valid message of ``topics`` (decoded with the contract); invalid ones are counted, not returned.

    ``schemas`` maps a topic outside the contract to the contract topic whose
    messages it carries: a detector under test may publish its alerts elsewhere.
    """
    schema_of = {topic: topic for topic in topics} | dict(schemas or {})
    consumer = KafkaConsumer(
        bootstrap_servers=address.bootstrap, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
    )
    contents = TopicContents({topic: [] for topic in topics})
    try:
        partitions = []
        for topic in topics:
            found = sorted(consumer.partitions_for_topic(topic) or ())
            if not found:
                contents.missing.append(topic)
            partitions += [TopicPartition(topic, p) for p in found]
        if not partitions:
            return contents
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + limit_seconds
        last_record = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=200, max_records=10_000)
            for records in batch.values():
                for record in records:
                    try:
                        contents.messages[record.topic].append(decode(schema_of[record.topic], record.value))
                    except ContractError:
                        contents.invalid[record.topic] += 1
            if batch:
                last_record = time.monotonic()
            caught_up = all(
                (hw := consumer.highwater(tp)) is not None and consumer.position(tp) >= hw for tp in partitions
            )
            if caught_up or time.monotonic() - last_record > idle_seconds:
                break
    finally:
        consumer.close()
    return contents
