"""The reference receiver on loopback: verifies, rejects forged/stale/replayed requests, fails on demand, records."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from iocsim.consumers.payloads import alertmanager_body, native_body
from iocsim.consumers.receiver import Receiver, ReceiverSettings, alert_lines
from iocsim.consumers.signing import generate_secret, parse_secret, signed_headers, webhook_id
from iocsim.contract import Alert

AlertFactory = Callable[..., Alert]
SECRET = generate_secret()
KEY = parse_secret(SECRET)


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with session.post(url, data=body, headers={**headers, "Content-Type": "application/json"}) as response:
        return response.status, await response.json()


def with_receiver(settings: ReceiverSettings, scenario: Callable[[Receiver, aiohttp.ClientSession], Any]) -> Any:
    async def main() -> Any:
        receiver = Receiver(settings)
        await receiver.start()
        try:
            async with aiohttp.ClientSession() as session:
                return await scenario(receiver, session)
        finally:
            await receiver.stop()

    return asyncio.run(main())


def test_accepts_verified_and_rejects_forged_stale_and_replayed(alert_factory: AlertFactory, tmp_path: Path) -> None:
    body = native_body(alert_factory(1))
    msg_id = webhook_id(alert_factory(1).event_id)
    now = int(time.time())

    async def scenario(receiver: Receiver, session: aiohttp.ClientSession) -> list[int]:
        signed = signed_headers(KEY, msg_id, now, body)
        forged = signed_headers(parse_secret(generate_secret()), msg_id, now, body)
        stale = signed_headers(KEY, msg_id, now - 301, body)
        tampered = body.replace(b"critical", b"info")
        statuses = [
            (await post(session, receiver.url, body, forged))[0],
            (await post(session, receiver.url, body, stale))[0],
            (await post(session, receiver.url, tampered, signed))[0],
            (await post(session, receiver.url, body, {}))[0],
            (await post(session, receiver.url, body, signed))[0],
            (await post(session, receiver.url, body, signed))[0],  # the same request again: a replay
        ]
        status, answer = await post(session, receiver.url, body, signed_headers(KEY, msg_id, now + 1, body))
        assert answer == {"accepted": msg_id, "duplicate": True}  # a redelivery, signed anew
        return [*statuses, status]

    statuses = with_receiver(ReceiverSettings(key=KEY, port=0, record=tmp_path / "got.jsonl"), scenario)
    assert statuses == [401, 401, 401, 401, 200, 409, 200]
    lines = [json.loads(line) for line in (tmp_path / "got.jsonl").read_text().splitlines()]
    assert [(e["webhook_id"], e["duplicate"]) for e in lines] == [(msg_id, False), (msg_id, True)]
    assert lines[0]["body"]["data"]["event_id"] == alert_factory(1).event_id


def test_rejections_are_counted_by_reason(alert_factory: AlertFactory) -> None:
    body = native_body(alert_factory(2))

    async def scenario(receiver: Receiver, session: aiohttp.ClientSession) -> dict[str, int]:
        await post(session, receiver.url, body, signed_headers(KEY, "msg_x", int(time.time()) - 1000, body))
        await post(session, receiver.url, body, {"webhook-id": "msg_x"})
        return receiver.stats.rejected

    assert with_receiver(ReceiverSettings(key=KEY, port=0, tolerance=60), scenario) == {
        "stale": 1,
        "missing_headers": 1,
    }


def test_fails_the_first_attempts_of_each_id_on_purpose(alert_factory: AlertFactory) -> None:
    async def scenario(receiver: Receiver, session: aiohttp.ClientSession) -> list[int]:
        statuses: list[int] = []
        for n in (1, 1, 1, 2, 2):
            body = native_body(alert_factory(n))
            headers = signed_headers(KEY, webhook_id(alert_factory(n).event_id), int(time.time()) + len(statuses), body)
            async with session.post(receiver.url, data=body, headers=headers) as response:
                statuses.append(response.status)
                if response.status == 503:
                    assert response.headers["Retry-After"] == "2"
        return statuses

    settings = ReceiverSettings(key=KEY, port=0, fail_first=2, fail_status=503, retry_after="2")
    assert with_receiver(settings, scenario) == [503, 503, 200, 503, 503]


def test_one_line_per_alert_in_either_format(alert_factory: AlertFactory) -> None:
    native = alert_lines(json.loads(native_body(alert_factory(3))))
    manager = alert_lines(json.loads(alertmanager_body(alert_factory(3, "resolved"), "r")))
    assert native == ["firing critical crowd CAM-003 (muong-ang): crowd at CAM-003"]
    assert manager == ["resolved critical crowd_rule CAM-003 (muong-ang): crowd at CAM-003"]
