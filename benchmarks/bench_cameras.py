"""Camera feed throughput on one core: rendering + edge analysis vs a bare OpenCV analysis loop.

The goal is all 61 cameras of the Điện Biên profile at 5 frames/s each in real
time on one core (305 frames/s through CameraFeed), with the feed costing at
most 1.5 times the bare analysis of the same frames. The bare loop calls the
same OpenCV functions on frames rendered beforehand, so the ratio is what
scene synthesis, conditions, bookkeeping and messages add.

Times are CPU seconds of this process (``time.process_time``), which is what
one core delivers even when other work shares the machine; the two sides run
interleaved and the best run of each is kept.

Run: python benchmarks/bench_cameras.py [--seconds 120] [--repeat 3] [--hour 7]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime as dt
import statistics
import time

import cv2
import numpy as np

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.cameras.analytics import AnalyzerSettings
from iocsim.sim.cameras.feed import CameraFeed, CameraSettings
from iocsim.sim.cameras.layouts import FrameGeometry
from iocsim.sim.cameras.scene import Scene, SceneAssets, conditions_at
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import Scenario, clean_scenario
from iocsim.sim.seeding import entity_rng

SEED = 7
START = dt.datetime(2025, 5, 12, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def run_feed(feed: CameraFeed) -> tuple[float, int, float, int]:
    """(total seconds, frames, seconds to the first observation, frames in it)."""
    began = time.process_time()
    first_at, first_frames, frames = 0.0, 0, 0
    for observation in feed.events():
        frames += observation.payload.frames
        if not first_at:
            first_at, first_frames = time.process_time() - began, frames
    return time.process_time() - began, frames, first_at, first_frames


def prerender(feed: CameraFeed) -> list[list[np.ndarray]]:
    """The clips the feed analyses, camera by camera (same seeds, no link drops)."""
    s = feed.settings
    assets = SceneAssets.build(FrameGeometry(s.width, s.height), entity_rng(SEED, "camera-noise"), s.frames_per_clip)
    calendar = ProvinceCalendar(feed.profile.calendar)
    clips = []
    for camera in feed.cameras:
        scene = Scene(camera.scene, assets, entity_rng(SEED, "camera", camera.id).spawn(2)[0])
        own: list[np.ndarray] = []
        t, k = feed.scenario.start, 0
        while t < feed.scenario.end:
            cond = conditions_at(feed.scenario, (), calendar, camera.district, t)
            times = [t + i / s.fps for i in range(s.frames_per_clip)]
            own.append(scene.render(t, times, t + s.interval_seconds, cond))
            k += 1
            t = feed.scenario.start + k * s.interval_seconds
        clips.append(own)
    return clips


def bare_analysis(clips: list[list[np.ndarray]], settings: AnalyzerSettings, reference_size: tuple[int, int]) -> float:
    """Seconds spent by a plain loop doing the edge box's OpenCV work on the clips."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (settings.opening_px, settings.opening_px))
    window = cv2.createHanningWindow(reference_size, cv2.CV_32F)
    began = time.process_time()
    for own in clips:
        subtractor = cv2.createBackgroundSubtractorMOG2(settings.history, settings.var_threshold, False)
        subtractor.apply(own[0][0], learningRate=1.0)
        reference = own[0][0].astype(np.float32)
        for clip in own:
            total = np.zeros(clip[0].shape, np.float32)
            before = None
            for frame in clip:
                mask = cv2.morphologyEx(subtractor.apply(frame), cv2.MORPH_OPEN, kernel)
                foreground = mask > 0
                if cv2.countNonZero(mask):
                    _, labels = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_16U)
                    areas = np.bincount(labels[foreground])
                    sized = areas >= settings.min_blob_area
                    np.count_nonzero(sized)
                    if before is not None:
                        kept = np.bincount(labels[foreground & before], minlength=len(areas))
                        walking = (areas <= settings.pedestrian_max_area) & (kept > settings.pedestrian_overlap * areas)
                        np.count_nonzero(sized & walking)
                before = foreground
                cv2.mean(frame)
                cv2.meanStdDev(cv2.Laplacian(frame, cv2.CV_16S))
                cv2.accumulate(frame, total)
            cv2.phaseCorrelate(reference.copy(), total, window)
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="sim seconds per run (default 120)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--hour", type=float, default=7.0, help="local start hour (default 7, the morning peak)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    profile = load_profile("dien_bien")
    scenario: Scenario = clean_scenario(args.seconds, START + dt.timedelta(hours=args.hour))
    settings = CameraSettings(link_drops=False)
    feed = CameraFeed(profile, scenario, SEED, settings=settings)

    began = time.process_time()
    clips = prerender(feed)
    render = time.process_time() - began
    frame_count = sum(len(clip) for own in clips for clip in own)
    feed_runs, bare_runs = [], []
    for _ in range(args.repeat):
        feed_runs.append(run_feed(feed))
        bare_runs.append(bare_analysis(clips, settings.analyzer, (settings.width, settings.height)))

    total, frames, first_at, first_frames = min(feed_runs)
    steady = (total - first_at) / (frames - first_frames)
    bare = min(bare_runs) / frame_count
    cameras = len(feed.cameras)
    print(f"cameras {cameras}, {settings.width}x{settings.height}, {frames} frames per run, best of {args.repeat}")
    print(f"feed (render + analysis + messages): {frames / total:8.1f} frames/s overall, {1 / steady:8.1f} steady")
    print(f"  setup (draw {cameras} scenes) + first clip: {first_at * 1000:.0f} ms")
    print(f"  runs: {', '.join(f'{f / t:.0f}' for t, f, _, _ in feed_runs)} frames/s")
    print(f"bare cv2 analysis loop:               {1 / bare:8.1f} frames/s")
    print(f"  runs: {', '.join(f'{frame_count / b:.0f}' for b in bare_runs)} frames/s")
    print(f"rendering alone (incl. drawing the scenes): {frame_count / render:8.1f} frames/s")
    ratio = steady / bare
    print(f"ratio overall (incl. setup): {(total / frames) / bare:.2f}")
    realtime = (1 / steady) / (cameras * settings.fps * settings.frames_per_clip / settings.interval_seconds)
    needed = cameras * settings.fps
    print(f"ratio feed / bare (time per frame): {ratio:.2f}  (goal <= 1.5)")
    print(
        f"real-time headroom at {cameras} cameras x {settings.fps:g} fps = {needed:g} frames/s: "
        f"{1 / steady / needed:.2f}x (goal >= 1); sim speed-up at one clip per interval: {realtime:.1f}x"
    )
    print(
        f"median feed {statistics.median(f / t for t, f, _, _ in feed_runs):.0f} frames/s, "
        f"median bare {statistics.median(frame_count / b for b in bare_runs):.0f} frames/s"
    )


if __name__ == "__main__":
    main()
