"""The webhook target against the reference receiver on loopback: signed, verified, counted, timed."""

from __future__ import annotations

import asyncio
import time

from iocsim.consumers.receiver import Receiver, ReceiverSettings
from iocsim.consumers.signing import generate_secret, parse_secret
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.webhook_target import WebhookTarget, alert_transitions
from iocsim.sim.profiles import load_profile

SECRET = generate_secret()
RATE = 200.0
COUNT = 300


def run_against_receiver(
    target_secret: str, *, delay: float = 0.0, count: int = COUNT
) -> tuple[WebhookTarget, Receiver, float]:
    bodies = alert_transitions(load_profile(), count, seed=3)

    async def main() -> tuple[WebhookTarget, Receiver, float]:
        receiver = Receiver(ReceiverSettings(key=parse_secret(SECRET), port=0, delay=delay))
        await receiver.start()
        try:
            async with WebhookTarget(receiver.url, target_secret, LatencyHistogram(), timeout_s=5) as target:
                start = time.perf_counter() + 0.05
                sends = [target.send_at(body, start + i / RATE, msg_id) for i, (msg_id, body) in enumerate(bodies)]
                await asyncio.gather(*sends)
                elapsed = time.perf_counter() - start
            return target, receiver, elapsed
        finally:
            await receiver.stop()

    return asyncio.run(main())


def test_every_request_verifies_at_the_scheduled_rate() -> None:
    target, receiver, elapsed = run_against_receiver(SECRET)
    assert target.codes() == {"200": COUNT}
    assert receiver.stats.accepted == COUNT
    assert receiver.stats.rejected == {} and receiver.stats.duplicates == 0
    assert target.histogram.count == COUNT
    summary = target.histogram.summary()
    assert COUNT / RATE * 0.95 < elapsed < COUNT / RATE + 5.0, (elapsed, summary)
    assert 0 < summary["p50_ms"] < 500, summary  # loopback: ≈ 2 ms when the machine is idle


def test_a_wrong_secret_gives_401s_counted_in_codes() -> None:
    target, receiver, _ = run_against_receiver(generate_secret(), count=40)
    assert target.codes() == {"401": 40}
    assert receiver.stats.accepted == 0
    assert receiver.stats.rejected == {"bad_signature": 40}
    assert target.histogram.count == 40


def test_a_slow_receiver_shows_in_latency_from_intended_time() -> None:
    target, _, _ = run_against_receiver(SECRET, delay=0.3, count=40)
    assert target.codes() == {"200": 40}
    assert target.histogram.percentile_ms(50) >= 300


def test_an_unreachable_url_counts_connection_errors() -> None:
    async def main() -> WebhookTarget:
        async with WebhookTarget("http://127.0.0.1:9/", SECRET, LatencyHistogram(), timeout_s=2) as target:
            await asyncio.gather(*(target.send(b"{}", time.perf_counter()) for _ in range(3)))
        return target

    target = asyncio.run(main())
    assert target.codes() == {"connection_error": 3}
    assert target.histogram.count == 3


def test_transitions_are_deterministic_and_pair_firing_with_resolved() -> None:
    profile = load_profile()
    first = alert_transitions(profile, 6, seed=9)
    assert first == alert_transitions(profile, 6, seed=9)
    assert first != alert_transitions(profile, 6, seed=10)
    assert [b'"alert.firing"' in body for _, body in first] == [True, False] * 3
    assert len({msg_id for msg_id, _ in first}) == 6
