"""Detection quality on randomized scenarios: precision, recall, F1 and time to detect per anomaly kind.

Every seed draws its own scenarios: which camera, commune, district or office
an anomaly hits, when (in hours where the anomaly can be seen at all, see
below), for how long and how strong. The simulated events go straight into
the worker's default detectors (``iocsim.streams.registry``) and the alert
lifecycle with the worker's timings, batch by batch with a tick after every
batch, as a worker does; no broker. Each case's alerts are scored against
its ground truth with :mod:`iocsim.consumers.scoring`, as ``iocsim score``
does, and the scores added up (cases fall on random days, and two of them
must not match each other's alerts).

Keep tuning and evaluation apart: tune on ``--seeds 1-20``, report on the
default ``--seeds 1001-1030``. Clean runs (the same kind of scenarios without
anomalies) give the false-alarm rate per entity-day, and a clean night of
every camera (20 h to 6:30) the rate per camera-night.

Field-report and service detectors learn rates over days; by default they
meet each case cold, as a worker started that Monday would. ``--history-days
28`` puts four clean weeks before every such case (about ten times the CPU),
to judge them as a worker that has run for a month: the learned weekday and
hour rates are then unbiased, and the weeks are more clean time to raise
false alarms in. For queue surges and portal outages the report also says how
many an oracle knowing the simulated rates could call at all, and how many
of those were detected. Camera cases likewise start an hour before the
anomaly; ``--camera-history-hours 24`` puts a day of the camera's own clean
feed before each (about half a minute of CPU per case), as a worker that
has run for a day meets them: the crowd rule's sustained tier judges only
local hours the camera has seen. ``--camera-kinds crowd`` runs the cases of
some kinds only. Alerts raised in any history count as false alarms.

Where anomalies are placed (an anomaly nobody could see is not a detector's miss):
- cameras: each anomaly on its own camera, simulated from an hour before it
  (the detector's warm-up) to 15 minutes after; tamper and offline at any
  hour; offline for 25 to 60 minutes (the links drop for minutes many times
  a day, so a shorter outage cannot be told from an ordinary drop); a crowd
  where and when the scene normally holds a few people at least (by the
  simulator's activity curves); a night intrusion between 23 h and 2 h, at an
  hour the scene normally holds under half a road user (a square empties
  after its evening exercise only towards midnight).
- field reports: three days; bursts and surges start in the waking day
  (6–21 h), when people report.
- public services: Monday to Thursday; closures and surges start in
  office hours of a workday (at any office, so a surge at a small one late
  in a session may bring no ticket more: the oracle line below counts
  those), portal outages between 8 and 20 h (at night almost no
  submission is due, so an outage is invisible for hours), a backlog over
  one to two days.
- correlated incidents (``--feeds correlation``): a burst of reports in a
  commune and a crowd on a camera of its district, both 30 to 60 minutes
  from the same start; camera and hour drawn as for a crowd, the feeds
  simulated together from an hour before. Only the correlated alert is
  scored in the table; the line below it says how many of the parts their
  own rules found (the correlation can find no more than that).

Camera cases simulate one camera, so the clock the detectors are ticked at is
the batch time, as the other cameras would move a real worker's watermark.

Ordinary link drops are the offline rule's only source of false alarms, and
a handful of camera-days cannot show a rate of one a month over the
province. ``--clean-link-days`` (default 10) runs every camera of the profile
for that many days with its link alone (the simulator's drops, at the
camera's availability, from its own seed) and a steady view, which costs no
rendering: about a second of CPU per camera and ten days.

``--clean-camera-days N`` runs every camera through N clean days in a row,
started cold at midnight: the false alarms an operator's wall shows, for
every scene type and hour. The first day, when each camera meets each hour
for the first time, is counted apart from the days after.

    python benchmarks/eval_detection.py                     # evaluation seeds
    python benchmarks/eval_detection.py --seeds 1-20        # tuning seeds
    python benchmarks/eval_detection.py --feeds services --json out.json
    python benchmarks/eval_detection.py --feeds services --history-days 28
    python benchmarks/eval_detection.py --feeds cameras --camera-kinds crowd --camera-history-hours 24
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import bisect
import dataclasses
import datetime as dt
import hashlib
import json
import math
import pickle
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from prometheus_client import CollectorRegistry

from iocsim.consumers.scoring import KindScore, Score, merge, render_text, score
from iocsim.contract import (
    ALERTS,
    INCIDENT_CATEGORIES,
    Alert,
    CameraMetrics,
    CameraObservation,
    Envelope,
    ServiceEvent,
    TruthEvent,
    encode,
    encode_key,
)
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.cameras.activity import expected_counts
from iocsim.sim.cameras.feed import CameraSettings, camera_link
from iocsim.sim.dossiers import WorkingClock
from iocsim.sim.profiles import Camera, Profile, load_profile
from iocsim.sim.scenario import CORRELATED, PORTAL, Anomaly, Scenario, WeatherSpell, with_parts
from iocsim.sim.services import ServiceFeed
from iocsim.sim.simulation import SimulationSpec, events
from iocsim.streams.detector import Detector
from iocsim.streams.detectors.service_settings import ServiceDetectorSettings
from iocsim.streams.detectors.service_stats import nb_sf
from iocsim.streams.feed_metrics import FeedMetrics
from iocsim.streams.lifecycle import AlertLifecycle
from iocsim.streams.metrics import WorkerMetrics
from iocsim.streams.pipeline import TopicPipeline
from iocsim.streams.registry import default_detectors, default_lifecycle_settings
from iocsim.streams.state import DictState, partition_of

ZONE = dt.timezone(dt.timedelta(hours=7))
T = TypeVar("T")

FEED_TOPICS = {
    "cameras": "ioc.camera.observations",
    "incidents": "ioc.incidents.reports",
    "services": "ioc.services.events",
}
CORRELATION = "correlation"
"""A pseudo-feed: cases of correlated incidents, simulated on the cameras and incidents feeds together."""
FEEDS = (*FEED_TOPICS, CORRELATION)
CAMERA_KINDS = ("camera_offline", "camera_covered", "camera_defocused", "camera_turned", "crowd", "night_intrusion")
CAMERA_WARMUP = 3600.0
CAMERA_TAIL = 900.0
HISTORY_DAYS = 0.0
ORACLE_KINDS = ("queue_surge", "portal_outage")
NIGHTS = "camera nights"
LINKS = "camera links"
FLEET_FIRST = "fleet, day 1"
FLEET_LATER = "fleet, later"
UNITS = {
    "cameras": "camera-day",
    NIGHTS: "camera-night",
    LINKS: "camera-day",
    FLEET_FIRST: "camera-day",
    FLEET_LATER: "camera-day",
    "incidents": "commune-day",
    "services": "office-day",
}
NIGHT_HOURS = (20.0, 30.5)
BATCH_SECONDS = {"cameras": 10.0, "incidents": 60.0, "services": 60.0}
GOALS = {"cameras": 60.0, "queues": 60.0, "incidents": 900.0}
"""Median TTD goals in seconds, met by the median in whole seconds as reported (clip times carry float noise)."""
GOAL_OF_KIND = {
    **dict.fromkeys(CAMERA_KINDS, "cameras"),
    "counter_closure": "queues",
    "queue_surge": "queues",
    "incident_burst": "incidents",
    "category_surge": "incidents",
    CORRELATED: "incidents",
}


@dataclass(frozen=True)
class Case:
    """One simulation run: a feed, a scenario, a seed (and for cameras, which ones)."""

    feed: str
    scenario: Scenario
    seed: int
    cameras: tuple[str, ...] | None = None
    clean: bool = False
    night: bool = False
    fleet: bool = False

    @property
    def tally(self) -> str:
        """Which line of the clean runs' report the case counts in."""
        return NIGHTS if self.night else self.feed

    def entity_days(self, profile: Profile) -> float:
        """Entity-days of the case, or for a clean night, camera-nights."""
        days = self.scenario.duration / 86400.0
        if self.night:
            return float(len(self.cameras or ()))
        if self.feed in ("cameras", CORRELATION):
            return days * len(self.cameras or ())
        if self.feed == "incidents":
            return days * len(profile.commune_by_id)
        return days * (len(profile.offices) + 1)


