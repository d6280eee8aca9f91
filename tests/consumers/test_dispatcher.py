"""The dispatcher on the real embedded broker, delivering to real HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from standardwebhooks import Webhook

from iocsim.broker import BrokerAddress
from iocsim.consumers.dispatcher import Dispatcher, DispatchSettings
from iocsim.consumers.endpoints import Endpoint
from iocsim.consumers.retry import RetryPolicy
from iocsim.consumers.signing import generate_secret, parse_secret, webhook_id
from iocsim.contract import DEADLETTER, Alert, DeadLetter, decode, encode

pytestmark = [pytest.mark.broker, pytest.mark.slow]

AlertFactory = Callable[..., Alert]
Publish = Callable[[str, list[Alert]], None]
SECRET = generate_secret()
FAST = RetryPolicy(max_attempts=5, max_age=30.0, backoff_initial=0.05, backoff_max=0.2)


@dataclass
class Seen:
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class CaptureServer:
    """An HTTP receiver that answers from ``statuses`` (then 200) and keeps every request."""

    statuses: list[int] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(Seen(time.time(), dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok" if status < 300 else "try later")


async def serve(capture: CaptureServer) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/{tail:.*}", capture.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    capture.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    return runner


async def silent_server() -> tuple[asyncio.Server, str]:
    """Accepts connections and reads requests but never answers: a hung receiver."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/hook"


def endpoint(name: str, url: str, **changes: Any) -> Endpoint:
    return Endpoint(name=name, url=url, key=parse_secret(SECRET), retry=changes.pop("retry", FAST), **changes)


def settings(address: BrokerAddress, topic: str, *endpoints: Endpoint, **changes: Any) -> DispatchSettings:
    return DispatchSettings(
        brokers=address,
        endpoints=endpoints,
        topic=topic,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        session_timeout=6.0,
        seed=5,
        **changes,
    )


async def until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


def committed(address: BrokerAddress, group: str, topic: str) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=address.bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return {p: consumer.committed(TopicPartition(topic, p)) for p in range(3)}
    finally:
        consumer.close()


def publish_raw(address: BrokerAddress, topic: str, key: bytes, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=address.bootstrap, acks="all")
    producer.send(topic, key=key, value=value).get(10)
    producer.close(10)


def dead_letters(address: BrokerAddress, source_topic: str) -> list[DeadLetter]:
    consumer = KafkaConsumer(
        DEADLETTER, bootstrap_servers=address.bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=1500
    )
    try:
        letters = [decode(DEADLETTER, record.value) for record in consumer]
    finally:
        consumer.close()
    return [d for d in letters if d.payload.source_topic == source_topic]


async def running(config: DispatchSettings, body: Callable[[Dispatcher], Awaitable[Any]]) -> Dispatcher:
    """Run a dispatcher while ``body`` runs, then stop it gracefully."""
    dispatcher = Dispatcher(config)
    task = asyncio.create_task(dispatcher.run())
    try:
        await body(dispatcher)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 30)
    return dispatcher


def sample(dispatcher: Dispatcher, metric: str, **labels: str) -> float:
    value = dispatcher.registry.get_sample_value(metric, labels)
    return 0.0 if value is None else value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_500_twice_then_200_is_three_signed_requests_with_one_webhook_id(
    broker_address: BrokerAddress, alerts_topic: str, alert_factory: AlertFactory, publish_alerts: Publish
) -> None:
    alert = alert_factory(1)
    publish_alerts(alerts_topic, [alert])
    capture = CaptureServer(statuses=[500, 500])
    metrics_port = free_port()

    async def main() -> tuple[Dispatcher, str]:
        runner = await serve(capture)
        config = settings(broker_address, alerts_topic, endpoint("ops", capture.url), metrics_port=metrics_port)
        exposed = ""

        async def body(dispatcher: Dispatcher) -> None:
            nonlocal exposed
            await until(
                lambda: sample(dispatcher, "iocsim_webhook_deliveries_total", endpoint="ops", outcome="success") > 0, 20
            )
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{metrics_port}/metrics") as response,
            ):
                exposed = await response.text()

        try:
            return await running(config, body), config.group_id
        finally:
            await runner.cleanup()

    dispatcher, group = asyncio.run(main())

    assert len(capture.requests) == 3
    assert {seen.headers["webhook-id"] for seen in capture.requests} == {webhook_id(alert.event_id)}
    stamps = [int(seen.headers["webhook-timestamp"]) for seen in capture.requests]
    assert stamps == sorted(set(stamps)), "each attempt is signed with a later second"
    for seen in capture.requests:
        Webhook(SECRET).verify(seen.body, seen.headers, json_parse=False)  # the spec's algorithm, independently
        assert json.loads(seen.body)["data"] == json.loads(encode(alert))
    assert sample(dispatcher, "iocsim_webhook_attempts_total", endpoint="ops", status_class="5xx") == 2
    assert sample(dispatcher, "iocsim_webhook_attempts_total", endpoint="ops", status_class="2xx") == 1
    assert sample(dispatcher, "iocsim_webhook_delivery_latency_seconds_count", endpoint="ops") == 1
    offsets = committed(broker_address, f"{group}.ops", alerts_topic)
    assert sorted(o for o in offsets.values() if o is not None) == [1], "the one offset is committed once delivered"


