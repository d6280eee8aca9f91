from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from iocsim.sim.cameras.feed import CameraFeed, CameraSettings
from iocsim.sim.cameras.video import VideoSource, parse_video_option
from iocsim.sim.errors import VideoError
from iocsim.sim.profiles import Profile
from iocsim.sim.scenario import Anomaly, Scenario


def _write_video(path: Path, frames: int = 30, fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (96, 72))
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    rng = np.random.default_rng(0)
    background = rng.integers(60, 200, (72, 96), dtype=np.uint8)
    for i in range(frames):
        frame = background.copy()
        frame[30:40, 5 + 2 * i : 13 + 2 * i] = 250
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


@pytest.fixture
def clip_file(tmp_path: Path) -> Path:
    return _write_video(tmp_path / "walk.avi")


def test_option_names_camera_and_path(clip_file: Path) -> None:
    assert parse_video_option(f"TC-01={clip_file}") == ("TC-01", clip_file)
    assert parse_video_option(f" TC-01 = {clip_file} ") == ("TC-01", clip_file)


@pytest.mark.parametrize("text", ["TC-01", "=walk.avi", "TC-01=", ""])
def test_bad_syntax_names_the_option(text: str) -> None:
    with pytest.raises(VideoError) as error:
        parse_video_option(text)
    assert error.value.field == "--video"
    assert "CAMERA_ID=PATH" in error.value.reason


def test_missing_file_names_the_camera(tmp_path: Path) -> None:
    with pytest.raises(VideoError) as error:
        parse_video_option(f"TC-07={tmp_path / 'none.avi'}")
    assert error.value.field == "--video TC-07"
    assert "no such file" in error.value.reason


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.avi"
    bogus.write_text("this is not a video")
    with pytest.raises(VideoError, match="cannot read a frame"):
        parse_video_option(f"TC-02={bogus}")
    with pytest.raises(VideoError):
        VideoSource(bogus)


def test_source_is_gray_resized_sampled_and_loops(clip_file: Path) -> None:
    source = VideoSource(clip_file, size=(160, 120), fps=5.0)
    assert source.native_fps == pytest.approx(10.0)
    assert len(source.frames) == 15  # 30 frames at 10 fps kept at 5 fps
    assert source.frames[0].shape == (120, 160) and source.frames[0].dtype == np.uint8
    assert source.duration == pytest.approx(3.0)
    assert np.array_equal(source.frame_at(0.4), source.frame_at(0.4 + 3 * source.duration))
    assert not np.array_equal(source.frame_at(0.0), source.frame_at(1.0))


def test_slow_video_repeats_frames(tmp_path: Path) -> None:
    source = VideoSource(_write_video(tmp_path / "slow.avi", frames=6, fps=2.0), fps=5.0)
    assert len(source.frames) == 15  # 3 s at 5 fps
    assert np.array_equal(source.frame_at(0.0), source.frame_at(0.4))
    assert not np.array_equal(source.frame_at(0.0), source.frame_at(0.6))


def test_camera_fed_by_video_reports_its_motion(profile: Profile, kit: Any, clip_file: Path) -> None:
    t0 = kit.at(12.0)
    scenario = Scenario("video", t0, t0 + 120, anomalies=(Anomaly("camera_covered", "XX-02", t0 + 80, t0 + 120),))
    feed = CameraFeed(
        profile,
        scenario,
        1,
        settings=CameraSettings(camera_ids=("XX-02",), link_drops=False),
        video_sources={"XX-02": clip_file},
    )
    observations = list(feed.events())
    assert len(observations) == 12
    healthy = [o.payload for o in observations[2:8]]
    assert np.mean([m.motion_ratio for m in healthy]) > 0.001
    assert np.mean([m.blobs for m in healthy]) > 0.5
    covered = [o.payload for o in observations[8:]]
    assert max(m.brightness for m in covered) < 10 < min(m.brightness for m in healthy)