@dataclass
class Outcome:
    truths: list[TruthEvent] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    seconds: float = 0.0
    visible: list[str] = field(default_factory=list)
    """Event ids of the truths an oracle that knows the simulated rates could call (see ``visible_truths``)."""


# --- scenario drawing ----------------------------------------------------------------


def _day(rng: random.Random, weekday: int | None = None) -> dt.datetime:
    """Midnight of a random day of 2025 (on ``weekday`` if given)."""
    day = dt.date(2025, 1, 6) + dt.timedelta(days=rng.randrange(0, 350))
    if weekday is not None:
        day -= dt.timedelta(days=day.weekday() - weekday)
    return dt.datetime.combine(day, dt.time(), ZONE)


def _weather(rng: random.Random, districts: Sequence[str], start: float, end: float) -> tuple[WeatherSpell, ...]:
    spells = []
    for district in districts:
        if rng.random() < 0.3:
            condition: Literal["rain", "fog"] = "rain" if rng.random() < 0.5 else "fog"
            at = rng.uniform(start, end)
            spells.append(
                WeatherSpell(
                    condition, at, at + rng.uniform(1800, 4 * 3600), frozenset({district}), rng.uniform(0.4, 1)
                )
            )
    return tuple(spells)


def camera_cases(profile: Profile, seed: int) -> list[Case]:
    rng = random.Random(f"cameras-{seed}")
    calendar = ProvinceCalendar(profile.calendar)
    cameras = rng.sample(profile.cameras, len(CAMERA_KINDS))
    cases = []
    for kind, camera in zip(CAMERA_KINDS, cameras, strict=True):
        day = _day(rng)
        if kind == "crowd":
            camera, hour = _busy(rng, profile, calendar, day)
        elif kind == "night_intrusion":
            hour = _quiet_hour(rng, camera, calendar, day)
        else:
            hour = rng.uniform(0.0, 24.0)
        start = day.timestamp() + hour * 3600.0
        short, usual = rng.uniform(600, 1200), rng.uniform(900, 2400)
        length = {"night_intrusion": short, "camera_offline": 1500 + (usual - 900) * 1.4}.get(kind, usual)
        params: dict[str, float | str] = {"multiplier": round(rng.uniform(4.0, 8.0), 1)} if kind == "crowd" else {}
        anomaly = Anomaly(kind, camera.id, start, start + length, params)
        t0, t1 = start - CAMERA_WARMUP, start + length + CAMERA_TAIL
        scenario = Scenario(
            f"eval-{kind}-{seed}", t0, t1, anomalies=(anomaly,), weather_spells=_weather(rng, [camera.district], t0, t1)
        )
        cases.append(Case("cameras", scenario, seed, (camera.id,)))
    return cases


def _quiet_hour(rng: random.Random, camera: Camera, calendar: ProvinceCalendar, day: dt.datetime) -> float:
    """An hour from 23 h to 2 h when the camera's scene normally holds under half a road user."""
    while True:
        hour = rng.uniform(23.0, 26.0)
        date = (day + dt.timedelta(hours=hour)).date()
        if sum(expected_counts(camera.scene, hour % 24.0, calendar.is_workday(date)).values()) < 0.5:
            return hour


