"""End to end on the real embedded broker: every anomaly kind is alerted and resolved; a clean run stays quiet.

The simulator publishes the ``every_kind`` scenario at speed 0 (``iocsim
simulate`` in its own process, so that rendering camera clips and running the
detectors use both cores), a worker with the default detectors consumes it,
and the alerts are read back from ``ioc.alerts``. Only the cameras that carry
an anomaly are simulated: the others would add minutes of rendering and no
anomaly. The clean run is the same scenario, same start, weather and cameras,
without its anomalies.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from iocsim.broker import BrokerAddress, EmbeddedBroker
from iocsim.consumers.topic_reader import read_topics
from iocsim.contract import ALERTS, TRUTH, Alert, TruthEvent
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import CAMERA_KINDS, load_scenario
from iocsim.streams.registry import default_detectors, default_lifecycle_settings
from iocsim.streams.runner import BackgroundWorker
from iocsim.streams.settings import INPUT_TOPICS, WorkerSettings

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SCENARIO = load_scenario("every_kind")
CAMERAS = sorted({a.entity_id for a in SCENARIO.anomalies if a.kind in CAMERA_KINDS})
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_copy(tmp_path: Path) -> Path:
    """every_kind without its anomalies: same start, length, seed and weather."""
    text = (REPO / "scenarios" / "every_kind.yaml").read_text()
    kept = text.split("\nanomalies:")[0].replace("name: every_kind", "name: every_kind_clean")
    path = tmp_path / "every_kind_clean.yaml"
    path.write_text(kept + "\nanomalies: []\n")
    return path


def simulate(address: BrokerAddress, scenario: str) -> None:
    command = [sys.executable, "-m", "iocsim.cli", "simulate", "--brokers", address.bootstrap]
    command += ["--scenario", scenario, "--speed", "0", "--cameras", ",".join(CAMERAS), "--quiet"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOCSIM_")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def run(address: BrokerAddress, scenario: str, data_dir: Path) -> tuple[list[TruthEvent], list[Alert]]:
    """Publish a scenario to a fresh broker with a worker consuming it; its truth and alerts once all is consumed."""
    settings = WorkerSettings(
        brokers=address,
        app_id=f"e2e-{uuid.uuid4().hex[:8]}",
        web_port=free_port(),
        metrics_port=free_port(),
        lifecycle=default_lifecycle_settings(),
        data_dir=data_dir,
    )
    with BackgroundWorker(settings, default_detectors(load_profile())) as worker:
        simulate(address, scenario)
        published = read_topics(address, list(INPUT_TOPICS))
        total = sum(len(messages) for messages in published.messages.values())
        assert total > 10_000 and not published.invalid
        assert worker.worker is not None
        probe = worker.worker.probe
        wait_for(lambda: probe.events >= total, timeout=180, what=f"the worker to consume {total} messages")
        time.sleep(3.0)  # a few ticks at the final watermark
    alerts = read_topics(address, [ALERTS]).messages[ALERTS]
    return published.messages[TRUTH], alerts


def test_every_kind_is_alerted_with_its_entity_and_resolved_after_it_ends(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    truths, alerts = run(fresh_broker.address, "every_kind", tmp_path)
    assert sorted(t.payload.kind for t in truths) == sorted(a.kind for a in SCENARIO.anomalies)
    missing = []
    for truth in truths:
        mine = [a for a in alerts if a.payload.kind == truth.payload.kind and a.entity_id == truth.entity_id]
        firing = [a for a in mine if a.payload.status == "firing" and a.event_time >= truth.payload.start]
        resolved = [a for a in mine if a.payload.status == "resolved" and a.event_time >= truth.payload.end]
        if not firing or not resolved or firing[0].event_time > truth.payload.end:
            missing.append((truth.payload.kind, truth.entity_id, [(a.payload.status, a.event_time) for a in mine]))
    assert missing == []


def test_a_clean_run_of_the_same_length_raises_nothing(fresh_broker: EmbeddedBroker, tmp_path: Path) -> None:
    truths, alerts = run(fresh_broker.address, str(clean_copy(tmp_path)), tmp_path)
    assert truths == []
    assert [(a.payload.kind, a.entity_id, a.payload.summary) for a in alerts] == []
