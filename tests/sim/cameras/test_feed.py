from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from iocsim.contract import CAMERA_OBSERVATIONS, CameraObservation, decode, encode
from iocsim.sim.cameras.feed import CameraFeed, CameraSettings
from iocsim.sim.cameras.link import Link
from iocsim.sim.errors import SimError, VideoError
from iocsim.sim.profiles import Profile
from iocsim.sim.scenario import Anomaly, Scenario
from iocsim.sim.seeding import entity_rng

THREE = ("XX-01", "XX-02", "XX-06")


def _scenario(kit: Any, hour: float, seconds: float, *anomalies: Anomaly) -> Scenario:
    t0 = kit.at(hour)
    return Scenario("test", t0, t0 + seconds, anomalies=anomalies)


def test_same_inputs_give_byte_identical_observations(profile: Profile, kit: Any) -> None:
    scenario = _scenario(kit, 7.0, 60, Anomaly("crowd", "XX-01", kit.at(7.0) + 20, kit.at(7.0) + 50))
    settings = CameraSettings(camera_ids=THREE)
    first = CameraFeed(profile, scenario, 5, settings=settings)
    again = CameraFeed(profile, scenario, 5, settings=settings)
    runs = [[encode(o) for o in feed.events()] for feed in (first, again, first)]
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0]) > 0
    other_seed = [encode(o) for o in CameraFeed(profile, scenario, 6, settings=settings).events()]
    assert other_seed != runs[0]


def test_observations_follow_the_contract_in_time_and_camera_order(profile: Profile, kit: Any) -> None:
    scenario = _scenario(kit, 9.0, 40)
    feed = CameraFeed(profile, scenario, 1, settings=CameraSettings(camera_ids=THREE, link_drops=False))
    observations = list(feed.events())
    assert feed.topic == CAMERA_OBSERVATIONS
    assert len(observations) == 4 * len(THREE)
    keys = [(o.event_time, THREE.index(o.entity_id)) for o in observations]
    assert keys == sorted(keys)
    assert len({o.event_id for o in observations}) == len(observations)
    for o in observations:
        assert decode(CAMERA_OBSERVATIONS, encode(o)) == o
        index = round((o.event_time - scenario.start) / 10)
        assert o.event_id == f"cam-{o.entity_id}-{index}"
        assert (o.district, o.commune) == ("xa", "xa/town")
        assert o.payload.frames == 5
        assert o.payload.snapshot_ref == f"snapshot://{o.entity_id}/{int(o.event_time)}"
        for field in ("motion_ratio", "brightness", "sharpness", "displacement_px", "displacement_response", "blobs"):
            value = getattr(o.payload, field)
            assert round(value, 4) == value, field


def test_offline_camera_sends_nothing_for_the_window(profile: Profile, kit: Any) -> None:
    t0 = kit.at(10.0)
    scenario = _scenario(kit, 10.0, 200, Anomaly("camera_offline", "XX-02", t0 + 50, t0 + 120))
    feed = CameraFeed(profile, scenario, 3, settings=CameraSettings(camera_ids=THREE, link_drops=False))
    observations = list(feed.events())
    times = {cam: [o.event_time - t0 for o in observations if o.entity_id == cam] for cam in THREE}
    assert not [t for t in times["XX-02"] if 50 <= t < 120]
    assert len(times["XX-02"]) == 20 - 7
    assert len(times["XX-01"]) == len(times["XX-06"]) == 20


def test_link_share_equals_availability_and_drops_come_in_bursts() -> None:
    link = Link(0.95, 12.0, entity_rng(1, "test", "link"))
    states = np.array([link.step() for _ in range(200_000)])
    assert abs(states.mean() - 0.95) < 0.01
    down = ~states
    starts = np.count_nonzero(down[1:] & ~down[:-1])
    assert 12.0 * 0.85 < down.sum() / starts < 12.0 * 1.15
    assert np.mean(down[1:][down[:-1]]) > 0.85  # a dropped link stays down: not independent drops


@pytest.mark.parametrize("availability", [0.0, 1.0, 0.02])
def test_link_extremes(availability: float) -> None:
    link = Link(availability, 30.0, entity_rng(2, "test", "link"))
    share = np.mean([link.step() for _ in range(20_000)])
    assert abs(share - availability) < 0.01


def test_feed_delivers_the_profile_availability_over_a_long_run(kit: Any) -> None:
    profile = kit.make_profile(availability=0.7)
    scenario = _scenario(kit, 0.0, 2000 * 10)
    settings = CameraSettings(camera_ids=("XX-06",), frames_per_clip=1, width=64, height=48, mean_outage_seconds=30)
    delivered = sum(1 for _ in CameraFeed(profile, scenario, 9, settings=settings).events())
    # Bursts inflate the spread of the share about threefold: sd ≈ 0.018 here.
    assert abs(delivered / 2000 - 0.7) < 0.06


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (CameraSettings(interval_seconds=0), "cameras.interval_seconds"),
        (CameraSettings(frames_per_clip=0), "cameras.frames_per_clip"),
        (CameraSettings(frames_per_clip=60, fps=5), "cameras.frames_per_clip"),
        (CameraSettings(fps=-1), "cameras.fps"),
        (CameraSettings(width=8), "cameras.width"),
        (CameraSettings(camera_ids=("XX-01", "NOPE")), "cameras.camera_ids"),
        (CameraSettings(mean_outage_seconds=0), "cameras.mean_outage_seconds"),
    ],
)
def test_bad_settings_name_the_field(profile: Profile, kit: Any, settings: CameraSettings, field: str) -> None:
    with pytest.raises(SimError) as error:
        CameraFeed(profile, _scenario(kit, 0, 10), 1, settings=settings)
    assert error.value.field == field


def test_video_for_an_unknown_camera_is_refused(profile: Profile, kit: Any, tmp_path: Any) -> None:
    with pytest.raises(VideoError, match="NOPE"):
        CameraFeed(profile, _scenario(kit, 0, 10), 1, video_sources={"NOPE": tmp_path / "x.avi"})


def test_every_scene_type_renders_and_reports_activity(profile: Profile, kit: Any) -> None:
    scenario = _scenario(kit, 7.5, 60)
    observations: list[CameraObservation] = list(
        CameraFeed(profile, scenario, 2, settings=CameraSettings(link_drops=False)).events()
    )
    assert {o.entity_id for o in observations} == {c.id for c in profile.cameras}
    busy = [o for o in observations if o.entity_id in ("XX-01", "XX-03")]  # market, school gate at 7:30
    assert np.mean([o.payload.blobs for o in busy]) > 3
    assert all(o.payload.brightness > 60 for o in observations)