def _busy(rng: random.Random, profile: Profile, calendar: ProvinceCalendar, day: dt.datetime) -> tuple[Camera, float]:
    """A camera and hour where the scene normally holds at least three people and vehicles."""
    workday = calendar.is_workday(day.date())
    while True:
        camera = rng.choice(profile.cameras)
        hour = rng.uniform(6.0, 21.0)
        if sum(expected_counts(camera.scene, hour, workday).values()) >= 3.0:
            return camera, hour


def correlation_case(profile: Profile, seed: int) -> Case:
    """A correlated incident: a burst of reports in a commune and a crowd on a camera of its district.

    The camera and hour are drawn as for a crowd case (where a crowd can be
    seen), the commune from the camera's district, the burst as in the field
    report cases; both last 30 to 60 minutes. The feeds start an hour before
    it, as camera cases do.
    """
    rng = random.Random(f"correlation-{seed}")
    calendar = ProvinceCalendar(profile.calendar)
    day = _day(rng)
    camera, hour = _busy(rng, profile, calendar, day)
    communes = sorted(c for c, d in profile.district_of_commune.items() if d == camera.district)
    start = day.timestamp() + hour * 3600.0
    params: dict[str, float | str] = {
        "commune": rng.choice(communes),
        "camera": camera.id,
        "category": rng.choice(INCIDENT_CATEGORIES),
        "min_per_hour": round(rng.uniform(8.0, 14.0), 1),
        "multiplier": round(rng.uniform(4.0, 8.0), 1),
    }
    anomaly = Anomaly(CORRELATED, camera.district, start, start + rng.uniform(1800, 3600), params)
    t0, t1 = start - CAMERA_WARMUP, anomaly.end + CAMERA_TAIL
    weather = _weather(rng, [camera.district], t0, t1)
    scenario = Scenario(f"eval-{CORRELATED}-{seed}", t0, t1, anomalies=with_parts(anomaly), weather_spells=weather)
    return Case(CORRELATION, scenario, seed, (camera.id,))


def clean_camera_cases(profile: Profile, seed: int, cameras: int) -> list[Case]:
    rng = random.Random(f"clean-cameras-{seed}")
    chosen = rng.sample(profile.cameras, cameras)
    day = _day(rng).timestamp()
    weather = _weather(rng, sorted({c.district for c in chosen}), day, day + 86400.0)
    scenario = Scenario(f"clean-cameras-{seed}", day, day + 86400.0, weather_spells=weather)
    return [Case("cameras", scenario, seed, tuple(c.id for c in chosen), clean=True)]


def clean_camera_fleet(profile: Profile, seed: int, days: int, groups: int = 4) -> list[Case]:
    """``days`` clean days in a row of every camera, from midnight, started cold, in a few groups.

    What an operator's wall meets: every scene type through every hour, with
    the detectors learning as they go. The weather is drawn day by day.
    """
    rng = random.Random(f"clean-camera-fleet-{seed}")
    day = _day(rng).timestamp()
    cases = []
    for g, group in enumerate(_camera_groups(profile, groups)):
        districts = sorted({profile.camera_by_id[i].district for i in group})
        weather = [s for d in range(days) for s in _weather(rng, districts, day + d * 86400.0, day + (d + 1) * 86400.0)]
        scenario = Scenario(f"clean-camera-fleet-{seed}-{g}", day, day + days * 86400.0, weather_spells=tuple(weather))
        cases.append(Case("cameras", scenario, seed, group, clean=True, fleet=True))
    return cases


def clean_tallies(case: Case, outcome: Outcome, profile: Profile) -> list[tuple[str, float, list[Alert]]]:
    """The clean-run lines a clean case counts in: (tally, entity-days, its alerts there).

    A fleet's first day, when every camera starts cold, is counted apart
    from the days after, when each has seen every hour once.
    """
    if not case.fleet:
        return [(case.tally, case.entity_days(profile), outcome.alerts)]
    second_day = case.scenario.start + 86400.0
    cameras = float(len(case.cameras or ()))
    tallies = [(FLEET_FIRST, cameras, [a for a in outcome.alerts if a.event_time < second_day])]
    later_days = case.scenario.duration / 86400.0 - 1.0
    if later_days > 0:
        tallies.append((FLEET_LATER, cameras * later_days, [a for a in outcome.alerts if a.event_time >= second_day]))
    return tallies


def _camera_groups(profile: Profile, groups: int) -> list[tuple[str, ...]]:
    ids = [c.id for c in profile.cameras]
    return [tuple(ids[g::groups]) for g in range(groups)]


def clean_camera_nights(profile: Profile, seed: int, groups: int = 4) -> list[Case]:
    """One clean night (20 h to 6:30) of every camera, in a few groups that can run side by side.

    Night intrusions are rare and every camera watches every night: the
    false alarms an operator meets are per camera-night, over all scene
    types, and a few camera-days cannot show a rate of a few in a hundred.
    """
    rng = random.Random(f"clean-camera-nights-{seed}")
    day = _day(rng).timestamp()
    t0, t1 = day + NIGHT_HOURS[0] * 3600.0, day + NIGHT_HOURS[1] * 3600.0
    cases = []
    for g, group in enumerate(_camera_groups(profile, groups)):
        districts = sorted({profile.camera_by_id[i].district for i in group})
        scenario = Scenario(f"clean-camera-nights-{seed}-{g}", t0, t1, weather_spells=_weather(rng, districts, t0, t1))
        cases.append(Case("cameras", scenario, seed, group, clean=True, night=True))
    return cases


