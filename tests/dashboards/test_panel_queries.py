"""Every panel query of every dashboard runs on a real Prometheus scraping a running pipeline and finds data.

One module-wide setup: an embedded broker, a worker with every detector, a
dispatcher delivering to the reference webhook receiver, a short scenario
whose anomalies are still on when it ends (so alerts are firing at query
time), one malformed message (so dead-letter series exist), and Prometheus
scraping the worker and the dispatcher every second. Grafana's template
variables are replaced the way Grafana would: ``$datasource`` is the panel's
datasource (not part of the expression), ``$district``/``$office`` their
"All" value, ``$__range`` the whole run and ``$__rate_interval`` one minute.

Documented exception: panels on ``iocsim_load_*`` series (the load harness
does not run here) must parse but may be empty.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from iocsim import contract
from iocsim.broker import EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS, KafkaSettings
from iocsim.consumers.background import BackgroundDispatcher
from iocsim.consumers.dispatcher import DispatchSettings
from iocsim.consumers.endpoints import Endpoint
from iocsim.consumers.receiver import Receiver, ReceiverSettings
from iocsim.consumers.retry import RetryPolicy
from iocsim.consumers.signing import generate_secret, parse_secret
from iocsim.dashboards.catalog import build_all
from iocsim.dashboards.variables import ALL
from iocsim.producers.pacing import SimPacer
from iocsim.producers.publisher import Publisher
from iocsim.producers.simulate import publish_run
from iocsim.sim import simulation
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import parse_scenario
from iocsim.streams.registry import default_detectors, default_lifecycle_settings
from iocsim.streams.runner import BackgroundWorker
from iocsim.streams.settings import WorkerSettings

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SCENARIO = """
name: dashboards-data
start: 2025-05-12T08:00:00+07:00
duration: 30m
seed: 7
anomalies:
  - {kind: camera_turned, entity: MN-02, start: 2m, duration: 8m}
  - {kind: camera_offline, entity: TC-09, start: 5m, duration: 2h}
  - {kind: camera_covered, entity: MA-03, start: 10m, duration: 2h}
  - {kind: queue_surge, entity: hcc-dien-bien-phu, start: 5m, duration: 2h, params: {multiplier: 4}}
  - {kind: counter_closure, entity: hcc-tuan-giao, start: 5m, duration: 2h, params: {counters_open: 0}}
  - {kind: incident_burst, entity: tua-chua/huoi-so, start: 5m, duration: 2h,
     params: {category: natural_disaster, min_per_hour: 10}}
