"""A worker on the real embedded broker turns a detector's signals into alerts, and survives a restart."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from iocsim.broker import BrokerAddress
from iocsim.contract import (
    ALERTS,
    CAMERA_OBSERVATIONS,
    Alert,
    CameraMetrics,
    CameraObservation,
    Envelope,
    Evidence,
    decode,
    encode,
    encode_key,
)
from iocsim.streams.lifecycle import Signal, fingerprint
from iocsim.streams.runner import BackgroundWorker
from iocsim.streams.settings import WorkerSettings
from iocsim.streams.state import TableState

pytestmark = [pytest.mark.broker, pytest.mark.slow]

RULE = "test_dark_camera"
DARK = 20.0


class DarkCamera:
    """Brightness below a threshold means the lens is covered; counts what it has seen per camera."""

    topic = CAMERA_OBSERVATIONS
    name = "dark-camera"

    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.loaded: list[str] = []

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        return {m.entity_id for m in messages}

    def load_state(self, key: str, state: dict[str, Any]) -> None:
        self.loaded.append(key)
        self.states[key] = dict(state)

    def export_state(self, key: str) -> dict[str, Any] | None:
        state = self.states.get(key)
        return None if state is None else dict(state)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        signals = []
        for m in messages:
            assert isinstance(m, CameraObservation)
            state = self.states.setdefault(m.entity_id, {"seen": 0, "last": -1.0})
            if m.event_time <= state["last"]:
                continue
            state["seen"] += 1
            state["last"] = m.event_time
            state["motion"] = m.payload.motion_ratio
            brightness = m.payload.brightness
            signals.append(
                Signal(
                    rule=RULE,
                    kind="camera_covered",
                    entity_id=m.entity_id,
                    district=m.district,
                    commune=m.commune,
                    active=brightness < DARK,
                    event_time=m.event_time,
                    severity="warning",
                    evidence=Evidence(observed=brightness, baseline=120.0, threshold=DARK, event_time=m.event_time),
                    summary="camera image went dark",
                )
            )
        return signals

    def tick(self, event_time: float) -> list[Signal]:
        return []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_for(address: BrokerAddress, app_id: str, data_dir: Path) -> WorkerSettings:
    return WorkerSettings(
        data_dir=data_dir,
        brokers=address,
        app_id=app_id,
        web_port=free_port(),
        metrics_port=free_port(),
        session_timeout_seconds=6.0,
        heartbeat_interval_seconds=1.0,
        batch_within_seconds=0.05,
    )


def observation(camera: str, t: float, brightness: float) -> CameraObservation:
    return CameraObservation(
        event_id=f"{camera}-{t:.0f}",
        entity_id=camera,
        district="tua-chua",
        event_time=t,
        payload=CameraMetrics(
            frames=5,
            motion_ratio=5e-5,  # the standard library's json writes 5e-05, msgspec 5e-5
            brightness=brightness,
            sharpness=80.0,
            displacement_px=0.0,
            displacement_response=0.95,
            blobs=1.0,
        ),
    )


def publish(address: BrokerAddress, messages: Sequence[CameraObservation]) -> None:
    producer = KafkaProducer(bootstrap_servers=address.bootstrap)
    for m in messages:
        producer.send(CAMERA_OBSERVATIONS, key=encode_key(m), value=encode(m))
    producer.flush()
    producer.close()


def alerts_for(address: BrokerAddress, key: str, until: Callable[[list[Alert]], bool], timeout: float) -> list[Alert]:
    """Alerts of one fingerprint on ioc.alerts (read without a group), once ``until`` holds or time is up."""
    consumer = KafkaConsumer(bootstrap_servers=address.bootstrap, consumer_timeout_ms=500)
    partitions = [TopicPartition(ALERTS, p) for p in consumer.partitions_for_topic(ALERTS) or ()]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    found: list[Alert] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for record in consumer.poll(timeout_ms=300).values():
                for r in record:
                    if r.key == key.encode():
                        found.append(decode(ALERTS, r.value))
            if until(found):
                break
    finally:
        consumer.close()
    return found


def changelog_values(address: BrokerAddress, topic: str, key: bytes) -> list[bytes]:
    """The values written under ``key`` to a table's changelog, as bytes, once a poll brings nothing more."""
    consumer = KafkaConsumer(bootstrap_servers=address.bootstrap, consumer_timeout_ms=500)
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()])
    consumer.seek_to_beginning()
    values: list[bytes] = []
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            polled = [r for batch in consumer.poll(timeout_ms=500).values() for r in batch]
            values.extend(r.value for r in polled if r.key == key)
            if values and not polled:
                break
        return values
    finally:
        consumer.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_dark_camera_fires_then_resolves(broker_address: BrokerAddress, tmp_path: Path) -> None:
    camera = f"cam-{uuid.uuid4().hex[:8]}"
    key = fingerprint(RULE, camera)
    publish(broker_address, [observation(camera, 1000 + 10 * i, 110.0 if i < 3 else 5.0) for i in range(6)])
    settings = settings_for(broker_address, f"test-alerts-{uuid.uuid4().hex[:8]}", tmp_path)
    with BackgroundWorker(settings, [DarkCamera()]):
        fired = alerts_for(broker_address, key, lambda found: len(found) >= 1, timeout=20)
        publish(broker_address, [observation(camera, 1060 + 10 * i, 120.0) for i in range(2)])
        both = alerts_for(broker_address, key, lambda found: len(found) >= 2, timeout=10)
    assert [a.payload.status for a in fired] == ["firing"]
    assert [(a.payload.status, a.payload.starts_at, a.payload.ends_at) for a in both] == [
        ("firing", 1030.0, None),
        ("resolved", 1030.0, 1060.0),
    ]
    assert both[0].payload.evidence.observed == 5.0 and both[0].entity_id == camera


