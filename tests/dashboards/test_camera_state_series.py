"""The per-camera state series behind the map: coordinates as labels, offline, online and tampered codes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from iocsim.contract import Alert, AlertDetails, CameraMetrics, CameraObservation, Evidence
from iocsim.sim.profiles import load_profile
from iocsim.streams.feed_metrics import FeedMetrics, camera_places
from iocsim.streams.metrics import WorkerMetrics


def observation(camera: str, district: str, at: float) -> CameraObservation:
    return CameraObservation(
        event_id=f"{camera}-{at}",
        entity_id=camera,
        district=district,
        commune=None,
        event_time=at,
        payload=CameraMetrics(
            frames=50,
            motion_ratio=0.0,
            brightness=100.0,
            sharpness=50.0,
            displacement_px=0.0,
            displacement_response=1.0,
            blobs=0,
        ),
    )


def alert(camera: str, kind: str, status: str) -> Alert:
    return Alert(
        event_id=f"{camera}-{status}",
        entity_id=camera,
        district="muong-ang",
        commune=None,
        event_time=100.0,
        payload=AlertDetails(
            fingerprint="a" * 16,
            rule="r",
            kind=kind,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            severity="warning",
            starts_at=90.0,
            ends_at=None if status == "firing" else 100.0,
            summary="",
            evidence=Evidence(observed=1.0, baseline=2.0, threshold=3.0, event_time=90.0),
        ),
    )


def states(registry: CollectorRegistry) -> dict[str, tuple[float, str, str]]:
    found = {}
    for family in registry.collect():
        if family.name == "iocsim_camera_state":
            for sample in family.samples:
                labels = sample.labels
                found[labels["camera"]] = (sample.value, labels["latitude"], labels["longitude"])
    return found


def test_each_camera_is_placed_and_coded_by_state() -> None:
    registry = CollectorRegistry()
    feeds = FeedMetrics(WorkerMetrics(registry), camera_offline_after_seconds=60.0)
    assert feeds.places == camera_places(load_profile())
    feeds.observe(
        "ioc.camera.observations",
        0,
        [observation("MA-03", "muong-ang", 100.0), observation("TC-01", "tua-chua", 30.0)],
    )
    feeds.observe_alerts([alert("MA-03", "camera_covered", "firing"), alert("TC-01", "crowd", "firing")])
    feeds.refresh_cameras(100.0)
    seen = states(registry)
    lat, lon = feeds.places["MA-03"]
    assert seen["MA-03"] == (2.0, f"{lat:.5f}", f"{lon:.5f}")
    assert seen["TC-01"][0] == 0.0  # 70 s without an observation: offline, whatever else fires
    feeds.observe_alerts([alert("MA-03", "camera_covered", "resolved")])
    feeds.refresh_cameras(100.0)
    assert states(registry)["MA-03"][0] == 1.0


def test_cameras_of_lost_partitions_leave_the_map_and_unknown_ones_have_no_coordinates() -> None:
    registry = CollectorRegistry()
    feeds = FeedMetrics(WorkerMetrics(registry), camera_offline_after_seconds=60.0, places={})
    feeds.observe("ioc.camera.observations", 3, [observation("X-1", "muong-ang", 10.0)])
    feeds.refresh_cameras(10.0)
    assert states(registry) == {"X-1": (1.0, "", "")}
    feeds.forget("ioc.camera.observations", {3})
    feeds.refresh_cameras(10.0)
    assert states(registry) == {}