def link_alerts(camera_id: str, seed: int, days: float) -> list[Alert]:
    """The alerts of a camera whose only trouble is its link: the simulator's drops and a steady view.

    The link is the one the camera feed would give the camera for ``seed``;
    observations go to the default camera detector one interval at a time.
    """
    profile = load_profile()
    camera = profile.camera_by_id[camera_id]
    settings = CameraSettings()
    link = camera_link(camera, seed, settings)
    assert link is not None
    view = CameraMetrics(
        frames=settings.frames_per_clip,
        motion_ratio=0.004,
        brightness=120.0,
        sharpness=2000.0,
        displacement_px=0.05,
        displacement_response=0.9,
        blobs=3.0,
    )
    detectors = [d for d in default_detectors(profile) if d.topic == FEED_TOPICS["cameras"]]
    lifecycle = AlertLifecycle(default_lifecycle_settings())
    alerts: list[Alert] = []
    start = _day(random.Random(f"links-{seed}")).timestamp()
    for index in range(round(days * 86400.0 / settings.interval_seconds)):
        t = start + index * settings.interval_seconds
        batch: list[Envelope] = []
        if link.step():
            batch.append(
                CameraObservation(
                    event_id=f"cam-{camera_id}-{index}",
                    entity_id=camera_id,
                    district=camera.district,
                    commune=camera.commune,
                    event_time=t,
                    payload=view,
                )
            )
        for detector in detectors:
            signals = (detector.update(batch) if batch else []) + detector.tick(t)
            if signals:
                alerts.extend(lifecycle.process(signals))
        alerts.extend(lifecycle.expire(t))
    return alerts


def incident_case(profile: Profile, seed: int, clean: bool = False) -> Case:
    rng = random.Random(f"incidents-{seed}")
    t0 = _day(rng).timestamp()
    communes = sorted(profile.commune_by_id)
    anomalies = []
    for _ in range(2):
        start = t0 + 86400.0 * rng.randrange(1, 3) + 3600.0 * rng.uniform(6.0, 20.0)
        params: dict[str, float | str] = {
            "category": rng.choice(INCIDENT_CATEGORIES),
            "min_per_hour": round(rng.uniform(8.0, 14.0), 1),
        }
        anomalies.append(
            Anomaly("incident_burst", rng.choice(communes), start, start + rng.uniform(2700, 7200), params)
        )
    start = t0 + 86400.0 * rng.randrange(1, 3) + 3600.0 * rng.uniform(6.0, 19.0)
    params = {
        "category": rng.choice(INCIDENT_CATEGORIES),
        "multiplier": round(rng.uniform(4.0, 8.0), 1),
        "min_per_hour": round(rng.uniform(8.0, 14.0), 1),
    }
    district = rng.choice(sorted(profile.district_by_id))
    anomalies.append(Anomaly("category_surge", district, start, start + rng.uniform(3600, 3 * 3600), params))
    rain = _weather(rng, sorted(profile.district_by_id), t0, t0 + 3 * 86400.0)
    name = f"{'clean-' if clean else ''}eval-incidents-{seed}"
    return Case(
        "incidents",
        Scenario(name, t0, t0 + 3 * 86400.0, weather_spells=rain, anomalies=() if clean else tuple(anomalies)),
        seed,
        clean=clean,
    )


def service_case(profile: Profile, seed: int, clean: bool = False) -> Case:
    rng = random.Random(f"services-{seed}")
    calendar = ProvinceCalendar(profile.calendar)
    monday = _day(rng, weekday=0)
    while not all(calendar.office_sessions((monday + dt.timedelta(days=d)).date()) for d in range(1, 4)):
        monday = _day(rng, weekday=0)  # a holiday week: office hours are what these anomalies need
    t0 = monday.timestamp()
    offices = rng.sample([o.id for o in profile.offices], 3)

    def office_time(length: float) -> float:
        while True:
            day = (monday + dt.timedelta(days=rng.randrange(1, 4))).date()
            sessions = calendar.office_sessions(day)
            if sessions:
                open_at, close_at = rng.choice(sessions)
                if close_at - open_at > 1800:
                    return rng.uniform(open_at, max(open_at, close_at - min(length, 3600.0)))

    anomalies = []
    length = rng.uniform(1800, 5400)
    at = office_time(length)
    anomalies.append(Anomaly("counter_closure", offices[0], at, at + length, {"counters_open": 0}))
    length = rng.uniform(2700, 7200)
    at = office_time(length)
    anomalies.append(Anomaly("queue_surge", offices[1], at, at + length, {"multiplier": round(rng.uniform(3, 5), 1)}))
    at = t0 + 86400.0 * rng.randrange(1, 4) + 3600.0 * rng.uniform(8.0, 19.0)
    anomalies.append(Anomaly("portal_outage", PORTAL, at, at + rng.uniform(1800, 7200)))
    at = t0 + 86400.0 + 3600.0 * rng.uniform(0, 12)
    target = rng.choice([offices[2], PORTAL])
    anomalies.append(
        Anomaly(
            "processing_backlog",
            target,
            at,
            at + rng.uniform(86400, 2 * 86400),
            {"slowdown": round(rng.uniform(3, 5), 1)},
        )
    )
    name = f"{'clean-' if clean else ''}eval-services-{seed}"
    return Case(
        "services", Scenario(name, t0, t0 + 4 * 86400.0, anomalies=() if clean else tuple(anomalies)), seed, clean=clean
    )


# --- running -------------------------------------------------------------------------


