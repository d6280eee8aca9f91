"""One signed POST of an alert transition to a webhook endpoint.

Each attempt is signed afresh with the current second, as the spec intends
(the timestamp guards against replays of old requests), but never with the
same second as the previous attempt: a receiver that accepted a request whose
answer we lost must see a retry as a redelivery, not a replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp

from iocsim import __version__
from iocsim.consumers.delivery import AttemptResult, Transition
from iocsim.consumers.endpoints import Endpoint
from iocsim.consumers.payloads import CONTENT_TYPE, render
from iocsim.consumers.retry import RetryPolicy
from iocsim.consumers.signing import signed_headers, webhook_id
from iocsim.contract import Alert

USER_AGENT = f"iocsim/{__version__}"
_ERROR_BODY_BYTES = 200


class WebhookSink:
    """Delivers to one configured endpoint through a shared aiohttp session."""

    def __init__(
        self, endpoint: Endpoint, session: aiohttp.ClientSession, wall: Callable[[], float] = time.time
    ) -> None:
        self.endpoint = endpoint
        self._session = session
        self._wall = wall
        self._timeout = aiohttp.ClientTimeout(total=endpoint.timeout)

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def retry(self) -> RetryPolicy:
        return self.endpoint.retry

    @property
    def concurrency(self) -> int:
        return self.endpoint.concurrency

    @property
    def queue_size(self) -> int:
        return self.endpoint.queue_size

    def matches(self, alert: Alert) -> bool:
        return self.endpoint.filter.matches(alert)

    def body(self, alert: Alert) -> bytes:
        return render(alert, self.endpoint.format, self.endpoint.name, self.endpoint.external_url)

    async def attempt(self, transition: Transition, previous: AttemptResult | None) -> AttemptResult:
        body = self.body(transition.alert)
        signed_at = int(self._wall())
        if previous is not None and previous.signed_at is not None and signed_at <= previous.signed_at:
            signed_at = previous.signed_at + 1
        headers = signed_headers(self.endpoint.key, webhook_id(transition.alert.event_id), signed_at, body)
        headers["Content-Type"] = CONTENT_TYPE
        headers["User-Agent"] = USER_AGENT
        try:
            async with self._session.post(
                self.endpoint.url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    await response.read()
                    return AttemptResult(response.status, signed_at=signed_at)
                text = (await response.content.read(_ERROR_BODY_BYTES)).decode("utf-8", "replace").strip()
                reason = f"HTTP {response.status} {response.reason or ''}".rstrip()
                return AttemptResult(
                    response.status,
                    f"{reason}: {' '.join(text.split())}" if text else reason,
                    retry_after=response.headers.get("Retry-After"),
                    signed_at=signed_at,
                )
        except TimeoutError:
            return AttemptResult(
                None, f"no answer within {self.endpoint.timeout:g} s", timed_out=True, signed_at=signed_at
            )
        except (aiohttp.ClientError, OSError) as exc:
            return AttemptResult(None, f"{type(exc).__name__}: {exc}", signed_at=signed_at)
