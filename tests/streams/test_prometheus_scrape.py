"""A real Prometheus server (Debian package) scrapes a running worker fed by the simulator."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from iocsim.broker import BrokerAddress
from iocsim.config import KafkaSettings
from iocsim.producers.pacing import SimPacer
from iocsim.producers.publisher import Publisher
from iocsim.producers.simulate import publish_run
from iocsim.sim import simulation
from iocsim.sim.cameras.feed import CameraSettings
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import parse_scenario
from iocsim.streams.runner import BackgroundWorker
from iocsim.streams.settings import WorkerSettings

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SCENARIO = """
name: scrape-morning
start: 2025-05-12T08:00:00+07:00
duration: 20m
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus missing under CI: .ci/run installs the Debian package prometheus")
        pytest.skip("prometheus not installed (Debian package prometheus)")
    return found


def _query(port: int, expression: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, object]] = body["data"]["result"]
    return result


@pytest.fixture
def prometheus(prometheus_binary: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    process: subprocess.Popen[bytes] | None = None

    def start(target_port: int) -> None:
        nonlocal process
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: iocsim-worker\n    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
        )
        process = subprocess.Popen(
            [
                prometheus_binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    yield port, config, start  # type: ignore[misc]
    if process is not None:
        process.terminate()
        process.wait(10)


def test_prometheus_scrapes_the_expected_series_with_sane_values(
    broker_address: BrokerAddress,
    prometheus,  # type: ignore[no-untyped-def]
) -> None:
    port, _, start = prometheus
    metrics_port = _free_port()
    settings = WorkerSettings(
        brokers=broker_address,
        app_id=f"test-scrape-{uuid.uuid4().hex[:8]}",
        web_port=_free_port(),
        metrics_port=metrics_port,
        session_timeout_seconds=6.0,
        batch_within_seconds=0.05,
    )
    scenario = parse_scenario(SCENARIO)
    spec = simulation.SimulationSpec(
        profile=load_profile(),
        scenario=scenario,
        seed=5,
        feeds=simulation.FEEDS,
        cameras=CameraSettings(camera_ids=("TC-01", "MA-01", "MN-01", "DBD-01")),
    )
    with BackgroundWorker(settings, []):
        start(metrics_port)
        publish_run(
            simulation.events(spec),
            Publisher(broker_address, KafkaSettings()),
            SimPacer(scenario.start, 0),
            sim_end=scenario.end,
        )
        deadline = time.monotonic() + 60
        values: dict[str, float] = {}
        while time.monotonic() < deadline:
            try:
                values = {
                    str(r["metric"]["feed"]): float(r["value"][1])  # type: ignore[index]
                    for r in _query(port, "iocsim_events_processed_total")
                }
            except OSError:
                values = {}
            if values.get("services", 0) > 50 and values.get("cameras", 0) >= 4 * 100:
                break
            time.sleep(1)
        assert {"cameras", "services"} <= set(values) <= {"cameras", "incidents", "services"}, values
        assert values["cameras"] >= 4 * 100  # 4 cameras, one observation per 10 s, minus link drops
        assert values["services"] > 50
        up = _query(port, 'up{job="iocsim-worker"}')
        assert [float(r["value"][1]) for r in up] == [1.0]  # type: ignore[index]
        cameras = _query(port, "sum(iocsim_cameras)")
        assert cameras and 0 < float(cameras[0]["value"][1]) <= 4  # type: ignore[index]
        queue = _query(port, "max(iocsim_queue_length)")
        assert queue and float(queue[0]["value"][1]) >= 0  # type: ignore[index]
        waits = _query(port, "sum(iocsim_queue_wait_seconds_count)")
        assert waits and float(waits[0]["value"][1]) > 0  # type: ignore[index]
        lag = _query(port, "iocsim_consumer_lag_messages")
        assert lag and all(float(r["value"][1]) >= 0 for r in lag)  # type: ignore[index]