def _sim_fingerprint() -> str:
    """A hash of the simulator's sources, so a cache never serves events of an older model."""
    import iocsim.sim as sim_package

    digest = hashlib.blake2b(digest_size=8)
    root = Path(sim_package.__file__).parent
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".json", ".npz") and path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def simulate(case: Case, profile: Profile, cache: Path | None) -> list[Envelope]:
    feeds = ("incidents", "cameras") if case.feed == CORRELATION else (case.feed,)
    spec = SimulationSpec(
        profile, case.scenario, case.seed, feeds=feeds, cameras=CameraSettings(camera_ids=case.cameras)
    )
    if cache is None:
        return list(events(spec))
    key = hashlib.blake2b(repr((case.feed, case.scenario, case.seed, case.cameras)).encode(), digest_size=12)
    path = cache / f"{_sim_fingerprint()}-{key.hexdigest()}.pickle"
    if path.exists():
        loaded: list[Envelope] = pickle.loads(path.read_bytes())
        return loaded
    produced = list(events(spec))
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(produced))
    return produced


def detect(feed: str, messages: Sequence[Envelope], profile: Profile, end: float, catch_up: int = 0) -> list[Alert]:
    """The alert transitions the worker's default detectors give, batch by batch with a tick after each.

    For correlated incidents, the field-report and camera detectors' alerts
    then go through the correlation detector, as a worker routes them. With
    ``catch_up`` partitions, the feed is read as a worker catching up on it
    would (:func:`_catch_up`).
    """
    if catch_up and feed != CORRELATION:
        return _catch_up(FEED_TOPICS[feed], messages, profile, catch_up)
    if feed == CORRELATION:
        reports = [m for m in messages if not isinstance(m, CameraObservation)]
        observations = [m for m in messages if isinstance(m, CameraObservation)]
        sources = detect("incidents", reports, profile, end) + detect("cameras", observations, profile, end)
        sources.sort(key=lambda a: a.event_time)
        return sources + _run_detectors(ALERTS, BATCH_SECONDS["cameras"], sources, profile, end)
    return _run_detectors(FEED_TOPICS[feed], BATCH_SECONDS[feed], messages, profile, end)


def _run_detectors(topic: str, step: float, messages: Sequence[Envelope], profile: Profile, end: float) -> list[Alert]:
    detectors: list[Detector] = [d for d in default_detectors(profile) if d.topic == topic]
    lifecycle = AlertLifecycle(default_lifecycle_settings())
    alerts: list[Alert] = []
    i, n = 0, len(messages)
    t = messages[0].event_time if messages else end
    while t < end + step:
        t += step
        j = i
        while j < n and messages[j].event_time < t:
            j += 1
        batch = messages[i:j]
        i = j
        for detector in detectors:
            signals = detector.update(batch) if batch else []
            signals += detector.tick(t)
            if signals:
                alerts.extend(lifecycle.process(signals))
        alerts.extend(lifecycle.expire(t))
    return alerts


@dataclass(frozen=True)
class _Record:
    offset: int
    key: bytes
    value: bytes


CATCH_UP_BATCH = 2000
"""Records per fetch of a worker catching up (the worker's ``batch_size``)."""


def _catch_up(topic: str, messages: Sequence[Envelope], profile: Profile, partitions: int) -> list[Alert]:
    """The alerts of a worker that meets the whole feed as a backlog, through the worker's own pipeline.

    Messages are keyed as the producer keys them and read in fetches of
    ``CATCH_UP_BATCH`` records of one partition, with the worker's tick after
    each (holding back to the partitions still behind): the first quarter of
    the case's time from every partition in turn, then the rest of each
    partition whole before the next, so the partitions drift apart by up to
    the rest of the case. A detector that counts on messages meeting in time
    order across partitions fails here and nowhere else in this evaluation.
    """
    if not messages:
        return []
    metrics = WorkerMetrics(CollectorRegistry())
    detectors = [(d, DictState()) for d in default_detectors(profile) if d.topic == topic]
    feeds = FeedMetrics(metrics, 60.0)
    pipeline = TopicPipeline(topic, partitions, detectors, DictState(), default_lifecycle_settings(), metrics, feeds)
    pipeline.adopt(set(range(partitions)))
    backlog: dict[int, list[_Record]] = {}
    times: dict[int, list[float]] = {}
    for message in messages:
        key = encode_key(message)
        p = partition_of(key.decode(), partitions)
        records = backlog.setdefault(p, [])
        records.append(_Record(len(records), key, encode(message)))
        times.setdefault(p, []).append(message.event_time)
    quarter = messages[0].event_time + (messages[-1].event_time - messages[0].event_time) / 4
    position = dict.fromkeys(backlog, 0)
    alerts: list[Alert] = []

    def fetch(partition: int, upto: int) -> None:
        records = backlog[partition][position[partition] : min(upto, position[partition] + CATCH_UP_BATCH)]
        position[partition] += len(records)
        alerts.extend(pipeline.process(partition, records, 0.0, 0.0).alerts)
        alerts.extend(pipeline.tick({p for p in backlog if position[p] < len(backlog[p])}))

    early = {p: bisect.bisect_left(times[p], quarter) for p in backlog}
    while any(position[p] < early[p] for p in backlog):
        for p in sorted(backlog):
            if position[p] < early[p]:
                fetch(p, early[p])
    for p in sorted(backlog):
        while position[p] < len(backlog[p]):
            fetch(p, len(backlog[p]))
    return alerts


def run_case(case: Case, cache: Path | None, catch_up: int = 0) -> Outcome:
    began = time.process_time()
    profile = load_profile()
    everything = simulate(case, profile, cache)
    truths = [m for m in everything if isinstance(m, TruthEvent)]
    messages = [m for m in everything if not isinstance(m, TruthEvent)]
    alerts = detect(case.feed, messages, profile, case.scenario.end, catch_up)
    visible = visible_truths(case, profile, truths, messages) if case.feed == "services" and truths else []
    return Outcome(truths, alerts, time.process_time() - began, visible)


