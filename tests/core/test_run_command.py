"""``iocsim run`` end to end on the embedded broker: simulation, worker, alert reader, score."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SCENARIO = """
name: short-morning
start: 2025-05-12T08:00:00+07:00
duration: 30m
anomalies:
  - {kind: counter_closure, entity: hcc-tuan-giao, start: 5m, duration: 20m}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _hold_port(port: int) -> socket.socket:
    """A listening socket on ``port``, as another process would hold it (if one already does, so much the better)."""
    holder = socket.socket()
    with contextlib.suppress(OSError):
        holder.bind(("127.0.0.1", port))
        holder.listen()
    return holder


def test_run_publishes_detects_and_scores(tmp_path: Path) -> None:
    """Also while Faust's default web port (6066) is taken, e.g. by a worker on the same host."""
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SCENARIO)
    with _hold_port(6066):
        result = _run_quietly(scenario, "services", 5)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "published" in result.stderr and "messages" in result.stderr
    assert "counter_closure" in result.stderr  # the score table lists the injected kind
    assert "Traceback" not in result.stderr


def _run_quietly(
    scenario: Path, feed: str, linger: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``iocsim run`` of one feed at full speed, without the live view."""
    command = ["run", "--scenario", str(scenario), "--speed", "0", "--feeds", feed, "--quiet"]
    command += ["--linger", str(linger), "--metrics-port", str(_free_port())]
    return subprocess.run(
        [sys.executable, "-m", "iocsim.cli", *command],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


BURST = """
name: landslide-morning
start: 2025-07-14T09:00:00+07:00
duration: 40m
anomalies:
  - {kind: incident_burst, entity: muong-nhe/chung-chai, start: 5m, duration: 30m,
     params: {category: natural_disaster, min_per_hour: 40}}
"""


def test_run_delivers_alerts_to_a_webhook_receiver(tmp_path: Path) -> None:
    scenario = tmp_path / "burst.yaml"
    scenario.write_text(BURST)
    record = tmp_path / "received.jsonl"
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    port = _free_port()
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iocsim.cli",
            "webhook-receiver",
            "--port",
            str(port),
            "--secret",
            secret,
            "--record",
            str(record),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env = {**os.environ, "IOCSIM_WEBHOOK_URL": f"http://127.0.0.1:{port}/", "IOCSIM_WEBHOOK_SECRET": secret}
        result = _run_quietly(scenario, "incidents", 15, env)
    finally:
        receiver.terminate()
        receiver.wait(10)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "firing" in result.stderr and "incident_burst" in result.stderr
    received = [json.loads(line) for line in record.read_text().splitlines()]
    assert any("incident_burst" in json.dumps(r) for r in received), received
