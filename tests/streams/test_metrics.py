from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from iocsim.contract import (
    CAMERA_OBSERVATIONS,
    INCIDENT_REPORTS,
    SERVICE_EVENTS,
    CameraMetrics,
    CameraObservation,
    IncidentDetails,
    IncidentReport,
    ServiceDetails,
    ServiceEvent,
)
from iocsim.streams.feed_metrics import FeedMetrics
from iocsim.streams.metrics import OTHER, LabelGuard, WorkerMetrics, serve_metrics


def camera(cam: str, district: str, t: float) -> CameraObservation:
    metrics = CameraMetrics(
        frames=5, motion_ratio=0.1, brightness=100, sharpness=50, displacement_px=0, displacement_response=1, blobs=0
    )
    return CameraObservation(event_id=f"{cam}-{t}", entity_id=cam, district=district, event_time=t, payload=metrics)


def report(n: int, district: str, category: str, status: str) -> IncidentReport:
    details = IncidentDetails(
        status=status,  # type: ignore[arg-type]
        category=category,  # type: ignore[arg-type]
        lat=21.5,
        lon=103.0,
        text="",
        received_at=0,
        deadline=1,
    )
    return IncidentReport(
        event_id=f"r{n}-{status}", entity_id=f"r{n}", district=district, event_time=n, payload=details
    )


def service(office: str, t: float, kind: str, **fields: object) -> ServiceEvent:
    channel = "online" if office == "portal" else "counter"
    details = ServiceDetails(
        kind=kind,  # type: ignore[arg-type]
        channel=channel,  # type: ignore[arg-type]
        service_type="land",
        item_id=f"{office}-{t}",
        counters_open=int(fields.pop("counters_open", 2)),  # type: ignore[call-overload]
        queue_length=int(fields.pop("queue_length", 0)),  # type: ignore[call-overload]
        **fields,  # type: ignore[arg-type]
    )
    return ServiceEvent(event_id=f"{office}-{t}-{kind}", entity_id=office, district="d", event_time=t, payload=details)


@pytest.fixture
def metrics() -> WorkerMetrics:
    return WorkerMetrics(CollectorRegistry())


