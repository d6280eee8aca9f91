"""Constant rate against the real embedded broker: achieved within 1 %, sent = acked = read back."""

from __future__ import annotations

import time

import pytest

from iocsim.broker import EmbeddedBroker
from iocsim.loadtest.pool import Pool
from iocsim.loadtest.profile import constant_profile
from iocsim.loadtest.runner import KafkaRunSettings, run_kafka
from iocsim.loadtest.sender import marker_prefixes, parse_marker
from iocsim.loadtest.verify import read_back, start_offsets

pytestmark = pytest.mark.broker


def test_markers_are_fixed_width_and_round_trip() -> None:
    blob = marker_prefixes(7, 123_456, 3)
    width = len(blob) // 3
    values = [blob[i * width : (i + 1) * width] + b'"event_id":"x"}' for i in range(3)]
    assert [parse_marker(v) for v in values] == [(7, 123_456), (7, 123_457), (7, 123_458)]
    assert parse_marker(b'{"event_id":"x"}') is None


def test_constant_rate_is_achieved_and_nothing_is_lost(fresh_broker: EmbeddedBroker, small_pool: Pool) -> None:
    bootstrap = fresh_broker.address.bootstrap
    offsets = start_offsets(bootstrap, sorted(set(small_pool.topics)), {})
    settings = KafkaRunSettings(profile=constant_profile(3000, "4s"), bootstrap=bootstrap, mark_sequence=True)
    began = time.monotonic()
    outcome = run_kafka(settings, small_pool)
    assert time.monotonic() - began < 20
    assert outcome.offered == 12_000
    assert outcome.sent == outcome.acked == outcome.offered
    assert outcome.failed == 0
    rows = outcome.series.rows()
    for row in rows[:4]:
        assert row["offered"] == 3000
        assert abs(row["sent"] - row["offered"]) <= 0.01 * row["offered"] + 30
    assert outcome.produce.count == outcome.acked
    verification = read_back(bootstrap, offsets, outcome.sent_by_worker, outcome.acked, outcome.started_at)
    assert (verification.read_back, verification.lost, verification.duplicates) == (12_000, 0, 0)


def test_without_verification_the_pool_values_go_out_unchanged(fresh_broker: EmbeddedBroker, small_pool: Pool) -> None:
    from confluent_kafka import Consumer, TopicPartition

    bootstrap = fresh_broker.address.bootstrap
    outcome = run_kafka(KafkaRunSettings(profile=constant_profile(500, "1s"), bootstrap=bootstrap), small_pool)
    assert outcome.acked == 500
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unchanged-check", "enable.auto.commit": False})
    topic = small_pool.topics[0]
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    seen: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(seen) < 20 and time.monotonic() < deadline:
        seen.extend(m.value() for m in consumer.consume(100, timeout=0.5) if m.error() is None)
    consumer.close()
    assert seen, f"nothing read back from {topic}"
    pool_values = set(small_pool.values)
    assert all(value in pool_values and parse_marker(value) is None for value in seen)