def test_a_hung_endpoint_is_dead_lettered_while_a_healthy_one_gets_every_alert_on_time(
    broker_address: BrokerAddress, alerts_topic: str, alert_factory: AlertFactory, publish_alerts: Publish
) -> None:
    """Also: the hung lane never holds more than its queue, and a malformed record is dead-lettered once."""
    alerts = [alert_factory(n) for n in range(12)]
    healthy = CaptureServer()
    published: dict[str, float] = {}
    hung_done: list[float] = []
    most_outstanding = 0

    async def main() -> tuple[Dispatcher, str]:
        nonlocal most_outstanding
        runner = await serve(healthy)
        hung, hung_url = await silent_server()
        dead_retry = RetryPolicy(max_attempts=3, max_age=30.0, backoff_initial=0.05, backoff_max=0.1)
        config = settings(
            broker_address,
            alerts_topic,
            endpoint("hung", hung_url, timeout=0.2, retry=dead_retry, concurrency=4, queue_size=4),
            endpoint("healthy", healthy.url),
        )

        async def body(dispatcher: Dispatcher) -> None:
            nonlocal most_outstanding
            await dispatcher.wait_assigned(20)
            for alert in alerts:
                published[webhook_id(alert.event_id)] = time.time()
            await asyncio.to_thread(publish_alerts, alerts_topic, alerts)
            await asyncio.to_thread(publish_raw, broker_address, alerts_topic, b"junk", b'{"not": "an alert"}')
            hung_lane = next(lane for lane in dispatcher.lanes if lane.sink.name == "hung")

            def settled() -> bool:
                nonlocal most_outstanding
                most_outstanding = max(most_outstanding, hung_lane.outstanding)
                done = sample(dispatcher, "iocsim_webhook_dead_letters_total", endpoint="hung") == len(alerts)
                if done and not hung_done:
                    hung_done.append(time.time())
                return done

            await until(settled, 30)
            await until(lambda: len(healthy.requests) >= len(alerts), 10)

        try:
            return await running(config, body), config.group_id
        finally:
            hung.close()
            await runner.cleanup()

    dispatcher, group = asyncio.run(main())

    lateness = [seen.at - published[seen.headers["webhook-id"]] for seen in healthy.requests]
    assert len(lateness) == len(alerts) and max(lateness) < 3.0, lateness
    assert max(seen.at for seen in healthy.requests) < hung_done[0], "healthy finished while the hung one retried"
    assert most_outstanding <= 4, "the hung endpoint holds no more than its queue"
    assert sample(dispatcher, "iocsim_webhook_attempts_total", endpoint="hung", status_class="timeout") == 36
    assert sample(dispatcher, "iocsim_webhook_deliveries_total", endpoint="hung", outcome="dead_lettered") == 12
    assert sample(dispatcher, "iocsim_webhook_deliveries_total", endpoint="healthy", outcome="success") == 12

    letters = dead_letters(broker_address, alerts_topic)
    (junk,) = [d for d in letters if d.entity_id == "junk"]
    assert junk.event_id == f"{alerts_topic}-{junk.payload.partition}-{junk.payload.offset}"
    assert base64.b64decode(junk.payload.raw_base64) == b'{"not": "an alert"}' and junk.payload.field is not None
    letters.remove(junk)
    assert len(letters) == len(alerts) and len({d.event_id for d in letters}) == len(alerts)
    for letter in letters:
        assert letter.payload.reason.startswith("endpoint hung: gave up after 3 attempts in ")
        assert "last error: no answer within 0.2 s" in letter.payload.reason
        original = decode("ioc.alerts", base64.b64decode(letter.payload.raw_base64))
        assert original in alerts and letter.entity_id == original.payload.fingerprint
    for lane in ("hung", "healthy"):
        offsets = committed(broker_address, f"{group}.{lane}", alerts_topic)
        assert sum(o or 0 for o in offsets.values()) == len(alerts) + 1, (lane, offsets)
