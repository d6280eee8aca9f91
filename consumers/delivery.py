"""Delivering one alert transition to one sink: attempts, waits between them, and the final outcome.

A sink (a webhook endpoint, the Grafana annotator) only knows how to make one
attempt; the retry policy, the clock and the random source are passed in, so
the same loop is tested with a seeded generator and no real waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from iocsim.consumers.retry import RetryPolicy, Verdict, classify, parse_retry_after
from iocsim.contract import Alert

log = logging.getLogger(__name__)

OutcomeKind: TypeAlias = Literal["success", "failed", "dead_lettered"]
OUTCOMES: tuple[OutcomeKind, ...] = ("success", "failed", "dead_lettered")


@dataclass(frozen=True)
class Transition:
    """An alert transition read from Kafka, with where it was read and when it was published."""

    alert: Alert
    raw: bytes
    topic: str
    partition: int
    offset: int
    published_at: float
    """Wall-clock seconds of the Kafka record (producer time): where delivery latency starts."""


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt got: an HTTP status (None if no answer) and, unless it succeeded, why not."""

    status: int | None
    error: str = ""
    retry_after: str | None = None
    timed_out: bool = False
    signed_at: int | None = None


@dataclass(frozen=True)
class Outcome:
    """How delivery of one transition to one sink ended.

    ``failed``: the receiver refused it for good (a 4xx other than 408/429);
    ``dead_lettered``: attempts or ``max_age`` ran out. Both are written to the
    dead-letter topic; neither is retried again.
    """

    kind: OutcomeKind
    attempts: int
    last_error: str
    elapsed: float


class Sink(Protocol):
    """Something alert transitions are delivered to, one attempt at a time."""

    @property
    def name(self) -> str: ...

    @property
    def retry(self) -> RetryPolicy: ...

    @property
    def concurrency(self) -> int: ...

    @property
    def queue_size(self) -> int: ...

    def matches(self, alert: Alert) -> bool: ...

    async def attempt(self, transition: Transition, previous: AttemptResult | None) -> AttemptResult: ...


Sleep: TypeAlias = Callable[[float], Awaitable[object]]


async def deliver(
    sink: Sink,
    transition: Transition,
    rng: random.Random,
    on_attempt: Callable[[AttemptResult], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    sleep: Sleep = asyncio.sleep,
) -> Outcome:
    """Attempt until success, a final refusal, or the policy gives up. Cancellation propagates."""
    policy = sink.retry
    started = clock()
    previous: AttemptResult | None = None
    attempts = 0
    while True:
        try:
            result = await sink.attempt(transition, previous)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a sink must not stall the lane: count it as a failed attempt
            log.exception("sink %s raised on %s", sink.name, transition.alert.event_id)
            result = AttemptResult(None, f"{type(exc).__name__}: {exc}")
        attempts += 1
        on_attempt(result)
        verdict = classify(result.status)
        elapsed = clock() - started
        if verdict is Verdict.SUCCESS:
            return Outcome("success", attempts, "", elapsed)
        if verdict is Verdict.PERMANENT:
            return Outcome("failed", attempts, result.error, elapsed)
        retry_after = parse_retry_after(result.retry_after, wall())
        wait = policy.next_wait(attempts, elapsed, retry_after, rng)
        if wait is None:
            return Outcome("dead_lettered", attempts, result.error, elapsed)
        previous = result
        await sleep(wait)
