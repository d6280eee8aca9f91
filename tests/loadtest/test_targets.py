"""The load command against real parts: a consumer group's commits, a webhook receiver, its own /metrics."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from iocsim.broker import BrokerAddress
from iocsim.cli import main
from iocsim.consumers.receiver import Receiver, ReceiverSettings
from iocsim.consumers.signing import generate_secret, parse_secret

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_e2e_latency_to_a_real_consumer_group(broker_address: BrokerAddress, recording: Path, tmp_path: Path) -> None:
    group = f"integrator-{uuid.uuid4().hex[:6]}"
    assigned, stop = threading.Event(), threading.Event()

    def consume() -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": broker_address.bootstrap,
                "group.id": group,
                "auto.offset.reset": "latest",
                "enable.auto.commit": True,
                "auto.commit.interval.ms": 200,
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 1000,
            }
        )
        consumer.subscribe(["ioc.incidents.reports", "ioc.services.events"], on_assign=lambda _c, _p: assigned.set())
        try:
            while not stop.is_set():
                consumer.poll(0.05)
        finally:
            consumer.close()

    thread = threading.Thread(target=consume)
    thread.start()
    try:
        assert assigned.wait(30), "the consumer group got no partitions"
        out = tmp_path / "report.json"
        code = main(
            [
                "load", "--replay", str(recording), "--brokers", broker_address.bootstrap, "--rate", "1000",
                "--duration", "3s", "--group", group, "--threshold", "p99_e2e_ms < 10000", "--json", str(out),
                "--quiet",
            ]
        )  # fmt: skip
    finally:
        stop.set()
        thread.join()
    report = json.loads(out.read_text())
    e2e = report["latency"]["e2e_group"]
    assert e2e is not None
    assert e2e["count"] >= 0.99 * report["totals"]["acked"]
    assert e2e["p50_ms"] >= report["latency"]["produce_ack"]["p50_ms"]
    assert code == 0


def test_webhook_target_against_the_reference_receiver(tmp_path: Path) -> None:
    secret = generate_secret()
    loop = asyncio.new_event_loop()
    receiver = Receiver(ReceiverSettings(key=parse_secret(secret), port=0))
    loop.run_until_complete(receiver.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    out = tmp_path / "report.json"
    try:
        code = main(
            [
                "load", "--webhook", receiver.url, "--webhook-secret", secret, "--rate", "100", "--duration", "2s",
                "--threshold", "p99_webhook_ms < 5000", "--json", str(out), "--quiet",
            ]
        )  # fmt: skip
    finally:
        asyncio.run_coroutine_threadsafe(receiver.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    report = json.loads(out.read_text())
    assert report["target"]["kind"] == "webhook"
    assert report["webhook"]["codes"] == {"200": 200}
    assert receiver.stats.accepted == 200
    assert receiver.stats.rejected == {}
    assert report["latency"]["webhook"]["count"] == 200
    assert code == 0


def test_harness_metrics_are_served_during_the_run(
    broker_address: BrokerAddress, recording: Path, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    scraped: list[str] = []

    def scrape() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not scraped:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    text = response.read().decode()
            except OSError:
                continue
            if "iocsim_load_acked_events_total" in text and 'measure="produce_ack"' in text:
                scraped.append(text)

    scraper = threading.Thread(target=scrape)
    scraper.start()
    code = main(
        [
            "load", "--replay", str(recording), "--brokers", broker_address.bootstrap, "--rate", "1000",
            "--duration", "3s", "--metrics-port", str(port), "--quiet",
        ]
    )  # fmt: skip
    scraper.join()
    assert code == 0
    assert scraped, "no scrape during the run showed acknowledged events and produce latency"