def visible_truths(
    case: Case, profile: Profile, truths: Sequence[TruthEvent], messages: Sequence[Envelope]
) -> list[str]:
    """The queue surges and portal outages whose counts an oracle could call at the detectors' own levels.

    The oracle knows the simulator's expected arrivals over the whole anomaly
    (a detector has to learn them, and judges while it goes on) and applies
    a Poisson test: a surge's tickets improbably many, an outage's silence
    improbably long. An injected anomaly that fails it is hidden by chance
    (a small office late in the day, a short outage at a quiet hour), and
    recall on the rest says how much of the ceiling a detector reaches.
    """
    feed = ServiceFeed(profile, case.scenario, case.seed)
    levels = ServiceDetectorSettings()
    visible = []
    for truth in truths:
        kind, entity, start, end = truth.payload.kind, truth.entity_id, truth.payload.start, truth.payload.end
        if kind == "queue_surge":
            step, level = "ticket_issued", levels.queue.level
        elif kind == "portal_outage":
            step, level = "dossier_submitted", levels.portal.level
        else:
            continue
        expected = feed.expected_arrivals(entity, start, end)
        seen = sum(
            1
            for m in messages
            if isinstance(m, ServiceEvent)
            and m.entity_id == entity
            and m.payload.kind == step
            and start <= m.event_time < end
        )
        p_value = math.exp(-expected) if kind == "portal_outage" else nb_sf(seen, expected, math.inf)
        if p_value < level:
            visible.append(truth.event_id)
    return visible


# --- reporting -----------------------------------------------------------------------


@dataclass
class Result:
    injected: Score
    clean_alerts: dict[str, int]
    entity_days: dict[str, float]
    seeds: list[int]
    seconds: float
    visible: Score | None = None
    by_scene: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """Camera kind -> scene type -> [anomalies, detected]: the kinds of scene a kind goes unseen in."""
    clean_kinds: dict[str, dict[str, int]] = field(default_factory=dict)
    """Clean-run line -> anomaly kind -> alerts fired."""
    parts: Score | None = None
    """The bursts and crowds that correlated incidents were made of, scored by their own kinds."""
    backlog_office_hours: list[float] = field(default_factory=list)
    """Time to detect each detected processing backlog, counted in office hours."""

    def as_dict(self) -> dict[str, object]:
        kinds = self.injected.as_dict()
        clean = {
            tally: {
                "unit": UNITS[tally],
                "units": round(days, 2),
                "alerts": self.clean_alerts.get(tally, 0),
                "alerts_per_unit": self.clean_alerts.get(tally, 0) / days if days else None,
                "alerts_by_kind": dict(sorted(self.clean_kinds.get(tally, {}).items())),
            }
            for tally, days in self.entity_days.items()
        }
        goals = {}
        for k in self.injected.kinds:
            goal = GOAL_OF_KIND.get(k.kind)
            median = k.detect_percentile(50)
            goals[k.kind] = {
                "f1_goal_met": k.f1 is not None and k.f1 >= 0.95,
                "ttd_goal_s": GOALS[goal] if goal else None,
                "ttd_goal_met": None if goal is None or median is None else round(median) <= GOALS[goal],
            }
        ceiling = {k.kind: {"visible": k.anomalies, "detected": k.detected} for k in self.ceiling()}
        return {
            "seeds": self.seeds,
            "injected": kinds,
            "goals": goals,
            "clean": clean,
            "oracle_visible": ceiling,
            "camera_recall_by_scene": {
                kind: {scene: {"anomalies": n, "detected": d} for scene, (n, d) in sorted(scenes.items())}
                for kind, scenes in self.by_scene.items()
            },
            "correlated_parts": {k.kind: {"anomalies": k.anomalies, "detected": k.detected} for k in self.part_kinds()},
            "backlog_detect_office_hours_median": _median(self.backlog_office_hours),
            "cpu_seconds": self.seconds,
        }

    def part_kinds(self) -> list[KindScore]:
        return [k for k in self.parts.kinds if k.anomalies] if self.parts is not None else []

    def ceiling(self) -> list[KindScore]:
        """Per kind with an oracle test: the visible anomalies (and how many of those were detected)."""
        if self.visible is None:
            return []
        tested = {k.kind: k for k in self.visible.kinds}
        return [tested[kind] if kind in tested else KindScore(kind, 0, 0, 0, 0) for kind in ORACLE_KINDS]


