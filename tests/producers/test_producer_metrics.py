"""The simulator's /metrics: per-feed counts that match what the broker acknowledged, served over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from iocsim.broker import BrokerAddress
from iocsim.config import KafkaSettings
from iocsim.contract import CAMERA_OBSERVATIONS, INCIDENT_REPORTS, SERVICE_EVENTS, TRUTH
from iocsim.producers.errors import ProducerError
from iocsim.producers.metrics import ProducerMetrics, feed_of, serve_metrics
from iocsim.producers.pacing import SimPacer
from iocsim.producers.publisher import DeliveryCounts, Publisher
from iocsim.producers.simulate import publish_run
from iocsim.sim import simulation
from iocsim.sim.cameras.feed import CameraSettings
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import parse_scenario

SCENARIO = """
name: metrics-morning
start: 2025-05-12T08:00:00+07:00
duration: 10m
anomalies:
  - {kind: queue_surge, entity: hcc-tuan-giao, start: 1m, duration: 5m}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scrape(port: int) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, sample.labels.get("feed", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def test_counters_follow_the_publisher_totals_by_feed() -> None:
    metrics = ProducerMetrics(CollectorRegistry(), feeds=("cameras", "services"))
    counts = DeliveryCounts()
    counts.acked.update({CAMERA_OBSERVATIONS: 5, SERVICE_EVENTS: 2})
    metrics.observe(counts)
    counts.acked.update({CAMERA_OBSERVATIONS: 3, TRUTH: 1})
    counts.failed.update({SERVICE_EVENTS: 4})
    metrics.observe(counts)
    metrics.observe(counts)
    value = metrics.registry.get_sample_value
    assert value("iocsim_published_events_total", {"feed": "cameras"}) == 8
    assert value("iocsim_published_events_total", {"feed": "services"}) == 2
    assert value("iocsim_published_events_total", {"feed": "truth"}) == 1
    assert value("iocsim_publish_errors_total", {"feed": "services"}) == 4
    assert value("iocsim_publish_errors_total", {"feed": "cameras"}) == 0
    assert value("iocsim_published_events_total", {"feed": "incidents"}) is None
    assert feed_of(INCIDENT_REPORTS) == "incidents" and feed_of("other.topic") == "other.topic"


@pytest.mark.broker
def test_a_real_run_is_counted_and_served(broker_address: BrokerAddress) -> None:
    spec = simulation.SimulationSpec(
        profile=load_profile(),
        scenario=parse_scenario(SCENARIO),
        seed=3,
        feeds=("cameras", "services"),
        cameras=CameraSettings(camera_ids=("TC-04", "MA-03")),
    )
    metrics = ProducerMetrics(CollectorRegistry(), spec.feeds)
    port = free_port()
    server, _ = serve_metrics(metrics.registry, "127.0.0.1", port)
    try:
        publisher = Publisher(broker_address, KafkaSettings(brokers=broker_address.bootstrap))
        summary = publish_run(
            simulation.events(spec),
            publisher,
            SimPacer(spec.scenario.start, 0.0),
            sim_end=spec.scenario.end,
            on_progress=lambda _: metrics.observe(publisher.counts),
            progress_every=50,
        )
        scraped = scrape(port)
    finally:
        server.shutdown()
        server.server_close()
    acked = Counter({feed_of(topic): n for topic, n in summary.counts.acked.items()})
    assert acked["cameras"] > 0 and acked["services"] > 0 and acked["truth"] == 1
    for feed in ("cameras", "services", "truth"):
        assert scraped[("iocsim_published_events_total", feed)] == acked[feed]
        assert scraped[("iocsim_publish_errors_total", feed)] == 0


def test_series_pass_promtool() -> None:
    metrics = ProducerMetrics(CollectorRegistry(), simulation.FEEDS)
    counts = DeliveryCounts()
    counts.acked.update({CAMERA_OBSERVATIONS: 10})
    metrics.observe(counts)
    port = free_port()
    server, _ = serve_metrics(metrics.registry, "127.0.0.1", port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read()
    finally:
        server.shutdown()
        server.server_close()
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool missing under CI: .ci/run installs the Debian package prometheus")
        pytest.skip("promtool not installed (Debian package prometheus)")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_a_busy_port_is_one_error_naming_the_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ProducerError, match=rf"--metrics-port: cannot listen on 127\.0\.0\.1:{port}"):
            serve_metrics(CollectorRegistry(), "127.0.0.1", port)


@pytest.mark.broker
@pytest.mark.slow
def test_simulate_serves_metrics_while_it_runs() -> None:
    port = free_port()
    command = [sys.executable, "-m", "iocsim.cli", "simulate", "--feeds", "incidents", "--duration", "10m"]
    command += ["--speed", "60", "--quiet", "--metrics-port", str(port), "--metrics-host", "127.0.0.1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        scraped: dict[tuple[str, str], float] = {}
        while time.monotonic() < deadline and process.poll() is None:
            try:
                scraped = scrape(port)
                break
            except OSError:
                time.sleep(0.2)
        assert scraped, "simulate never served /metrics"
        assert ("iocsim_published_events_total", "incidents") in scraped
        assert ("iocsim_publish_errors_total", "truth") in scraped
        assert ("iocsim_published_events_total", "cameras") not in scraped
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert f"metrics: http://127.0.0.1:{port}/metrics" in stderr


def test_simulate_metrics_settings_come_from_flags_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from iocsim.cli import build_parser
    from iocsim.errors import ConfigError
    from iocsim.simulate_command import resolve_metrics

    parser = build_parser()
    monkeypatch.delenv("IOCSIM_SIMULATE_METRICS_PORT", raising=False)
    monkeypatch.delenv("IOCSIM_SIMULATE_METRICS_HOST", raising=False)
    assert resolve_metrics(parser.parse_args(["simulate"])) == ("127.0.0.1", 0)
    monkeypatch.setenv("IOCSIM_SIMULATE_METRICS_PORT", "9464")
    monkeypatch.setenv("IOCSIM_SIMULATE_METRICS_HOST", "0.0.0.0")
    assert resolve_metrics(parser.parse_args(["simulate"])) == ("0.0.0.0", 9464)
    assert resolve_metrics(parser.parse_args(["simulate", "--metrics-port", "9500"])) == ("0.0.0.0", 9500)
    with pytest.raises(ConfigError, match="--metrics-port"):
        resolve_metrics(parser.parse_args(["simulate", "--metrics-port", "70000"]))
