"""One simulation: the chosen feeds of a profile and scenario, merged in event-time order."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from iocsim.contract import Envelope
from iocsim.sim.cameras.feed import CameraFeed, CameraSettings
from iocsim.sim.errors import SimError
from iocsim.sim.feed import Feed
from iocsim.sim.incidents import IncidentFeed
from iocsim.sim.profiles import Profile
from iocsim.sim.scenario import Scenario, check_against
from iocsim.sim.services import ServiceFeed
from iocsim.sim.truth import TruthFeed

FEEDS = ("cameras", "incidents", "services")


@dataclass(frozen=True)
class SimulationSpec:
    """What to simulate; ``feeds`` selects among FEEDS (ground truth is always included)."""

    profile: Profile
    scenario: Scenario
    seed: int
    feeds: tuple[str, ...] = FEEDS
    cameras: CameraSettings = field(default_factory=CameraSettings)
    videos: Mapping[str, Path] = field(default_factory=dict)


def parse_feeds(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in FEEDS]
    if unknown or not names:
        raise SimError("--feeds", f"unknown feed(s) {unknown}; choose from {', '.join(FEEDS)}")
    return names


def build_feeds(spec: SimulationSpec) -> list[Feed]:
    check_against(spec.scenario, spec.profile)
    for camera_id in spec.videos:
        if camera_id not in spec.profile.camera_by_id:
            raise SimError("--video", f"unknown camera {camera_id!r} in profile {spec.profile.id}")
    feeds: list[Feed] = [truth_feed(spec)]
    if "cameras" in spec.feeds:
        feeds.append(
            CameraFeed(spec.profile, spec.scenario, spec.seed, settings=spec.cameras, video_sources=spec.videos)
        )
    if "incidents" in spec.feeds:
        feeds.append(IncidentFeed(spec.profile, spec.scenario, spec.seed))
    if "services" in spec.feeds:
        feeds.append(ServiceFeed(spec.profile, spec.scenario, spec.seed))
    return feeds


def truth_feed(spec: SimulationSpec) -> TruthFeed:
    return TruthFeed(spec.profile, spec.scenario, spec.feeds, spec.cameras.camera_ids)


def events(spec: SimulationSpec) -> Iterator[Envelope]:
    """Every message of the run, in event-time order (ties keep feed order: truth first)."""
    return heapq.merge(*(feed.events() for feed in build_feeds(spec)), key=lambda m: m.event_time)