def render(result: Result) -> str:
    lines = [f"seeds {result.seeds[0]}–{result.seeds[-1]} ({len(result.seeds)}), cpu {result.seconds:.0f} s", ""]
    lines.append(render_text(result.injected, listed=0))
    lines.append("")
    lines.append("goals: F1 >= 0.95; TTD median <= 60 s (cameras, queues), <= 900 s (report bursts and surges)")
    for k in result.injected.kinds:
        goal = GOAL_OF_KIND.get(k.kind)
        median = k.detect_percentile(50)
        f1_ok = "ok" if k.f1 is not None and k.f1 >= 0.95 else "MISSED"
        ttd = "-" if goal is None or median is None else ("ok" if round(median) <= GOALS[goal] else "MISSED")
        lines.append(f"  {k.kind:<20} F1 {f1_ok:<7} TTD {ttd}")
    missed = {kind: scenes for kind, scenes in result.by_scene.items() if any(n > d for n, d in scenes.values())}
    if missed:
        lines.append("")
        lines.append("camera anomalies detected by scene type (kinds with misses):")
        for kind, scenes in missed.items():
            parts = ", ".join(f"{scene} {d}/{n}" for scene, (n, d) in sorted(scenes.items()))
            lines.append(f"  {kind:<20} {parts}")
    if result.parts is not None:
        found = ", ".join(f"{k.kind} {k.detected} of {k.anomalies}" for k in result.part_kinds())
        lines.append("")
        lines.append(f"the parts of the correlated incidents, by their own rules: {found}")
    if result.backlog_office_hours:
        lines.append("")
        lines.append(
            "processing backlogs, time to detect counted in office hours (back offices work no other):"
            f" median {_median(result.backlog_office_hours):.1f} h"
        )
    ceiling = result.ceiling()
    if ceiling:
        totals = {k.kind: k.anomalies for k in result.injected.kinds}
        lines.append("")
        lines.append(
            "what an oracle that knows the simulated rates could call (whole anomaly, Poisson, detector's level):"
        )
        for k in ceiling:
            lines.append(
                f"  {k.kind:<20} {k.anomalies:>3} of {totals.get(k.kind, 0):>3} visible,"
                f" {k.detected:>3} of them detected"
            )
    lines.append("")
    lines.append("clean runs (no anomaly injected):")
    for tally, days in result.entity_days.items():
        count, unit = result.clean_alerts.get(tally, 0), UNITS[tally]
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(result.clean_kinds.get(tally, {}).items()))
        rate = f"{count / days:.4f} per {unit}" if days else f"no {unit}s run"
        lines.append(
            f"  {tally:<14} {count:>4} alerts over {days:8.1f} {unit}s = {rate}" + (f" ({kinds})" if kinds else "")
        )
    return "\n".join(lines)


