"""``iocsim run`` end to end on the embedded broker: simulation, worker, alert reader, score."""

from __future__ import annotations

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


def test_run_publishes_detects_and_scores(tmp_path: Path) -> None:
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SCENARIO)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "iocsim.cli",
            "run",
            "--scenario",
            str(scenario),
            "--speed",
            "0",
            "--feeds",
            "services",
            "--quiet",
            "--linger",
            "5",
            "--metrics-port",
            str(_free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "published" in result.stderr and "messages" in result.stderr
    assert "counter_closure" in result.stderr  # the score table lists the injected kind
    assert "Traceback" not in result.stderr