def value(metrics: WorkerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_label_guard_folds_values_past_its_limit() -> None:
    guard = LabelGuard(limit=2)
    assert [guard("office", v) for v in ("a", "b", "c", "a")] == ["a", "b", OTHER, "a"]
    assert guard("district", "c") == "c"


def test_cameras_online_then_offline_in_event_time_and_forgotten(metrics: WorkerMetrics) -> None:
    feeds = FeedMetrics(metrics, camera_offline_after_seconds=60)
    feeds.observe(CAMERA_OBSERVATIONS, 0, [camera("c1", "tua-chua", 100), camera("c2", "tua-chua", 100)])
    feeds.observe(CAMERA_OBSERVATIONS, 1, [camera("c3", "muong-nhe", 150)])
    feeds.refresh_cameras(150)
    assert value(metrics, "iocsim_cameras", district="tua-chua", status="online") == 2
    feeds.refresh_cameras(170)
    assert value(metrics, "iocsim_cameras", district="tua-chua", status="offline") == 2
    assert value(metrics, "iocsim_cameras", district="tua-chua", status="online") == 0
    assert value(metrics, "iocsim_events_processed_total", feed="cameras") == 3
    feeds.forget(CAMERA_OBSERVATIONS, [0])
    feeds.refresh_cameras(170)
    assert value(metrics, "iocsim_cameras", district="tua-chua", status="offline") == 0
    assert value(metrics, "iocsim_cameras", district="muong-nhe", status="online") == 1


def test_reports_count_new_reports_only(metrics: WorkerMetrics) -> None:
    feeds = FeedMetrics(metrics, 60)
    batch = [
        report(1, "d1", "traffic", "received"),
        report(1, "d1", "traffic", "assigned"),
        report(2, "d1", "land", "received"),
    ]
    feeds.observe(INCIDENT_REPORTS, 0, batch)
    feeds.observe(INCIDENT_REPORTS, 0, [report(3, "d1", "traffic", "received")])
    assert value(metrics, "iocsim_reports_total", district="d1", category="traffic") == 2
    assert value(metrics, "iocsim_reports_total", district="d1", category="land") == 1
    assert value(metrics, "iocsim_events_processed_total", feed="incidents") == 4


def test_queues_waits_and_dossiers(metrics: WorkerMetrics) -> None:
    feeds = FeedMetrics(metrics, 60)
    batch = [
        service("hcc-a", 10, "ticket_issued", queue_length=3),
        service("hcc-a", 20, "ticket_called", queue_length=2, wait_seconds=700.0),
        service("hcc-a", 25, "ticket_abandoned", queue_length=1, wait_seconds=4000.0),
        service("hcc-a", 30, "dossier_completed", on_time=True),
        service("portal", 30, "dossier_completed", on_time=False),
        service("portal", 31, "dossier_completed", on_time=True),
    ]
    feeds.observe(SERVICE_EVENTS, 2, batch)
    assert value(metrics, "iocsim_queue_length", office="hcc-a") == 1, "a completion says nothing of the queue"
    assert value(metrics, "iocsim_counters_open", office="hcc-a") == 2
    assert value(metrics, "iocsim_queue_length", office="portal") is None
    feeds.observe(SERVICE_EVENTS, 2, [service("hcc-a", 40, "counters_changed", counters_open=0, queue_length=1)])
    assert value(metrics, "iocsim_counters_open", office="hcc-a") == 0
    assert value(metrics, "iocsim_queue_wait_seconds_count", office="hcc-a") == 1
    assert value(metrics, "iocsim_queue_wait_seconds_bucket", office="hcc-a", le="600.0") == 0
    assert value(metrics, "iocsim_queue_wait_seconds_bucket", office="hcc-a", le="900.0") == 1
    assert value(metrics, "iocsim_dossiers_on_time_ratio", office="hcc-a") == 1.0
    assert value(metrics, "iocsim_dossiers_on_time_ratio", office="portal") == 0.5
    feeds.forget(SERVICE_EVENTS, [2])
    assert value(metrics, "iocsim_queue_length", office="hcc-a") is None
    assert value(metrics, "iocsim_counters_open", office="hcc-a") is None
    assert value(metrics, "iocsim_dossiers_on_time_ratio", office="portal") is None


def test_gauge_family_zeroes_or_removes_what_is_gone(metrics: WorkerMetrics) -> None:
    metrics.set_gauge_family(metrics.alerts_active, "active", {("crowd", "warning"): 2})
    metrics.set_gauge_family(metrics.alerts_active, "active", {("crowd", "critical"): 1})
    assert value(metrics, "iocsim_alerts_active", kind="crowd", severity="warning") == 0
    metrics.set_gauge_family(metrics.consumer_lag, "lag", {("t", "0"): 5}, remove_absent=True)
    metrics.set_gauge_family(metrics.consumer_lag, "lag", {("t", "1"): 3}, remove_absent=True)
    assert value(metrics, "iocsim_consumer_lag_messages", topic="t", partition="0") is None
    assert value(metrics, "iocsim_consumer_lag_messages", topic="t", partition="1") == 3


def test_metrics_live_on_their_own_registry(metrics: WorkerMetrics) -> None:
    metrics.events_processed.labels("cameras").inc()
    assert REGISTRY.get_sample_value("iocsim_events_processed_total", {"feed": "cameras"}) is None
    WorkerMetrics(CollectorRegistry())


def populated(metrics: WorkerMetrics) -> bytes:
    metrics.events_processed.labels("cameras").inc(3)
    metrics.dead_letters.labels(CAMERA_OBSERVATIONS, "invalid_field").inc()
    metrics.detector_errors.labels("Crowd").inc()
    metrics.alerts_active.labels("crowd", "warning").set(1)
    metrics.alert_transitions.labels("crowd", "firing").inc()
    metrics.detection_latency.labels("crowd").observe(40)
    metrics.processing_latency.labels("crowd").observe(0.2)
    metrics.consumer_lag.labels(CAMERA_OBSERVATIONS, "0").set(10)
    metrics.cameras.labels("tua-chua", "online").set(14)
    metrics.reports.labels("tua-chua", "traffic").inc()
    metrics.queue_length.labels("hcc-a").set(4)
    metrics.queue_wait.labels("hcc-a").observe(300)
    metrics.dossiers_on_time.labels("hcc-a").set(0.97)
    return generate_latest(metrics.registry)


def test_every_series_passes_promtool(metrics: WorkerMetrics) -> None:
    text = populated(metrics)
    for name in (
        "iocsim_events_processed_total",
        "iocsim_dead_letters_total",
        "iocsim_alerts_active",
        "iocsim_alert_transitions_total",
        "iocsim_detection_latency_seconds_bucket",
        "iocsim_alert_processing_latency_seconds_bucket",
        "iocsim_consumer_lag_messages",
        "iocsim_cameras",
        "iocsim_reports_total",
        "iocsim_queue_length",
        "iocsim_queue_wait_seconds_bucket",
        "iocsim_dossiers_on_time_ratio",
    ):
        assert f"\n{name}{{".encode() in text, name
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool missing under CI: .ci/run installs the Debian package prometheus")
        pytest.skip("promtool not installed (Debian package prometheus)")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_metrics_are_served_on_loopback(metrics: WorkerMetrics) -> None:
    populated(metrics)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server, thread = serve_metrics(metrics.registry, "127.0.0.1", port)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    finally:
        server.shutdown()
        server.server_close()
    thread.join(5)
    assert b'iocsim_cameras{district="tua-chua",status="online"} 14.0' in body
