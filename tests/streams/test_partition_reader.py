"""The bulk read of the feeds through Faust's consumer, which leans on Faust internals: fails if they change.

The first test pins the private names :mod:`iocsim.streams.partition_reader`
relies on; the second runs a worker on a broker of its own and checks the
effects: every record handled by the feed loop (as aiokafka parsed it), none
delivered through Faust's per-message path, and the offsets committed for the
group.
"""

from __future__ import annotations

import inspect
import socket
import time
import uuid
from pathlib import Path

import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from iocsim.broker import EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS
from iocsim.contract import CAMERA_OBSERVATIONS, CameraMetrics, CameraObservation, encode, encode_key
from iocsim.streams.runner import BackgroundWorker
from iocsim.streams.settings import WorkerSettings
from iocsim.streams.state import partition_of

N = 3000


def test_the_faust_internals_the_reader_uses_are_there() -> None:
    consumer = faust_aiokafka.Consumer
    assert list(inspect.signature(consumer._getmany).parameters)[1:] == ["active_partitions", "timeout"]
    assert inspect.iscoroutinefunction(consumer._getmany)
    assert list(inspect.signature(consumer._commit_offsets).parameters)[1:3] == ["offsets", "start_new_transaction"]
    assert inspect.iscoroutinefunction(consumer._commit_offsets)
    assert "rebalancing_count" in faust.App.__annotations__ or hasattr(faust.App, "rebalancing_count")
    app = faust.App(f"probe-{uuid.uuid4().hex[:6]}", autodiscover=False)
    assert app.rebalancing is False and app.rebalancing_count == 0
    assert callable(app.topics.add)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def observation(i: int) -> CameraObservation:
    camera = f"TC-{i % 40:02d}"
    payload = CameraMetrics(
        frames=5,
        motion_ratio=0.01,
        brightness=110.0,
        sharpness=800.0,
        displacement_px=0.1,
        displacement_response=0.9,
        blobs=1.0,
    )
    return CameraObservation(
        event_id=f"{camera}-{i}", entity_id=camera, district="tua-chua", event_time=1.7e9 + i, payload=payload
    )


@pytest.mark.broker
@pytest.mark.slow
def test_feeds_are_read_in_bulk_and_committed_through_faust(tmp_path: Path) -> None:
    with EmbeddedBroker() as broker:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        producer = KafkaProducer(bootstrap_servers=broker.address.bootstrap, linger_ms=20)
        messages = [observation(i) for i in range(N)]
        for m in messages:
            producer.send(CAMERA_OBSERVATIONS, key=encode_key(m), value=encode(m))
        producer.flush()
        producer.close()
        app_id = f"test-bulk-{uuid.uuid4().hex[:8]}"
        settings = WorkerSettings(
            brokers=broker.address,
            app_id=app_id,
            web_port=free_port(),
            metrics_port=free_port(),
            session_timeout_seconds=6.0,
            batch_size=500,
            batch_within_seconds=0.05,
            data_dir=tmp_path,
        )
        with BackgroundWorker(settings, []) as running:
            assert running.worker is not None
            probe, app = running.worker.probe, running.worker.app
            deadline = time.monotonic() + 60
            while probe.events < N and time.monotonic() < deadline:
                time.sleep(0.05)
            assert probe.events == N
            assert probe.batches >= N // 500
            assert app.monitor.messages_received_by_topic.get(CAMERA_OBSERVATIONS, 0) == 0
            assert running.worker.feed_loop.reader.light is True
        reader = KafkaConsumer(bootstrap_servers=broker.address.bootstrap, group_id=app_id, enable_auto_commit=False)
        try:
            committed = {
                p: reader.committed(TopicPartition(CAMERA_OBSERVATIONS, p))
                for p in range(DEFAULT_PARTITIONS[CAMERA_OBSERVATIONS])
            }
        finally:
            reader.close()
        per_partition: dict[int, int] = {}
        for m in messages:
            p = partition_of(m.entity_id, DEFAULT_PARTITIONS[CAMERA_OBSERVATIONS])
            per_partition[p] = per_partition.get(p, 0) + 1
        assert {p: offset for p, offset in committed.items() if offset} == per_partition
