"""The harness's Prometheus metrics, scraped over loopback HTTP and checked by promtool."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request

import numpy as np
import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from iocsim.loadtest.metrics import LATENCY_BUCKETS, HarnessMetrics


def go_float(value: float) -> str:
    """How prometheus-client writes a bucket bound in ``le``."""
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scrape(metrics: HarnessMetrics) -> bytes:
    port = free_port()
    server, thread = metrics.serve("127.0.0.1", port)
    try:
        body: bytes = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        return body
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


@pytest.fixture
def populated() -> tuple[HarnessMetrics, np.ndarray]:
    metrics = HarnessMetrics(CollectorRegistry())
    metrics.count("cameras", offered=1000, sent=990, acked=980)
    metrics.count("services", offered=10, sent=10)
    metrics.error("delivery", 10)
    metrics.error("queue_full")
    metrics.set_behind(0.25)
    latencies = np.random.default_rng(4).lognormal(np.log(0.004), 1.0, 5000)
    metrics.observe_latencies("produce_ack", latencies[:3000])
    metrics.observe_latencies("produce_ack", latencies[3000:])
    metrics.observe_latencies("e2e_group", np.array([0.2, 1.5, 70.0]))
    return metrics, latencies


def test_scraped_names_and_values(populated: tuple[HarnessMetrics, np.ndarray]) -> None:
    metrics, latencies = populated
    got = samples(scrape(metrics))
    assert got[("iocsim_load_offered_events_total", (("feed", "cameras"),))] == 1000
    assert got[("iocsim_load_sent_events_total", (("feed", "cameras"),))] == 990
    assert got[("iocsim_load_acked_events_total", (("feed", "cameras"),))] == 980
    assert got[("iocsim_load_offered_events_total", (("feed", "services"),))] == 10
    assert ("iocsim_load_acked_events_total", (("feed", "services"),)) not in got
    assert got[("iocsim_load_errors_total", (("kind", "delivery"),))] == 10
    assert got[("iocsim_load_errors_total", (("kind", "queue_full"),))] == 1
    assert got[("iocsim_load_behind_seconds", ())] == 0.25
    produce = (("measure", "produce_ack"),)
    assert got[("iocsim_load_latency_seconds_count", produce)] == 5000
    assert got[("iocsim_load_latency_seconds_sum", produce)] == pytest.approx(latencies.sum())
    for bound in LATENCY_BUCKETS:
        key = ("iocsim_load_latency_seconds_bucket", (("le", go_float(bound)), ("measure", "produce_ack")))
        assert got[key] == np.count_nonzero(latencies <= bound), bound
    e2e = (("measure", "e2e_group"),)
    assert got[("iocsim_load_latency_seconds_bucket", (("le", "1.0"), *e2e))] == 1
    assert got[("iocsim_load_latency_seconds_bucket", (("le", "60.0"), *e2e))] == 2
    assert got[("iocsim_load_latency_seconds_bucket", (("le", "+Inf"), *e2e))] == 3


def test_bulk_buckets_match_prometheus_clients_own_histogram() -> None:
    values = np.concatenate([np.array(LATENCY_BUCKETS), np.random.default_rng(1).exponential(0.05, 2000)])
    ours = HarnessMetrics(CollectorRegistry())
    ours.observe_latencies("webhook", values)
    reference_registry = CollectorRegistry()
    reference = Histogram("reference", "", ["measure"], buckets=LATENCY_BUCKETS, registry=reference_registry)
    for value in values:
        reference.labels("webhook").observe(float(value))
    for bound in (*LATENCY_BUCKETS, float("inf")):
        labels = {"measure": "webhook", "le": go_float(bound)}
        expected = reference_registry.get_sample_value("reference_bucket", labels)
        assert expected is not None
        assert ours.registry.get_sample_value("iocsim_load_latency_seconds_bucket", labels) == expected, labels


def test_unknown_measure_is_refused_and_nothing_leaks_to_the_global_registry() -> None:
    metrics = HarnessMetrics(CollectorRegistry())
    with pytest.raises(ValueError, match="measure"):
        metrics.observe_latencies("produce", np.array([0.1]))
    metrics.count("cameras", offered=1)
    assert REGISTRY.get_sample_value("iocsim_load_offered_events_total", {"feed": "cameras"}) is None


def test_exposition_passes_promtool(populated: tuple[HarnessMetrics, np.ndarray]) -> None:
    text = scrape(populated[0])
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool missing under CI: .ci/run installs the Debian package prometheus")
        pytest.skip("promtool not installed (Debian package prometheus)")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
