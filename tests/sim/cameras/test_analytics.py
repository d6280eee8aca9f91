from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from iocsim.sim.cameras.analytics import AnalyzerSettings, EdgeAnalyzer
from iocsim.sim.cameras.video import VideoSource

H, W = 120, 160


def _texture(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 1.2)
    return np.asarray(np.clip(128 + 40 * noise / noise.std(), 0, 255), np.uint8)


def _with_square(frame: np.ndarray, x: int, y: int, size: int = 8, value: int = 250) -> np.ndarray:
    out = frame.copy()
    out[y : y + size, x : x + size] = value
    return out


def test_static_scene_has_no_motion_and_a_steady_view() -> None:
    background = _texture()
    analyzer = EdgeAnalyzer(reference=background)
    for _ in range(3):
        metrics = analyzer.analyse([background] * 5, "snapshot://X/1")
    assert metrics.motion_ratio == 0 and metrics.blobs == 0
    assert metrics.displacement_px < 0.05 and metrics.displacement_response > 0.9
    assert metrics.brightness == pytest.approx(float(background.mean()), abs=0.01)
    assert metrics.sharpness == pytest.approx(cv2.Laplacian(background, cv2.CV_64F).var(), rel=1e-3)
    assert metrics.frames == 5 and metrics.snapshot_ref == "snapshot://X/1"


def test_a_moving_object_is_motion_and_one_blob() -> None:
    background = _texture()
    analyzer = EdgeAnalyzer(reference=background)
    analyzer.analyse([background] * 5)
    metrics = analyzer.analyse([_with_square(background, 20 + 6 * i, 50) for i in range(5)])
    assert metrics.blobs == pytest.approx(1.0)
    assert 0.8 * 64 / (H * W) < metrics.motion_ratio < 1.5 * 64 / (H * W)


@pytest.mark.parametrize(("step", "size", "walker"), [(1, 5, True), (2, 5, True), (9, 5, False), (2, 8, False)])
def test_pedestrians_are_person_sized_blobs_that_moved_less_than_their_width(
    step: int, size: int, walker: bool
) -> None:
    background = _texture()
    analyzer = EdgeAnalyzer(reference=background)
    for _ in range(20):  # a settled background model: a new one takes in a slow object at once
        analyzer.analyse([background] * 5)
    metrics = analyzer.analyse([_with_square(background, 20 + step * i, 50, size=size) for i in range(5)])
    assert metrics.blobs == pytest.approx(1.0)
    assert metrics.pedestrians == pytest.approx(1.0 if walker else 0.0)


def test_a_single_frame_cannot_tell_pedestrians() -> None:
    background = _texture()
    analyzer = EdgeAnalyzer(reference=background)
    analyzer.analyse([background])
    metrics = analyzer.analyse([_with_square(background, 20, 50, size=5)])
    assert metrics.blobs == 1.0 and metrics.pedestrians is None


def test_specks_below_the_minimum_area_are_not_blobs() -> None:
    background = _texture()
    analyzer = EdgeAnalyzer(AnalyzerSettings(min_blob_area=30), reference=background)
    analyzer.analyse([background] * 5)
    metrics = analyzer.analyse([_with_square(background, 20 + 6 * i, 50, size=4) for i in range(5)])
    assert metrics.motion_ratio > 0 and metrics.blobs == 0


@pytest.mark.parametrize(("dx", "dy"), [(12, 0), (-20, 5), (0, -9)])
def test_displacement_measures_a_shifted_view(dx: int, dy: int) -> None:
    background = _texture(3)
    analyzer = EdgeAnalyzer(reference=background)
    shifted = np.roll(background, (dy, dx), axis=(0, 1))
    metrics = analyzer.analyse([shifted] * 5)
    assert metrics.displacement_px == pytest.approx(float(np.hypot(dx, dy)), abs=0.5)
    assert metrics.displacement_response > 0.3


def test_reference_survives_repeated_phase_correlation() -> None:
    """OpenCV 5's phaseCorrelate windows its inputs in place; the analyser must not let it eat the reference."""
    background = _texture(4)
    analyzer = EdgeAnalyzer(reference=background)
    first = analyzer.analyse([background] * 5)
    for _ in range(20):
        last = analyzer.analyse([background] * 5)
    assert last.displacement_response == pytest.approx(first.displacement_response, abs=1e-3)


def test_first_clip_is_the_reference_when_none_is_given() -> None:
    background = _texture(5)
    analyzer = EdgeAnalyzer()
    assert analyzer.analyse([background] * 3).displacement_px < 0.05
    moved = analyzer.analyse([np.roll(background, 15, axis=1)] * 3)
    assert moved.displacement_px == pytest.approx(15, abs=0.5)


def test_empty_clip_is_refused() -> None:
    with pytest.raises(ValueError, match="frame"):
        EdgeAnalyzer().analyse([])


def _video_metrics(path: Path, clips: int = 20) -> list[tuple[float, float]]:
    source = VideoSource(path)
    analyzer = EdgeAnalyzer()
    out = []
    for k in range(clips):
        metrics = analyzer.analyse(source.clip(k * 2.0, 5))
        out.append((metrics.motion_ratio, metrics.blobs))
    return out[2:]  # the background model settles over the first clips


def test_pedestrians_on_real_video_are_motion_and_blobs(video_dir: Path) -> None:
    measured = _video_metrics(video_dir / "pets2009_like_pedestrians_480x360.avi")
    motion, blobs = np.mean(measured, axis=0)
    assert motion > 0.005
    assert 1.0 < blobs < 15.0  # 3–8 pedestrians, some walking together


def test_highway_traffic_on_real_video_is_motion_and_blobs(video_dir: Path) -> None:
    motion, blobs = np.mean(_video_metrics(video_dir / "highway_cctv_320x240.avi"), axis=0)
    assert motion > 0.005 and blobs > 1.0