"""
LOAD_PREFIX = "iocsim_load_"
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__range": "15m",
    "$__interval": "5s",
    "$district": ALL,
    "$office": ALL,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus missing under CI: .ci/run installs the Debian package prometheus")
        pytest.skip("prometheus not installed (Debian package prometheus)")
    return found


@dataclass
class Prometheus:
    port: int

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:  # a bad query answers 400 with the reason
            return json.load(error)

    def query(self, expression: str) -> Any:
        return self.api("query", query=expression)

    def value(self, expression: str) -> float:
        try:
            result = self.query(expression)["data"]["result"]
        except (OSError, KeyError):
            return 0.0
        return float(result[0]["value"][1]) if result else 0.0


class ReceiverThread:
    """The reference webhook receiver on its own event loop."""

    def __init__(self, key: bytes) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="receiver", daemon=True)
        self.receiver = Receiver(ReceiverSettings(key=key, port=0))

    def __enter__(self) -> Receiver:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.receiver.start(), self.loop).result(10)
        return self.receiver

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _start_prometheus(binary: str, directory: Path, targets: list[int]) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    config = directory / "prometheus.yml"
    listed = ", ".join(f"'127.0.0.1:{t}'" for t in targets)
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: iocsim\n    static_configs: [{{targets: [{listed}]}}]\n"
    )
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, port


def _until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f} s: {what}")
        time.sleep(1)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """Prometheus holding a few minutes' scrapes of a worker and a dispatcher that handled the scenario."""
    binary = _prometheus_binary()
    directory = tmp_path_factory.mktemp("prometheus")
    secret = generate_secret()
    profile = load_profile()
    scenario = parse_scenario(SCENARIO)
    spec = simulation.SimulationSpec(profile=profile, scenario=scenario, seed=7, feeds=simulation.FEEDS)
    worker_port, dispatcher_port = _free_port(), _free_port()
    with EmbeddedBroker() as broker, ReceiverThread(parse_secret(secret)) as receiver:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        process, port = _start_prometheus(binary, directory, [worker_port, dispatcher_port])
        prometheus = Prometheus(port)
        settings = WorkerSettings(
            brokers=broker.address,
            app_id=f"test-dashboards-{uuid.uuid4().hex[:8]}",
            web_port=_free_port(),
            metrics_port=worker_port,
            session_timeout_seconds=6.0,
            batch_within_seconds=0.05,
            lifecycle=default_lifecycle_settings(),
        )
        endpoint = Endpoint(
            name="operators",
            url=receiver.url,
            key=parse_secret(secret),
            retry=RetryPolicy(max_attempts=3, max_age=30.0, backoff_initial=0.05, backoff_max=0.2),
        )
        dispatcher = BackgroundDispatcher(
            DispatchSettings(
                brokers=broker.address,
                endpoints=(endpoint,),
                group_id=f"test-dashboards-{uuid.uuid4().hex[:8]}",
                session_timeout=6.0,
                metrics_port=dispatcher_port,
            )
        ).start()
        try:
            with BackgroundWorker(settings, default_detectors(profile)):
                publish_run(
                    simulation.events(spec),
                    Publisher(broker.address, KafkaSettings()),
                    SimPacer(scenario.start, 0),
                    sim_end=scenario.end,
                )
                producer = KafkaProducer(bootstrap_servers=broker.address.bootstrap, acks="all")
                producer.send(contract.CAMERA_OBSERVATIONS, key=b"TC-01", value=b"{not json").get(10)
                producer.close(10)
                _until(lambda: prometheus.value("sum(iocsim_dead_letters_total)") >= 1, 120, "a dead letter")
                _until(lambda: prometheus.value("sum(iocsim_alerts_active)") >= 1, 120, "a firing alert")
                _until(
                    lambda: prometheus.value('sum(iocsim_webhook_deliveries_total{outcome="success"})') >= 1,
                    120,
                    "a webhook delivery",
                )
                time.sleep(5)  # a few more scrapes, so rates over one minute have two samples
                yield prometheus
        finally:
            dispatcher.stop()
            process.terminate()
            process.wait(10)


def _targets(lang: str = "vi") -> list[tuple[str, str, str]]:
    found = []
    for uid, model in build_all(lang).items():
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                found.append((uid, panel["title"], target["expr"]))
    return found


def substitute(expression: str, values: dict[str, str]) -> str:
    for name in sorted(values, key=len, reverse=True):
        expression = expression.replace(name, values[name])
    assert "$" not in expression.replace("$1", ""), expression
    return expression


def test_every_panel_query_parses_and_returns_data(scraped: Prometheus) -> None:
    targets = _targets()
    assert len(targets) > 40
    failures = []
    for uid, title, expr in targets:
        answer = scraped.query(substitute(expr, SUBSTITUTIONS))
        if answer.get("status") != "success":
            failures.append(f"{uid} / {title}: {answer.get('error')}  ({expr})")
        elif not answer["data"]["result"] and LOAD_PREFIX not in expr:
            failures.append(f"{uid} / {title}: no data  ({expr})")
    assert not failures, "\n".join(failures)


def test_drill_down_values_exist_and_filter(scraped: Prometheus) -> None:
    """The variables' own queries find values, and one concrete district or office still parses and finds data."""
    concrete: dict[str, str] = {}
    for label, metric in (("district", "iocsim_cameras"), ("office", "iocsim_queue_length")):
        values = scraped.api(f"label/{label}/values", **{"match[]": metric})["data"]
        assert values, label
        concrete[f"${label}"] = values[0]
    for uid, title, expr in _targets():
        if "$district" not in expr and "$office" not in expr:
            continue
        answer = scraped.query(substitute(expr, {**SUBSTITUTIONS, **concrete}))
        assert answer.get("status") == "success", (uid, title, answer.get("error"))


def test_the_map_places_every_camera_it_knows(scraped: Prometheus) -> None:
    rows = scraped.query("max by (camera, district, latitude, longitude) (iocsim_camera_state)")["data"]["result"]
    assert len(rows) >= 50
    for row in rows:
        labels = row["metric"]
        assert 20.5 < float(labels["latitude"]) < 23.0 and 102.0 < float(labels["longitude"]) < 104.0, labels
        assert row["value"][1] in {"0", "1", "2"}
