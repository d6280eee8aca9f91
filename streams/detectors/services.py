"""Detectors of the public-service feed (``ioc.services.events``).

- :class:`QueueDetector`: per office, ``services.counter_closure`` (staffing
  fell: no counter open during office hours, or far fewer than usual while
  people wait; critical) and ``services.queue`` (demand rose: tickets far
  above the learned rate for the hour with counters as usual; warning).
- :class:`PortalOutageDetector`: ``services.portal_outage``, no online
  submission where several were due (critical).
- :class:`BacklogDetector`: ``services.backlog``, per office and for the
  portal, completions collapsing or too many late against the profile's
  on-time target (warning).

They read nothing but the contract and the province profile (offices,
volumes, calendar) as prior knowledge, so they judge any producer's events.
Each keeps plain-dict state per entity id (the topic's key), drops replayed
messages by event id, and reasons in event time only. Evidence:
``observed`` / ``baseline`` / ``threshold`` are counters open / usual / fires at
or below (closure); tickets in the window / expected / fires at or above
(surge); submissions during the silence / expected / expected count whose
silence is as improbable as the level (outage); completions / expected /
fires at or below, or on-time share / learned share / target (backlog).
"""

from __future__ import annotations

from iocsim.sim.profiles import Profile
from iocsim.streams.detector import Detector
from iocsim.streams.detectors.service_backlog import BACKLOG_RULE, BacklogDetector
from iocsim.streams.detectors.service_portal import OUTAGE_RULE, PortalOutageDetector
from iocsim.streams.detectors.service_queue import CLOSURE_RULE, SURGE_RULE, QueueDetector
from iocsim.streams.detectors.service_settings import ServiceDetectorSettings

__all__ = [
    "BACKLOG_RULE",
    "CLOSURE_RULE",
    "OUTAGE_RULE",
    "SURGE_RULE",
    "BacklogDetector",
    "PortalOutageDetector",
    "QueueDetector",
    "ServiceDetectorSettings",
    "detectors_for",
    "service_detectors",
]


def service_detectors(
    profile: Profile, settings: ServiceDetectorSettings | None = None
) -> tuple[QueueDetector, PortalOutageDetector, BacklogDetector]:
    """The three public-service detectors with shared settings."""
    settings = settings or ServiceDetectorSettings()
    return QueueDetector(profile, settings), PortalOutageDetector(profile, settings), BacklogDetector(profile, settings)


def detectors_for(profile: Profile) -> list[Detector]:
    """What a worker runs on ``ioc.services.events`` by default."""
    return list(service_detectors(profile))
