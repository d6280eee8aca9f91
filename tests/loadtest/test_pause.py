"""A broker stalled (SIGSTOP) for 2 s: the stall shows in full in the latency, and nothing is lost."""

from __future__ import annotations

import threading
import time

import pytest

from iocsim.broker import EmbeddedBroker
from iocsim.loadtest.pool import Pool
from iocsim.loadtest.profile import constant_profile
from iocsim.loadtest.runner import START_DELAY_S, KafkaRunSettings, run_kafka
from iocsim.loadtest.verify import read_back, start_offsets

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PAUSE_S = 2.0


def test_a_stalled_broker_cannot_hide(fresh_broker: EmbeddedBroker, small_pool: Pool) -> None:
    bootstrap = fresh_broker.address.bootstrap
    offsets = start_offsets(bootstrap, sorted(set(small_pool.topics)), {})

    def stall() -> None:
        time.sleep(START_DELAY_S + 1.5)
        fresh_broker.pause()
        time.sleep(PAUSE_S)
        fresh_broker.resume()

    staller = threading.Thread(target=stall)
    staller.start()
    try:
        outcome = run_kafka(
            KafkaRunSettings(profile=constant_profile(2000, "6s"), bootstrap=bootstrap, mark_sequence=True), small_pool
        )
    finally:
        staller.join()
        fresh_broker.resume()
    summary = outcome.produce.summary()
    assert summary["max_ms"] >= PAUSE_S * 1000
    assert summary["p999_ms"] >= PAUSE_S * 1000 * 0.95
    assert outcome.sent == outcome.acked == outcome.offered == 12_000
    verification = read_back(bootstrap, offsets, outcome.sent_by_worker, outcome.acked, outcome.started_at)
    assert (verification.lost, verification.duplicates, verification.read_back) == (0, 0, 12_000)
