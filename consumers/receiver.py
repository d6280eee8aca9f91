"""A reference webhook receiver: verifies Standard Webhooks signatures, deduplicates, logs, records.

It shows integrators what a correct receiver does and serves as the far end
in trials and tests. Verification rejects (401) a missing or forged signature
and a timestamp outside the tolerance; the exact request replayed again
(same id, timestamp and signature as one already accepted) gets 409. A
*redelivery* (same id, newly signed) is answered 200 but not processed
twice: the sender did not see our answer, and a non-2xx would only make it
retry or dead-letter an alert we already have. Failures can be injected
(``fail_first``, ``fail_always``, ``delay``) to exercise the sender.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from iocsim.consumers.errors import SignatureError
from iocsim.consumers.signing import DEFAULT_TOLERANCE, verify

log = logging.getLogger("iocsim.webhook-receiver")


@dataclass(frozen=True)
class ReceiverSettings:
    key: bytes = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 9000
    tolerance: float = DEFAULT_TOLERANCE
    fail_first: int = 0
    fail_always: bool = False
    fail_status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    record: Path | None = None
    remember: int = 100_000


@dataclass
class ReceiverStats:
    accepted: int = 0
    duplicates: int = 0
    failed_on_purpose: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


def alert_lines(document: Any) -> list[str]:
    """One human line per alert in a native or Alertmanager body."""
    if isinstance(document, dict) and isinstance(document.get("alerts"), list):
        lines = []
        for item in document["alerts"]:
            labels = item.get("labels", {}) if isinstance(item, dict) else {}
            notes = item.get("annotations", {}) if isinstance(item, dict) else {}
            lines.append(
                f"{item.get('status', '?')} {labels.get('severity', '?')} {labels.get('alertname', '?')} "
                f"{labels.get('entity', '?')} ({labels.get('district', '?')}): {notes.get('summary', '')}"
            )
        return lines
    data = document.get("data") if isinstance(document, dict) else None
    if isinstance(data, dict) and isinstance(data.get("payload"), dict):
        p = data["payload"]
        return [
            f"{p.get('status', '?')} {p.get('severity', '?')} {p.get('kind', '?')} "
            f"{data.get('entity_id', '?')} ({data.get('district', '?')}): {p.get('summary', '')}"
        ]
    return ["(unrecognised body)"]


class Receiver:
    """The aiohttp application and its memory of accepted ids (bounded to ``remember``)."""

    def __init__(self, settings: ReceiverSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.stats = ReceiverStats()
        self._clock = clock
        self._accepted: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._attempts: OrderedDict[str, int] = OrderedDict()
        self._record: IO[str] | None = None
        self._runner: web.AppRunner | None = None
        self.port = settings.port
        self.app = web.Application()
        self.app.router.add_post("/{tail:.*}", self.handle)
        self.app.router.add_get("/stats", self.show_stats)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}/"

    async def start(self) -> None:
        if self.settings.record is not None:
            self._record = open(self.settings.record, "a", encoding="utf-8")  # noqa: SIM115
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._record is not None:
            self._record.close()
            self._record = None

    def _reject(self, status: int, reason: str, detail: str) -> web.Response:
        self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1
        log.warning("rejected (%d %s): %s", status, reason, detail)
        return web.json_response({"error": reason, "detail": detail}, status=status)

    def _bump(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.settings.remember:
            table.popitem(last=False)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verified = verify(request.headers, body, self.settings.key, self.settings.tolerance, now=self._clock())
        except SignatureError as exc:
            return self._reject(401, exc.reason, exc.detail)
        before = self._accepted.get(verified.msg_id)
        if before == (verified.timestamp, verified.signature):
            return self._reject(409, "replayed", f"{verified.msg_id} at {verified.timestamp} was already accepted")
        if self.settings.delay > 0:
            await asyncio.sleep(self.settings.delay)
        attempt = self._attempts.get(verified.msg_id, 0) + 1
        self._bump(self._attempts, verified.msg_id, attempt)
        if self.settings.fail_always or attempt <= self.settings.fail_first:
            self.stats.failed_on_purpose += 1
            headers = {"Retry-After": self.settings.retry_after} if self.settings.retry_after else None
            return web.json_response({"error": "failing on purpose"}, status=self.settings.fail_status, headers=headers)
        try:
            document = json.loads(body)
        except ValueError:
            return self._reject(400, "bad_body", "body is not JSON")
        duplicate = before is not None
        self._bump(self._accepted, verified.msg_id, (verified.timestamp, verified.signature))
        if duplicate:
            self.stats.duplicates += 1
            log.info("duplicate %s (already processed)", verified.msg_id)
        else:
            self.stats.accepted += 1
            for line in alert_lines(document):
                log.info("%s %s", verified.msg_id, line)
        if self._record is not None:
            entry = {
                "received_at": round(self._clock(), 3),
                "webhook_id": verified.msg_id,
                "webhook_timestamp": verified.timestamp,
                "attempt": attempt,
                "duplicate": duplicate,
                "body": document,
            }
            self._record.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._record.flush()
        return web.json_response({"accepted": verified.msg_id, "duplicate": duplicate})

    async def show_stats(self, _: web.Request) -> web.Response:
        s = self.stats
        return web.json_response(
            {
                "accepted": s.accepted,
                "duplicates": s.duplicates,
                "failed_on_purpose": s.failed_on_purpose,
                "rejected": s.rejected,
            }
        )
