"""The camera feed: every camera's clip of each interval, analysed at the edge, as CameraObservation.

Each interval (10 sim-seconds by default) a camera films a short clip (5
frames at 5 fps), its edge analyser turns it into metrics, and one
observation goes to ``ioc.camera.observations``. A camera whose link is down
(bursty drops at the profile's ``availability``) or that is offline (an
injected anomaly) sends nothing: its frames never reach the analyser, which
sits at the district network node. Scenes, analysers and links keep their
state from interval to interval; each call of ``events()`` replays the run
from the start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from iocsim.contract import CAMERA_OBSERVATIONS, CameraObservation
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.cameras.analytics import AnalyzerSettings, EdgeAnalyzer
from iocsim.sim.cameras.layouts import FrameGeometry
from iocsim.sim.cameras.link import Link
from iocsim.sim.cameras.scene import Scene, SceneAssets, conditions_at
from iocsim.sim.cameras.sensor import tamper_video, turn_shift
from iocsim.sim.cameras.video import VideoSource
from iocsim.sim.errors import SimError, VideoError
from iocsim.sim.profiles import Camera, Profile
from iocsim.sim.scenario import CAMERA_KINDS, Scenario
from iocsim.sim.seeding import entity_rng


@dataclass(frozen=True)
class CameraSettings:
    """``camera_ids`` selects a subset by id (None: every camera of the profile)."""

    interval_seconds: float = 10.0
    frames_per_clip: int = 5
    fps: float = 5.0
    width: int = 160
    height: int = 120
    camera_ids: tuple[str, ...] | None = None
    link_drops: bool = True
    mean_outage_seconds: float = 120.0
    analyzer: AnalyzerSettings = field(default_factory=AnalyzerSettings)

    def check(self) -> None:
        if self.interval_seconds <= 0:
            raise SimError("cameras.interval_seconds", "must be positive")
        if self.frames_per_clip < 1:
            raise SimError("cameras.frames_per_clip", "must be at least 1")
        if self.fps <= 0:
            raise SimError("cameras.fps", "must be positive")
        if (self.frames_per_clip - 1) / self.fps >= self.interval_seconds:
            raise SimError("cameras.frames_per_clip", "the clip must fit inside one interval")
        if self.width < 32 or self.height < 24:
            raise SimError("cameras.width", "frames must be at least 32×24")
        if self.mean_outage_seconds <= 0:
            raise SimError("cameras.mean_outage_seconds", "must be positive")


class CameraFeed:
    """Feed of CameraObservation for a profile's cameras (see module docstring)."""

    topic = CAMERA_OBSERVATIONS

    def __init__(
        self,
        profile: Profile,
        scenario: Scenario,
        seed: int,
        settings: CameraSettings | None = None,
        video_sources: Mapping[str, Path | str | VideoSource] | None = None,
    ) -> None:
        self.profile = profile
        self.scenario = scenario
        self.seed = seed
        self.settings = settings or CameraSettings()
        self.settings.check()
        if self.settings.camera_ids is None:
            self.cameras = list(profile.cameras)
        else:
            unknown = [c for c in self.settings.camera_ids if c not in profile.camera_by_id]
            if unknown:
                raise SimError("cameras.camera_ids", f"unknown camera ids {unknown} in profile {profile.id}")
            self.cameras = [profile.camera_by_id[c] for c in dict.fromkeys(self.settings.camera_ids)]
        self.videos: dict[str, VideoSource] = {}
        size = (self.settings.width, self.settings.height)
        for camera_id, source in (video_sources or {}).items():
            if camera_id not in profile.camera_by_id:
                raise VideoError("--video", f"unknown camera {camera_id!r} in profile {profile.id}")
            if isinstance(source, VideoSource):
                self.videos[camera_id] = source
            else:
                self.videos[camera_id] = VideoSource(source, size=size, fps=self.settings.fps)

    def events(self) -> Iterator[CameraObservation]:
        """Observations in event-time order; cameras of one interval share a time, in camera order."""
        cv2.setNumThreads(1)  # one core per feed: OpenCV's pool would only contend with the rest of the run
        s = self.settings
        assets = SceneAssets.build(
            FrameGeometry(s.width, s.height), entity_rng(self.seed, "camera-noise"), s.frames_per_clip
        )
        calendar = ProvinceCalendar(self.profile.calendar)
        states = [_CameraState(camera, self, assets, calendar) for camera in self.cameras]
        index = 0
        t = self.scenario.start
        while t < self.scenario.end:
            for state in states:
                observation = state.observe(index, t)
                if observation is not None:
                    yield observation
            index += 1
            t = self.scenario.start + index * s.interval_seconds


def camera_link(camera: Camera, seed: int, settings: CameraSettings) -> Link | None:
    """The link a camera's observations come over in a run of ``seed`` (None without link drops).

    Its drops are the camera's own random stream, apart from its scene's, so
    that they can be replayed without rendering a frame.
    """
    if not settings.link_drops:
        return None
    _, link_rng = _camera_streams(seed, camera)
    return Link(camera.availability, max(1.0, settings.mean_outage_seconds / settings.interval_seconds), link_rng)


def _camera_streams(seed: int, camera: Camera) -> tuple[np.random.Generator, np.random.Generator]:
    """The camera's two random streams: its scene's and its link's."""
    scene_rng, link_rng = entity_rng(seed, "camera", camera.id).spawn(2)
    return scene_rng, link_rng


class _CameraState:
    """What one camera carries from interval to interval."""

    def __init__(self, camera: Camera, feed: CameraFeed, assets: SceneAssets, calendar: ProvinceCalendar) -> None:
        s = feed.settings
        self.camera = camera
        self.settings = s
        self.scenario = feed.scenario
        self.calendar = calendar
        self.geometry = assets.geometry
        self.anomalies = feed.scenario.anomalies_of(camera.id, CAMERA_KINDS)
        scene_rng, _ = _camera_streams(feed.seed, camera)
        self.video = feed.videos.get(camera.id)
        self.scene = None if self.video else Scene(camera.scene, assets, scene_rng)
        reference = self.scene.reference() if self.scene else None
        self.analyzer = EdgeAnalyzer(s.analyzer, reference)
        self.link = camera_link(camera, feed.seed, s)
        self.offline = tuple(a for a in self.anomalies if a.kind == "camera_offline")

    def observe(self, index: int, t: float) -> CameraObservation | None:
        delivered = self.link.step() if self.link else True
        if not delivered or any(a.active(t) for a in self.offline):
            return None
        s = self.settings
        cond = conditions_at(self.scenario, self.anomalies, self.calendar, self.camera.district, t)
        times = [t + i / s.fps for i in range(s.frames_per_clip)]
        if self.scene is not None:
            frames = self.scene.render(t, times, t + s.interval_seconds, cond)
        else:
            assert self.video is not None
            frames = np.stack(self.video.clip(t - self.scenario.start, len(times)))
            shift = turn_shift(self.geometry, cond.turn_px) if cond.turned else None
            tamper_video(frames, cond.covered, shift, cond.defocus_sigma)
        snapshot = f"snapshot://{self.camera.id}/{int(t)}"
        return CameraObservation(
            event_id=f"cam-{self.camera.id}-{index}",
            entity_id=self.camera.id,
            district=self.camera.district,
            commune=self.camera.commune,
            event_time=round(t, 3),
            payload=self.analyzer.analyse(frames, snapshot),
        )
