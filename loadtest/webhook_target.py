"""A webhook receiver as the load target: signed alert transitions POSTed at scheduled times.

Each request is signed exactly as ``iocsim dispatch`` signs (Standard Webhooks), so the receiver under test
does its real verification work. Latency runs from the request's *intended* time, not from when the POST
left: if the receiver (or the connection pool) holds requests up, the queueing shows in the numbers
instead of silently slowing the schedule. Nothing is retried; a failure is an outcome to count.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType

import aiohttp

from iocsim.consumers.payloads import CONTENT_TYPE, native_body
from iocsim.consumers.signing import parse_secret, signed_headers, webhook_id
from iocsim.contract import Alert, AlertDetails, Evidence
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.sim.profiles import Profile

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_IN_FLIGHT = 256
CAMERA_KINDS = ("camera_offline", "camera_covered", "camera_defocused", "camera_turned", "crowd", "night_intrusion")
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"


class WebhookTarget:
    """POSTs signed bodies to ``url``; counts response codes and records latency from intended send time.

    ``intended_at`` and ``clock`` share one time base (``time.perf_counter`` unless told otherwise).
    Codes are HTTP statuses as strings, plus ``timeout`` and ``connection_error`` for requests that got no
    answer; those are recorded in the histogram too, with the time they took to fail.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        histogram: LatencyHistogram,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.url = url
        self.histogram = histogram
        self.timeout_s = timeout_s
        self.max_in_flight = max_in_flight
        self._key = parse_secret(secret, "--webhook-secret")
        self._clock = clock
        self._codes: Counter[str] = Counter()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WebhookTarget:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.max_in_flight)
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, body: bytes, intended_at: float, msg_id: str | None = None) -> str:
        """Sign and POST one body; return its outcome code. ``msg_id`` defaults to a digest of the body."""
        await self.open()
        assert self._session is not None
        ident = msg_id or "msg_" + hashlib.blake2b(body, digest_size=16).hexdigest()
        headers = signed_headers(self._key, ident, int(time.time()), body)
        headers["Content-Type"] = CONTENT_TYPE
        try:
            async with self._session.post(self.url, data=body, headers=headers) as response:
                await response.read()
                code = str(response.status)
        except TimeoutError:
            code = TIMEOUT
        except aiohttp.ClientError:
            code = CONNECTION_ERROR
        self.histogram.record(self._clock() - intended_at)
        self._codes[code] += 1
        return code

    async def send_at(self, body: bytes, intended_at: float, msg_id: str | None = None) -> str:
        """Wait until ``intended_at``, then send; a caller behind schedule sends at once (and the latency says so)."""
        delay = intended_at - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
        return await self.send(body, intended_at, msg_id)

    def codes(self) -> dict[str, int]:
        return dict(sorted(self._codes.items()))

    @property
    def sent(self) -> int:
        return sum(self._codes.values())


def alert_transitions(
    profile: Profile, count: int, seed: int = 1, start: float = 1_700_000_000.0
) -> list[tuple[str, bytes]]:
    """``count`` camera alert transitions (firing, then resolved, per alert) as (webhook id, native body).

    Entities are the profile's real cameras, so a receiver that routes by district or entity sees its real
    fan-out; the same seed gives the same bodies.
    """
    rng = random.Random(seed)
    cameras = profile.cameras
    bodies: list[tuple[str, bytes]] = []
    n = 0
    while len(bodies) < count:
        camera = cameras[rng.randrange(len(cameras))]
        kind = CAMERA_KINDS[rng.randrange(len(CAMERA_KINDS))]
        began = start + n * 7.0
        fingerprint = hashlib.blake2b(f"{kind}/{camera.id}/{n}".encode(), digest_size=8).hexdigest()
        for status in ("firing", "resolved"):
            alert = Alert(
                event_id=f"{fingerprint}-{began:.3f}-{status}",
                entity_id=camera.id,
                district=camera.district,
                commune=camera.commune,
                event_time=began + (300.0 if status == "resolved" else 0.0),
                payload=AlertDetails(
                    fingerprint=fingerprint,
                    rule=f"{kind}_rule",
                    kind=kind,  # type: ignore[arg-type]
                    status=status,
                    severity="warning",
                    starts_at=began,
                    ends_at=began + 300.0 if status == "resolved" else None,
                    summary=f"{kind.replace('_', ' ')} at {camera.id}",
                    evidence=Evidence(observed=1.0, baseline=0.0, threshold=0.5, event_time=began),
                ),
            )
            bodies.append((webhook_id(alert.event_id), native_body(alert)))
        n += 1
    return bodies[:count]
