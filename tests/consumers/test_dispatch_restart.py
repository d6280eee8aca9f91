"""At-least-once across a crash: SIGKILL the dispatcher mid-delivery, restart it, lose nothing.

Both ends run as separate processes, as in production: the reference receiver
(``iocsim webhook-receiver``) records what it accepts, the dispatcher is
killed while requests are in flight and uncommitted, then started again with
the same consumer group.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from iocsim.broker import BrokerAddress
from iocsim.consumers.signing import generate_secret, webhook_id
from iocsim.contract import Alert

pytestmark = [pytest.mark.broker, pytest.mark.slow]

AlertFactory = Callable[..., Alert]
ALERTS = 80


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigkill_then_restart_delivers_every_transition_and_dedup_leaves_one_each(
    broker_address: BrokerAddress,
    alerts_topic: str,
    alert_factory: AlertFactory,
    publish_alerts: Callable[[str, list[Alert]], None],
    tmp_path: Path,
) -> None:
    secret = generate_secret()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOCSIM_")}
    env["IOCSIM_WEBHOOK_SECRET"] = secret
    port = free_port()
    record = tmp_path / "accepted.jsonl"
    endpoints = tmp_path / "endpoints.yaml"
    endpoints.write_text(
        yaml.safe_dump(
            {
                "endpoints": [
                    {
                        "name": "ops",
                        "url": f"http://127.0.0.1:{port}/alerts",
                        "secret_env": "IOCSIM_WEBHOOK_SECRET",
                        "concurrency": 2,
                        "backoff": 0.05,
                        "backoff_max": 0.5,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iocsim.cli",
            "webhook-receiver",
            "--port",
            str(port),
            "--delay",
            "0.05",
            "--record",
            str(record),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    dispatch = [
        sys.executable,
        "-m",
        "iocsim.cli",
        "dispatch",
        "--brokers",
        broker_address.bootstrap,
        "--endpoints",
        str(endpoints),
        "--topic",
        alerts_topic,
        "--group",
        f"test-{uuid.uuid4().hex[:8]}",
        "--session-timeout",
        "6",
        "--metrics-port",
        "0",
    ]
    transitions = [alert_factory(n) for n in range(ALERTS // 2)]
    transitions += [alert_factory(n, "resolved") for n in range(ALERTS // 2)]
    expected = {webhook_id(a.event_id) for a in transitions}
    first = second = None
    try:
        publish_alerts(alerts_topic, transitions)
        first = subprocess.Popen(dispatch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: len(records(record)) >= 15, 30, "the first deliveries")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = {r["webhook_id"] for r in records(record)}
        assert len(at_kill) < len(expected), "the kill must land mid-delivery"

        second = subprocess.Popen(dispatch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: {r["webhook_id"] for r in records(record)} >= expected, 60, "every transition")
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        for process in (first, second, receiver):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)

    accepted = records(record)
    assert {r["webhook_id"] for r in accepted} == expected
    first_copies = Counter(r["webhook_id"] for r in accepted if not r["duplicate"])
    assert set(first_copies.values()) == {1}, "dedup by webhook-id leaves exactly one per transition"
    order = [r["body"]["data"]["payload"]["status"] for r in accepted if not r["duplicate"]]
    assert order.count("firing") == order.count("resolved") == ALERTS // 2
    for n in range(ALERTS // 2):
        mine = [r["body"]["data"]["event_id"] for r in accepted if r["body"]["data"]["entity_id"] == f"CAM-{n:03d}"]
        assert mine.index(alert_factory(n).event_id) < mine.index(alert_factory(n, "resolved").event_id)
