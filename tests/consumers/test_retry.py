"""Retry policy and the delivery loop: full-jitter backoff, Retry-After, which failures are final."""

from __future__ import annotations

import asyncio
import email.utils
import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim.consumers.delivery import AttemptResult, Outcome, Transition, deliver
from iocsim.consumers.retry import RetryPolicy, Verdict, classify, parse_retry_after, status_class
from iocsim.contract import Alert, encode

AlertFactory = Callable[..., Alert]


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.SUCCESS),
        (204, Verdict.SUCCESS),
        (301, Verdict.PERMANENT),
        (400, Verdict.PERMANENT),
        (401, Verdict.PERMANENT),
        (404, Verdict.PERMANENT),
        (410, Verdict.PERMANENT),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (None, Verdict.RETRY),
    ],
)
def test_classify(status: int | None, verdict: Verdict) -> None:
    assert classify(status) is verdict


def test_status_class_labels_are_bounded() -> None:
    assert [status_class(s) for s in (200, 302, 429, 503, 99, 700)] == ["2xx", "3xx", "4xx", "5xx", "1xx", "5xx"]
    assert status_class(None, timed_out=True) == "timeout" and status_class(None) == "error"


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@given(seed=st.integers(0, 2**32), failures=st.integers(1, 40))
def test_full_jitter_stays_under_the_exponential_ceiling(seed: int, failures: int) -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=60.0)
    wait = policy.backoff(failures, random.Random(seed))
    assert 0.0 <= wait <= min(60.0, 0.5 * 2 ** (failures - 1))


def test_jitter_is_reproducible_with_a_seed_and_spread_out() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_max=8.0)
    waits = [policy.backoff(4, random.Random(s)) for s in range(200)]
    assert waits == [policy.backoff(4, random.Random(s)) for s in range(200)]
    assert min(waits) < 1.0 and max(waits) > 7.0


def test_next_wait_gives_up_on_attempts_on_age_and_on_a_retry_after_beyond_age() -> None:
    policy = RetryPolicy(max_attempts=3, max_age=100.0, backoff_initial=1.0, backoff_max=1.0)
    rng = random.Random(1)
    assert policy.next_wait(2, 0.0, None, rng) is not None
    assert policy.next_wait(3, 0.0, None, rng) is None
    assert policy.next_wait(1, 100.0, None, rng) is None
    assert policy.next_wait(1, 10.0, 30.0, rng) == 30.0
    assert policy.next_wait(1, 10.0, 95.0, rng) is None


class Scripted:
    """A sink answering attempts from a script of statuses (a stand-in receiver, not a mock of our code)."""

    name = "scripted"
    concurrency = 1
    queue_size = 10

    def __init__(self, statuses: list[int | None], retry: RetryPolicy, retry_after: str | None = None) -> None:
        self.statuses = statuses
        self.retry = retry
        self.retry_after = retry_after
        self.previous: list[AttemptResult | None] = []

    def matches(self, alert: Alert) -> bool:
        return True

    async def attempt(self, transition: Transition, previous: AttemptResult | None) -> AttemptResult:
        self.previous.append(previous)
        status = self.statuses.pop(0)
        if status is not None and 200 <= status < 300:
            return AttemptResult(status, signed_at=len(self.previous))
        return AttemptResult(status, f"HTTP {status}", retry_after=self.retry_after, signed_at=len(self.previous))


def run_delivery(sink: Scripted, transition: Transition) -> tuple[Outcome, list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    clock = iter(range(0, 10_000, 1))
    outcome = asyncio.run(
        deliver(sink, transition, random.Random(7), clock=lambda: float(next(clock)), wall=lambda: 0.0, sleep=sleep)
    )
    return outcome, waits


@pytest.fixture
def transition(alert_factory: AlertFactory) -> Transition:
    alert = alert_factory(1)
    return Transition(alert, encode(alert), "ioc.alerts", 0, 42, 0.0)


def test_deliver_retries_5xx_then_succeeds(transition: Transition) -> None:
    sink = Scripted([500, 503, 200], RetryPolicy(max_attempts=5, backoff_initial=1.0, backoff_max=4.0))
    outcome, waits = run_delivery(sink, transition)
    assert (outcome.kind, outcome.attempts) == ("success", 3)
    assert len(waits) == 2 and waits[0] <= 1.0 and waits[1] <= 2.0
    assert sink.previous[0] is None and sink.previous[2] is not None and sink.previous[2].signed_at == 2


def test_deliver_stops_at_a_permanent_refusal(transition: Transition) -> None:
    outcome, waits = run_delivery(Scripted([500, 404], RetryPolicy()), transition)
    assert (outcome.kind, outcome.attempts, outcome.last_error, len(waits)) == ("failed", 2, "HTTP 404", 1)


def test_deliver_dead_letters_after_max_attempts(transition: Transition) -> None:
    outcome, waits = run_delivery(Scripted([None, 500, 429], RetryPolicy(max_attempts=3)), transition)
    assert (outcome.kind, outcome.attempts, outcome.last_error, len(waits)) == ("dead_lettered", 3, "HTTP 429", 2)


def test_deliver_honours_retry_after(transition: Transition) -> None:
    sink = Scripted([503, 503, 200], RetryPolicy(max_age=1000.0), retry_after="17")
    outcome, waits = run_delivery(sink, transition)
    assert outcome.kind == "success" and waits == [17.0, 17.0]


def test_a_sink_that_raises_is_retried_not_fatal(transition: Transition) -> None:
    class Broken(Scripted):
        async def attempt(self, transition: Transition, previous: AttemptResult | None) -> AttemptResult:
            raise RuntimeError("bug")

    outcome, _ = run_delivery(Broken([], RetryPolicy(max_attempts=2)), transition)
    assert outcome.kind == "dead_lettered" and "RuntimeError: bug" in outcome.last_error
