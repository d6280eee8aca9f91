"""Shared pieces of the consumers tests: alert transitions, a fresh topic, loopback HTTP servers."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from kafka import KafkaProducer

from iocsim.broker import BrokerAddress, ensure_topics
from iocsim.contract import Alert, AlertDetails, Evidence, encode, encode_key

AlertFactory = Callable[..., Alert]


def make_alert(
    n: int,
    status: str = "firing",
    *,
    prefix: str = "t",
    kind: str = "crowd",
    severity: str = "critical",
    district: str = "muong-ang",
    starts_at: float = 1_746_996_000.0,
) -> Alert:
    """The ``n``-th test alert; firing and resolved of the same ``n`` share fingerprint and start."""
    fingerprint = f"{prefix}{n:06d}"[:16].ljust(16, "0")
    start = starts_at + n
    return Alert(
        event_id=f"{fingerprint}-{start:.3f}-{status}",
        entity_id=f"CAM-{n:03d}",
        district=district,
        commune=None,
        event_time=start + (60.0 if status == "resolved" else 0.0),
        payload=AlertDetails(
            fingerprint=fingerprint,
            rule=f"{kind}_rule",
            kind=kind,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            severity=severity,  # type: ignore[arg-type]
            starts_at=start,
            ends_at=start + 60.0 if status == "resolved" else None,
            summary=f"{kind} at CAM-{n:03d}",
            evidence=Evidence(observed=31.0, baseline=6.5, threshold=20.0, event_time=start, snapshot_ref=None),
        ),
    )


@pytest.fixture
def alert_factory() -> AlertFactory:
    return make_alert


@pytest.fixture
def alerts_topic(broker_address: BrokerAddress) -> str:
    """A fresh alerts topic (3 partitions like ioc.alerts) so no other test's alerts show up."""
    name = f"test.alerts.{uuid.uuid4().hex[:10]}"
    ensure_topics(broker_address, {name: 3})
    return name


def publish(address: BrokerAddress, topic: str, alerts: list[Alert]) -> None:
    producer = KafkaProducer(bootstrap_servers=address.bootstrap, acks="all", linger_ms=5, client_id="test-alerts")
    futures = [producer.send(topic, key=encode_key(alert), value=encode(alert)) for alert in alerts]
    producer.flush(10.0)
    for future in futures:
        future.get(10.0)
    producer.close(10.0)


@pytest.fixture
def publish_alerts(broker_address: BrokerAddress) -> Callable[[str, list[Alert]], None]:
    return lambda topic, alerts: publish(broker_address, topic, alerts)
