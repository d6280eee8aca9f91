"""End-to-end latency to a named consumer group, measured against real consumer groups on the embedded broker."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from iocsim.broker import BrokerAddress, ensure_topics
from iocsim.loadtest.group_latency import GroupLatencyProbe
from iocsim.loadtest.histograms import LatencyHistogram

pytestmark = [pytest.mark.broker, pytest.mark.slow]

EVENTS = 300
RATE = 200.0


@dataclass
class CommittingConsumer:
    """A group member that commits each message's offset only ``delay_s`` after it received it."""

    bootstrap: str
    group: str
    topic: str
    delay_s: float
    assigned: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    committed: int = 0

    def run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 1000,
            }
        )
        consumer.subscribe([self.topic], on_assign=lambda _c, partitions: self.assigned.set())
        held: list[tuple[float, Message]] = []
        try:
            while not self.stop.is_set():
                message = consumer.poll(0.02)
                if message is not None and message.error() is None:
                    held.append((time.perf_counter(), message))
                due = [m for received, m in held if time.perf_counter() - received >= self.delay_s]
                if due:
                    last: dict[int, int] = {}
                    for m in due:
                        partition, offset = m.partition(), m.offset()
                        assert partition is not None and offset is not None
                        last[partition] = max(last.get(partition, -1), offset)
                    offsets = [TopicPartition(self.topic, p, o + 1) for p, o in last.items()]
                    consumer.commit(offsets=offsets, asynchronous=False)
                    self.committed += len(due)
                    held = held[len(due) :]
        finally:
            consumer.close()


def test_e2e_latency_follows_when_the_group_commits(broker_address: BrokerAddress) -> None:
    topic = f"test.load.e2e.{uuid.uuid4().hex[:10]}"
    ensure_topics(broker_address, {topic: 3})
    bootstrap = broker_address.bootstrap
    prompt = CommittingConsumer(bootstrap, f"prompt-{topic}", topic, delay_s=0.0)
    delayed = CommittingConsumer(bootstrap, f"delayed-{topic}", topic, delay_s=1.0)
    threads = [threading.Thread(target=c.run, daemon=True) for c in (prompt, delayed)]
    for thread in threads:
        thread.start()
    probes = [GroupLatencyProbe(bootstrap, c.group, LatencyHistogram()) for c in (prompt, delayed)]
    try:
        for c in (prompt, delayed):
            assert c.assigned.wait(40), f"{c.group} got no partitions"
        for probe in probes:
            probe.start()
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
        start = time.perf_counter() + 0.05
        acked = 0

        def delivered(intended: float, error: object, message: Message) -> None:
            nonlocal acked
            partition, offset = message.partition(), message.offset()
            if error is None and partition is not None and offset is not None:
                acked += 1
                probes[0].note(topic, partition, offset, intended)
                probes[1].note_many(topic, partition, np.array([offset]), np.array([intended]))

        for i in range(EVENTS):
            intended = start + i / RATE
            while time.perf_counter() < intended:
                producer.poll(max(0.0, min(intended - time.perf_counter(), 0.005)))
            producer.produce(
                topic,
                value=b"x" * 100,
                key=str(i).encode(),
                on_delivery=functools.partial(delivered, intended),
            )
        assert producer.flush(10) == 0
        assert acked == EVENTS
        for probe in probes:
            probe.stop(drain_s=15)
    finally:
        for c in (prompt, delayed):
            c.stop.set()
        for thread in threads:
            thread.join(15)
    fast, slow = (probe.histogram for probe in probes)
    assert [probe.pending for probe in probes] == [0, 0]
    assert fast.count == slow.count == EVENTS
    assert [probe.errors for probe in probes] == [0, 0]
    assert fast.percentile_ms(50) < 800, fast.summary()  # ≈ 200 ms here: fetch wait + poll interval
    assert 1000 <= slow.percentile_ms(50) < 3000, slow.summary()  # ≈ 1.2 s here
    assert slow.percentile_ms(0) >= 1000, slow.summary()


def test_a_group_that_never_commits_leaves_events_pending(broker_address: BrokerAddress) -> None:
    topic = f"test.load.e2e.{uuid.uuid4().hex[:10]}"
    probe = GroupLatencyProbe(broker_address.bootstrap, f"absent-{topic}", LatencyHistogram(), poll_interval_s=0.05)
    for offset in range(5):
        probe.note(topic, 0, offset, time.perf_counter())
    probe.note_many(topic, 1, np.arange(7), np.full(7, time.perf_counter()))
    assert probe.pending == 12
    probe.start()
    time.sleep(0.3)
    probe.stop(drain_s=0.2)
    assert probe.histogram.count == 0
    assert probe.pending == 12
    assert probe.errors == 0