def test_restarted_worker_keeps_state_and_does_not_fire_twice(broker_address: BrokerAddress, tmp_path: Path) -> None:
    camera = f"cam-{uuid.uuid4().hex[:8]}"
    key = fingerprint(RULE, camera)
    settings = settings_for(broker_address, f"test-restart-{uuid.uuid4().hex[:8]}", tmp_path)
    publish(broker_address, [observation(camera, 2000 + 10 * i, 110.0 if i < 2 else 4.0) for i in range(4)])
    first = DarkCamera()
    with BackgroundWorker(settings, [first]) as running:
        fired = alerts_for(broker_address, key, lambda found: len(found) >= 1, timeout=20)
        assert running.worker is not None
        wait_for(lambda: first.states.get(camera, {}).get("seen") == 4, 5, "the first worker to see 4 observations")
        changelog = next(
            s.table.changelog_topic_name
            for s in running.worker.pipelines[CAMERA_OBSERVATIONS].states()
            if isinstance(s, TableState) and "dark-camera" in s.table.name
        )
    assert [a.payload.status for a in fired] == ["firing"]
    written = changelog_values(broker_address, changelog, json.dumps(camera).encode())
    assert written and all(v == msgspec.json.encode(json.loads(v)) for v in written), "not written by msgspec"

    second = DarkCamera()
    with BackgroundWorker(settings, [second]) as restarted:
        publish(broker_address, [observation(camera, 2040 + 10 * i, 3.0) for i in range(3)])
        wait_for(
            lambda: second.states.get(camera, {}).get("seen") == 7,
            30,
            f"the restarted worker to resume at 7 (state {second.states})",
        )
        publish(broker_address, [observation(camera, 2070, 115.0)])
        alerts = alerts_for(broker_address, key, lambda found: len(found) >= 2, timeout=10)
        assert restarted.worker is not None
    assert camera in second.loaded, "the restarted worker did not load the camera's state from its table"
    assert [(a.payload.status, a.payload.starts_at) for a in alerts] == [("firing", 2020.0), ("resolved", 2020.0)]


def test_two_workers_with_one_app_id_share_the_partitions(broker_address: BrokerAddress, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    cameras = [f"cam-{run}-{i}" for i in range(24)]
    app_id = f"test-share-{run}"
    first, second = DarkCamera(), DarkCamera()
    with (
        BackgroundWorker(settings_for(broker_address, app_id, tmp_path / "one"), [first]) as one,
        BackgroundWorker(settings_for(broker_address, app_id, tmp_path / "two"), [second]) as two,
    ):
        assert one.worker is not None and two.worker is not None
        apps = (one.worker.app, two.worker.app)

        def camera_partitions(app: Any) -> set[int]:
            return {tp.partition for tp in app.consumer.assignment() if tp.topic == CAMERA_OBSERVATIONS}

        def shared() -> bool:
            mine, theirs = (camera_partitions(app) for app in apps)
            return bool(mine) and bool(theirs) and not mine & theirs and mine | theirs == set(range(6))

        wait_for(shared, 90, "the two workers to split the camera partitions")
        publish(broker_address, [observation(c, 3000 + 10 * i, 100.0) for c in cameras for i in range(3)])

        def seen() -> set[str]:
            return {c for c in cameras if c in first.states or c in second.states}

        wait_for(lambda: seen() == set(cameras), 90, "every camera to be processed by one of the workers")
    assert {c for c in cameras if c in first.states} and {c for c in cameras if c in second.states}
    assert not {c for c in cameras if c in first.states} & {c for c in cameras if c in second.states}
