"""Read-back counts a missing and a duplicated message by their sequence numbers."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer

from iocsim.broker import EmbeddedBroker
from iocsim.loadtest.sender import marker_prefixes
from iocsim.loadtest.verify import read_back, start_offsets

pytestmark = pytest.mark.broker

TOPIC = "ioc.services.events"


def test_lost_and_duplicated_messages_are_counted(fresh_broker: EmbeddedBroker) -> None:
    bootstrap = fresh_broker.address.bootstrap
    offsets = start_offsets(bootstrap, [TOPIC], {})
    began = time.time()
    markers = marker_prefixes(3, 0, 100)
    width = len(markers) // 100
    producer = Producer({"bootstrap.servers": bootstrap})
    for seq in range(100):
        if seq == 5:
            continue
        value = markers[seq * width : (seq + 1) * width] + b'"event_id":"e"}'
        producer.produce(TOPIC, value, b"portal")
        if seq == 7:
            producer.produce(TOPIC, value, b"portal")
    assert producer.flush(10) == 0
    verification = read_back(bootstrap, offsets, {3: 100}, acked=100, since=began, idle_s=1.0)
    assert verification.read_back == 100
    assert verification.duplicates == 1
    assert verification.lost == 1
    assert verification.missing_sequences == 1
