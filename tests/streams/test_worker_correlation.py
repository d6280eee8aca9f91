"""A worker on the real embedded broker correlates an incident burst and a camera crowd of one district."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from iocsim.broker import BrokerAddress
from iocsim.contract import ALERTS, Alert, AlertDetails, Evidence, decode, encode
from iocsim.streams.detectors.correlation import RULE, CorrelationDetector
from iocsim.streams.lifecycle import fingerprint
from iocsim.streams.runner import BackgroundWorker
from iocsim.streams.settings import WorkerSettings

pytestmark = [pytest.mark.broker, pytest.mark.slow]

T0 = 1750000000.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def source_alert(kind: str, rule: str, entity: str, district: str, t: float) -> Alert:
    key = fingerprint(rule, entity)
    return Alert(
        event_id=f"{key}-{t:.3f}-firing",
        entity_id=entity,
        district=district,
        commune=entity if kind == "incident_burst" else None,
        event_time=t,
        payload=AlertDetails(
            fingerprint=key,
            rule=rule,
            kind=kind,  # type: ignore[arg-type]
            status="firing",
            severity="warning",
            starts_at=t,
            evidence=Evidence(observed=9.0, baseline=1.0, threshold=4.0, event_time=t),
        ),
    )


def correlated(address: BrokerAddress, district: str, seconds: float) -> list[Alert]:
    """The ``correlated_incident`` alerts of ``district`` on ioc.alerts, read for ``seconds`` (no group)."""
    consumer = KafkaConsumer(bootstrap_servers=address.bootstrap, consumer_timeout_ms=500)
    consumer.assign([TopicPartition(ALERTS, p) for p in consumer.partitions_for_topic(ALERTS) or ()])
    consumer.seek_to_beginning()
    found: list[Alert] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                for record in records:
                    alert = decode(ALERTS, record.value)
                    if isinstance(alert, Alert) and (alert.payload.kind, alert.entity_id) == (
                        "correlated_incident",
                        district,
                    ):
                        found.append(alert)
    finally:
        consumer.close()
    return found


def test_a_burst_and_a_crowd_in_one_district_raise_one_correlated_incident(
    broker_address: BrokerAddress, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    district = f"district-{run}"
    burst = source_alert("incident_burst", "incidents.burst", f"{district}/commune-a", district, T0)
    crowd = source_alert("crowd", "cameras.crowd", f"CAM-{run}", district, T0 + 300)
    elsewhere = source_alert("crowd", "cameras.crowd", f"CAM-{run}-b", f"other-{run}", T0 + 310)
    settings = WorkerSettings(
        brokers=broker_address,
        app_id=f"test-correlation-{run}",
        web_port=free_port(),
        metrics_port=free_port(),
        session_timeout_seconds=6.0,
        batch_within_seconds=0.05,
        data_dir=tmp_path / "faust",
    )
    with BackgroundWorker(settings, [CorrelationDetector()]) as running:
        producer = KafkaProducer(bootstrap_servers=broker_address.bootstrap)
        for alert in (burst, elsewhere, crowd):
            producer.send(ALERTS, key=alert.payload.fingerprint.encode(), value=encode(alert))
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 60
        while not correlated(broker_address, district, 1) and time.monotonic() < deadline:
            pass
        assert running.worker is not None
    found = correlated(broker_address, district, 3)
    assert [(a.payload.rule, a.payload.status, a.payload.severity) for a in found] == [(RULE, "firing", "critical")]
    assert f"CAM-{run}" in (found[0].payload.summary or "") and found[0].payload.evidence.observed == 0.0
    assert correlated(broker_address, f"other-{run}", 1) == []
