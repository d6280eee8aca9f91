"""Shared fixtures: one real embedded Kafka broker (Tansu) for the whole test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from iocsim.broker import BrokerAddress, EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def require_shared_data(relative: str) -> Path:
    """Path of reference data beside the repository; skip (or fail under CI) when absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"reference data missing under CI: {path}")
        pytest.skip(f"reference data not present: {path}")
    return path


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        ensure_topics(running.address, DEFAULT_PARTITIONS)
        yield running


@pytest.fixture(scope="session")
def broker_address(broker: EmbeddedBroker) -> BrokerAddress:
    return broker.address


@pytest.fixture
def fresh_broker() -> Iterator[EmbeddedBroker]:
    """A broker of the test's own, for tests that read whole topics back and need them empty."""
    with EmbeddedBroker() as running:
        ensure_topics(running.address, DEFAULT_PARTITIONS)
        yield running
