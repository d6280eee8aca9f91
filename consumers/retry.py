"""When to try a delivery again, and how long to wait first.

Exponential backoff with full jitter (a uniform wait between zero and the
exponential ceiling) spreads the retries of many transitions that failed
together, so a receiver coming back up is not hit by one synchronised wave.
A ``Retry-After`` from the receiver overrides the computed wait. No attempt
starts once ``max_age`` has passed since the transition was first tried, and
a ``Retry-After`` reaching beyond it gives up at once rather than ignore it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import random
from dataclasses import dataclass


class Verdict(enum.Enum):
    SUCCESS = "success"
    RETRY = "retry"
    PERMANENT = "permanent"


def classify(status: int | None) -> Verdict:
    """2xx succeeds; 408 and 429 and 5xx (and no answer at all: ``None``) are retried; other codes are final.

    3xx counts as a final failure, as the Standard Webhooks spec asks: the URL
    should be fixed rather than redirects followed.
    """
    if status is None:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.SUCCESS
    if status in (408, 429) or status >= 500:
        return Verdict.RETRY
    return Verdict.PERMANENT


def status_class(status: int | None, timed_out: bool = False) -> str:
    """Bounded metric label of an attempt: ``2xx``..``5xx``, ``timeout`` or ``error``."""
    if status is None:
        return "timeout" if timed_out else "error"
    return f"{min(max(status // 100, 1), 5)}xx"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, moment.timestamp() - now)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one transition on one endpoint."""

    max_attempts: int = 10
    max_age: float = 1800.0
    backoff_initial: float = 1.0
    backoff_max: float = 120.0

    def backoff(self, failed_attempts: int, rng: random.Random) -> float:
        """Full-jitter wait after ``failed_attempts`` failures (1 for the first retry)."""
        ceiling = min(self.backoff_max, self.backoff_initial * 2.0 ** max(failed_attempts - 1, 0))
        return rng.uniform(0.0, ceiling)

    def next_wait(
        self, failed_attempts: int, elapsed: float, retry_after: float | None, rng: random.Random
    ) -> float | None:
        """Seconds until the next attempt, or None to give up (attempts or age exhausted)."""
        if failed_attempts >= self.max_attempts:
            return None
        wait = retry_after if retry_after is not None else self.backoff(failed_attempts, rng)
        if elapsed + wait > self.max_age:
            return None
        return wait
