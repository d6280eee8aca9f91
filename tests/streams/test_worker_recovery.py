"""Completing a table recovery from the changelog tail, on the real embedded broker.

Tansu reports a partition's end as the last record batch's base offset + 1, so
Faust's recovery stops at the first record of that batch; the records after
it are the ones ``complete_recovery`` must bring back.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from iocsim.broker import BrokerAddress
from iocsim.streams.recovery import complete_recovery

pytestmark = pytest.mark.broker


@dataclass
class FakeTable:
    changelog_topic_name: str
    data: dict[str, Any] = field(default_factory=dict)


def test_the_last_batch_of_a_changelog_is_applied_whole(broker_address: BrokerAddress) -> None:
    topic = f"test-recovery-{uuid.uuid4().hex[:8]}-changelog"
    admin = KafkaAdminClient(bootstrap_servers=broker_address.bootstrap)
    admin.create_topics([NewTopic(topic, 2, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=broker_address.bootstrap, linger_ms=200)
    for value in range(3):
        producer.send(
            topic, key=json.dumps("cam-1").encode(), value=json.dumps({"p": 1, "s": {"n": value}}).encode(), partition=1
        )
    producer.send(
        topic, key=json.dumps("cam-2").encode(), value=json.dumps({"p": 1, "s": {"n": 9}}).encode(), partition=1
    )
    producer.flush()
    producer.close()
    table = FakeTable(topic, {"cam-1": {"p": 1, "s": {"n": 0}}})

    read = asyncio.run(complete_recovery(broker_address.bootstrap, [table], {0, 1}, timeout=10))

    assert read >= 1
    assert table.data == {"cam-1": {"p": 1, "s": {"n": 2}}, "cam-2": {"p": 1, "s": {"n": 9}}}


def test_nothing_to_do_without_partitions(broker_address: BrokerAddress) -> None:
    assert asyncio.run(complete_recovery(broker_address.bootstrap, [FakeTable("x-changelog")], set())) == 0