def with_history(case: Case, days: float, camera_hours: float = 0.0) -> Case:
    """The case with clean feed before it, so that the detectors meet it having learned from it.

    ``days`` of field reports and services; ``camera_hours`` of the camera's
    own feed (a camera-day costs about half a minute of CPU to simulate).
    """
    seconds = camera_hours * 3600.0 if case.feed in ("cameras", CORRELATION) else days * 86400.0
    if seconds <= 0:
        return case
    scenario = dataclasses.replace(case.scenario, start=case.scenario.start - seconds)
    return dataclasses.replace(case, scenario=scenario)


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            seeds.extend(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise SystemExit(f"--seeds: {text!r} is not like 1001-1030 or 1,2,5") from None
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1001-1030", help="evaluation seeds (tune on 1-20): 1001-1030 or 1,2,5")
    parser.add_argument(
        "--feeds",
        default=",".join(FEEDS),
        help=f"which feeds to evaluate ({CORRELATION}: correlated incidents, on the cameras and incidents feeds)",
    )
    parser.add_argument("--clean-cameras", type=int, default=2, help="cameras per seed in the clean camera day")
    parser.add_argument("--clean-camera-seeds", type=int, default=4, help="how many seeds get a clean camera day")
    parser.add_argument(
        "--clean-camera-nights", type=int, default=1, help="how many seeds get a clean night of every camera"
    )
    parser.add_argument(
        "--clean-camera-days",
        type=int,
        default=0,
        help="clean days in a row of every camera, from the first seed (about 25 minutes of CPU a day)",
    )
    parser.add_argument(
        "--clean-link-days",
        type=float,
        default=10.0,
        help="days of every camera's link alone (ordinary drops, steady view), for the offline rule's false alarms",
    )
    parser.add_argument(
        "--history-days",
        type=float,
        default=HISTORY_DAYS,
        help="clean days of field reports and services before each case, for the detectors to learn from",
    )
    parser.add_argument(
        "--camera-history-hours",
        type=float,
        default=0.0,
        help="hours of each camera case's own clean feed before it (24: a worker that has run for a day)",
    )
    parser.add_argument(
        "--camera-kinds",
        default=",".join(CAMERA_KINDS),
        help="camera anomaly kinds to run cases of (with --feeds cameras)",
    )
    parser.add_argument(
        "--catch-up",
        type=int,
        default=0,
        metavar="PARTITIONS",
        help="read each case as a worker catching up on this many partitions: the first quarter of every partition "
        "in turn, then each partition's rest whole (not the correlated cases)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="processes (simulation dominates)")
    parser.add_argument("--cache", type=Path, default=None, help="keep simulated events here between runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    feeds = [f.strip() for f in args.feeds.split(",") if f.strip()]
    unknown = sorted(set(feeds) - set(FEEDS))
    if unknown:
        parser.error(f"--feeds: unknown {unknown}; choose from {', '.join(FEEDS)}")
    camera_kinds = {k.strip() for k in args.camera_kinds.split(",") if k.strip()}
    if not camera_kinds or camera_kinds - set(CAMERA_KINDS):
        parser.error(f"--camera-kinds: {args.camera_kinds!r}; choose from {', '.join(CAMERA_KINDS)}")
    profile = load_profile()
    cases: list[Case] = []
    for seed in seeds:
        if "cameras" in feeds:
            cases += [c for c in camera_cases(profile, seed) if c.scenario.anomalies[0].kind in camera_kinds]
        if "incidents" in feeds:
            cases += [incident_case(profile, seed), incident_case(profile, seed, clean=True)]
        if "services" in feeds:
            cases += [service_case(profile, seed), service_case(profile, seed, clean=True)]
        if CORRELATION in feeds:
            cases.append(correlation_case(profile, seed))
    for name in (
        "history_days",
        "camera_history_hours",
        "clean_cameras",
        "clean_camera_seeds",
        "clean_camera_nights",
        "clean_camera_days",
        "clean_link_days",
    ):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')}: {getattr(args, name)} is negative")
    cases = [with_history(case, args.history_days, args.camera_history_hours) for case in cases]
    if "cameras" in feeds:
        for seed in seeds[: args.clean_camera_seeds]:
            cases += clean_camera_cases(profile, seed, args.clean_cameras)
        for seed in seeds[: args.clean_camera_nights]:
            cases += clean_camera_nights(profile, seed)
        if args.clean_camera_days > 0:
            cases += clean_camera_fleet(profile, seeds[0], args.clean_camera_days)
    began = time.monotonic()
    if args.catch_up < 0:
        parser.error(f"--catch-up: {args.catch_up} is negative")
    outcomes = _run_all([(case, args.cache, args.catch_up) for case in cases], run_case, args.jobs, "runs")
    scores: list[Score] = []
    oracles: list[Score] = []
    parts: list[Score] = []
    by_scene: dict[str, dict[str, list[int]]] = {}
    clean_kinds: dict[str, dict[str, int]] = {}
    entity_days: dict[str, float] = {}
    for case, outcome in zip(cases, outcomes, strict=True):
        if case.clean:
            for line, days, alerts in clean_tallies(case, outcome, profile):
                entity_days[line] = entity_days.get(line, 0.0) + days
                kinds = clean_kinds.setdefault(line, {})
                for a in alerts:
                    if a.payload.status == "firing" and a.payload.kind in _scored():
                        kinds[a.payload.kind] = kinds.get(a.payload.kind, 0) + 1
        elif case.feed == CORRELATION:
            whole, own = _split(outcome.truths, lambda t: t.payload.kind == CORRELATED)
            scores.append(score(whole, [a for a in outcome.alerts if a.payload.kind == CORRELATED]))
            parts.append(score(own, [a for a in outcome.alerts if a.payload.kind != CORRELATED]))
        else:
            scores.append(score(outcome.truths, outcome.alerts))
            if case.feed == "cameras":
                for kind_score in scores[-1].kinds:
                    if kind_score.anomalies:
                        scene = profile.camera_by_id[case.scenario.anomalies[0].entity_id].scene
                        tally = by_scene.setdefault(kind_score.kind, {}).setdefault(scene, [0, 0])
                        tally[0] += kind_score.anomalies
                        tally[1] += kind_score.detected
            if case.feed == "services":
                visible = [t for t in outcome.truths if t.event_id in outcome.visible]
                oracles.append(score(visible, outcome.alerts))
    if "cameras" in feeds and args.clean_link_days > 0:
        ids = [c.id for c in profile.cameras]
        entity_days[LINKS] = args.clean_link_days * len(ids)
        kinds = clean_kinds.setdefault(LINKS, {})
        calls = [(camera_id, seeds[0], args.clean_link_days) for camera_id in ids]
        for alerts in _run_all(calls, link_alerts, args.jobs, "camera links"):
            for a in alerts:
                if a.payload.status == "firing" and a.payload.kind in _scored():
                    kinds[a.payload.kind] = kinds.get(a.payload.kind, 0) + 1
    oracle = merge(oracles) if "services" in feeds else None
    cpu = sum(o.seconds for o in outcomes)
    clean_alerts = {tally: sum(kinds.values()) for tally, kinds in clean_kinds.items()}
    correlated_parts = merge(parts) if parts else None
    injected = merge(scores)
    result = Result(
        injected,
        clean_alerts,
        entity_days,
        seeds,
        cpu,
        oracle,
        by_scene,
        clean_kinds,
        correlated_parts,
        backlog_office_hours(injected, profile),
    )
    print(render(result))
    print(f"wall {time.monotonic() - began:.0f} s", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return 0


def backlog_office_hours(injected: Score, profile: Profile) -> list[float]:
    """Each detected backlog's time to detect, in office hours: a backlog begun at night shows at the next opening."""
    found = [o for o in injected.outcomes if o.kind == "processing_backlog" and o.detect_seconds is not None]
    if not found:
        return []
    first = min(o.start for o in found)
    clock = WorkingClock(ProvinceCalendar(profile.calendar), dt.datetime.fromtimestamp(first, ZONE).date())
    return [
        (clock.work_at(o.start + o.detect_seconds) - clock.work_at(o.start)) / 3600.0
        for o in found
        if o.detect_seconds is not None
    ]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _split(items: Sequence[T], test: Callable[[T], bool]) -> tuple[list[T], list[T]]:
    """The items that pass ``test``, and the others."""
    return [i for i in items if test(i)], [i for i in items if not test(i)]


def _scored() -> frozenset[str]:
    from iocsim.contract import ANOMALY_KINDS

    return frozenset(ANOMALY_KINDS)


def _run_all(calls: Sequence[tuple[Any, ...]], work: Callable[..., T], jobs: int, what: str) -> list[T]:
    """``work(*call)`` for every call, in order, on ``jobs`` processes, with progress."""
    done: list[T] = []
    if jobs <= 1:
        for i, call in enumerate(calls, 1):
            done.append(work(*call))
            _progress(i, len(calls), what)
        return done
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for i, result in enumerate(pool.map(work, *zip(*calls, strict=True)), 1):
            done.append(result)
            _progress(i, len(calls), what)
    return done


def _progress(i: int, total: int, what: str) -> None:
    """One line rewritten in place on a terminal; in a log, a line at every tenth of the way."""
    if sys.stderr.isatty():
        print(f"\r{i}/{total} {what}", end="" if i < total else "\n", file=sys.stderr, flush=True)
    elif i == total or 10 * i // total != 10 * (i - 1) // total:
        print(f"{i}/{total} {what}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
