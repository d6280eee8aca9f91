"""A broker per test module: workers read whole feed topics from the start, other modules must not add to them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iocsim.broker import BrokerAddress, EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS


@pytest.fixture(scope="module")
def broker_address() -> Iterator[BrokerAddress]:
    with EmbeddedBroker() as running:
        ensure_topics(running.address, DEFAULT_PARTITIONS)
        yield running.address
