"""Feed records handed over as aiokafka parsed them: same offsets, keys, values and times, other topics untouched."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.consumer.fetcher import FetchResult, PartitionRecords
from kafka import KafkaProducer

from iocsim.broker import BrokerAddress, ensure_topics
from iocsim.streams.light_records import lighten

N = 500


def test_the_aiokafka_internals_it_uses_are_there() -> None:
    assert callable(PartitionRecords._consumer_record)
    assert "partition_records" in FetchResult.__init__.__code__.co_varnames


async def read_all(address: BrokerAddress, topics: list[str], light: set[str]) -> dict[str, list[object]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=address.bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        if light:
            assert lighten(consumer._fetcher, light)
            assert lighten(consumer._fetcher, light), "a second call leaves it as it is"
        consumer.assign([TopicPartition(topic, 0) for topic in topics])
        await consumer.seek_to_beginning()
        read: dict[str, list[object]] = {topic: [] for topic in topics}
        while any(len(records) < N for records in read.values()):
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                read[tp.topic].extend(records)
        return read
    finally:
        await consumer.stop()


@pytest.mark.broker
def test_records_of_the_light_topics_carry_what_consumer_records_do(broker_address: BrokerAddress) -> None:
    feed, other = (f"test-light-{name}-{uuid.uuid4().hex[:6]}" for name in ("feed", "other"))
    ensure_topics(broker_address, {feed: 1, other: 1})
    producer = KafkaProducer(bootstrap_servers=broker_address.bootstrap, linger_ms=5)
    for i in range(N):
        for topic in (feed, other):
            producer.send(topic, key=f"k{i % 7}".encode(), value=f"v{i}".encode(), timestamp_ms=1_700_000_000_000 + i)
    producer.flush()
    producer.close()

    plain = asyncio.run(read_all(broker_address, [feed, other], set()))
    light = asyncio.run(read_all(broker_address, [feed, other], {feed}))

    assert all(type(r) is ConsumerRecord for records in plain.values() for r in records)
    assert all(type(r) is ConsumerRecord for r in light[other])
    assert not any(isinstance(r, ConsumerRecord) for r in light[feed])
    fields = ("offset", "key", "value", "timestamp")
    for topic in (feed, other):
        assert [tuple(getattr(r, f) for f in fields) for r in light[topic]] == [
            tuple(getattr(r, f) for f in fields) for r in plain[topic]
        ]
    assert [r.value for r in light[feed]] == [f"v{i}".encode() for i in range(N)]


def test_an_unknown_store_is_left_alone() -> None:
    class Fetcher:
        def __init__(self) -> None:
            self._records: dict[object, object] = {}

    fetcher = Fetcher()
    assert not lighten(fetcher, {"t"})
    assert fetcher._records == {}
    assert not lighten(object(), {"t"})
