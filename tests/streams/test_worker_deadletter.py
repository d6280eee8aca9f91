"""A worker on the real embedded broker sets malformed messages aside, keeps going and exports its metrics."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from iocsim.broker import BrokerAddress
from iocsim.contract import (
    DEADLETTER,
    SERVICE_EVENTS,
    DeadLetter,
    ServiceDetails,
    ServiceEvent,
    decode,
    encode,
)
from iocsim.streams.runner import BackgroundWorker
from iocsim.streams.settings import WorkerSettings

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ticket(office: str, t: float, kind: str = "ticket_called", wait: float | None = 420.0) -> ServiceEvent:
    return ServiceEvent(
        event_id=f"{office}-T{t:.0f}-{kind}",
        entity_id=office,
        district="tua-chua",
        event_time=t,
        payload=ServiceDetails(
            kind=kind,  # type: ignore[arg-type]
            channel="counter",
            service_type="civil-status",
            item_id=f"{office}-T{t:.0f}",
            counters_open=3,
            queue_length=7,
            wait_seconds=wait,
        ),
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def dead_letters_keyed(address: BrokerAddress, key: bytes, count: int, timeout: float) -> list[DeadLetter]:
    consumer = KafkaConsumer(bootstrap_servers=address.bootstrap)
    consumer.assign([TopicPartition(DEADLETTER, 0)])
    consumer.seek_to_beginning()
    found: list[DeadLetter] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                found.extend(decode(DEADLETTER, r.value) for r in records if r.key == key)
    finally:
        consumer.close()
    return found


def test_malformed_messages_are_set_aside_and_the_worker_goes_on(broker_address: BrokerAddress, tmp_path: Path) -> None:
    office = f"hcc-{uuid.uuid4().hex[:8]}"
    good = ticket(office, 5000.0)
    wrong_type = encode(ticket(office, 4990.0)).replace(b'"queue_length":7', b'"queue_length":"seven"')
    producer = KafkaProducer(bootstrap_servers=broker_address.bootstrap)
    producer.send(SERVICE_EVENTS, key=office.encode(), value=b"{not json")
    producer.send(SERVICE_EVENTS, key=office.encode(), value=wrong_type)
    producer.send(SERVICE_EVENTS, key=office.encode(), value=encode(good))
    producer.flush()
    producer.close()

    settings = WorkerSettings(
        brokers=broker_address,
        app_id=f"test-deadletter-{uuid.uuid4().hex[:8]}",
        web_port=free_port(),
        metrics_port=free_port(),
        session_timeout_seconds=6.0,
        batch_within_seconds=0.05,
        data_dir=tmp_path,
    )
    with BackgroundWorker(settings, []) as running:
        assert running.worker is not None
        registry = running.worker.metrics.registry

        def sample(name: str, labels: dict[str, str]) -> float:
            return registry.get_sample_value(name, labels) or 0.0

        letters = dead_letters_keyed(broker_address, office.encode(), 2, timeout=20)
        queue = {"office": office}
        wait_for(lambda: sample("iocsim_queue_length", queue) == 7, 5, "the valid ticket to be counted")

        def scrape() -> str:
            url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
            return str(urllib.request.urlopen(url, timeout=5).read().decode())

        wait_for(lambda: "iocsim_consumer_lag_messages{" in scrape(), 5, "the lag to be measured")
        text = scrape()

    malformed, invalid = sorted(letters, key=lambda d: d.payload.offset)
    assert malformed.payload.source_topic == SERVICE_EVENTS and malformed.entity_id == office
    assert malformed.payload.field is None and "JSON" in malformed.payload.reason
    assert base64.b64decode(malformed.payload.raw_base64) == b"{not json"
    assert invalid.payload.field == "payload.queue_length" and "Expected `int`" in invalid.payload.reason
    assert base64.b64decode(invalid.payload.raw_base64) == wrong_type
    assert invalid.event_id == f"{SERVICE_EVENTS}-{invalid.payload.partition}-{invalid.payload.offset}"
    assert invalid.payload.offset == malformed.payload.offset + 1

    for reason in ("malformed_message", "invalid_field"):
        assert sample("iocsim_dead_letters_total", {"topic": SERVICE_EVENTS, "reason_class": reason}) >= 1
    assert sample("iocsim_events_processed_total", {"feed": "services"}) >= 1
    assert sample("iocsim_queue_wait_seconds_count", queue) == 1
    assert sample("iocsim_queue_wait_seconds_bucket", {**queue, "le": "600.0"}) == 1

    for series in (
        "# TYPE iocsim_events_processed_total counter",
        'iocsim_events_processed_total{feed="services"}',
        'iocsim_dead_letters_total{reason_class="invalid_field",topic="ioc.services.events"}',
        f'iocsim_queue_length{{office="{office}"}} 7.0',
        f'iocsim_queue_wait_seconds_bucket{{le="600.0",office="{office}"}} 1.0',
        "# TYPE iocsim_consumer_lag_messages gauge",
        'iocsim_consumer_lag_messages{partition="',
    ):
        assert series in text, f"{series!r} missing from /metrics"
    promtool = shutil.which("promtool")
    if promtool:
        checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, check=False)
        assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
