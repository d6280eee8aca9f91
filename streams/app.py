"""Builds the Faust app of one worker: settings, tables, the feed loop and agents. No module-level app.

Choices that follow from running on Tansu as well as on Kafka: memory tables
recovered from their changelogs (Tansu keeps nothing on disk anyway),
``at_least_once`` (Tansu cannot run idempotent or transactional producers, so
``exactly_once`` is impossible and effects are made idempotent instead), a
10 s session timeout with a 1 s heartbeat, raw bytes on the wire (messages are
decoded by the contract, never by Faust models), and a web server on loopback.
Fetches hold up to ``batch_size`` records (``broker_max_poll_records``): the
feeds are read in bulk (:mod:`partition_reader`), not message by message.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from iocsim import contract
from iocsim.streams.agents import attach_agents
from iocsim.streams.detector import Detector
from iocsim.streams.errors import SettingsError
from iocsim.streams.feed_loop import FeedLoop
from iocsim.streams.feed_metrics import FeedMetrics
from iocsim.streams.metrics import WorkerMetrics
from iocsim.streams.pipeline import TopicPipeline
from iocsim.streams.probe import WorkerProbe
from iocsim.streams.settings import DETECTED_TOPICS, FEEDS, INPUT_TOPICS, WorkerSettings
from iocsim.streams.state import KeyedState, TableState

_NOT_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Worker:
    """A built, not yet started, worker: the Faust app and what observes it.

    ``pipelines`` are keyed by the topic they read; ``data_dir`` is Faust's
    directory, and ``temporary_dir`` the same when it is to be removed at stop.
    """

    app: faust.App
    settings: WorkerSettings
    metrics: WorkerMetrics
    pipelines: dict[str, TopicPipeline]
    probe: WorkerProbe
    feed_loop: FeedLoop
    data_dir: Path
    temporary_dir: Path | None


def detector_name(detector: Detector) -> str:
    """The name a detector's table is called by: its ``name`` attribute, else its class name."""
    raw = str(getattr(detector, "name", "") or type(detector).__name__)
    return _NOT_NAME.sub("-", raw.lower()).strip("-") or "detector"


def build_app(settings: WorkerSettings, detectors: Sequence[Detector]) -> faust.App:
    """The Faust app of a worker running ``detectors`` (see :func:`build_worker` for its probes)."""
    return build_worker(settings, detectors).app


def build_worker(
    settings: WorkerSettings, detectors: Sequence[Detector], registry: CollectorRegistry | None = None
) -> Worker:
    """Build the app with its metrics on ``registry`` (a new one by default, never the global one)."""
    temporary_dir = None if settings.data_dir is not None else Path(tempfile.mkdtemp(prefix=f"{settings.app_id}-"))
    if settings.data_dir is not None:
        settings.data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _build(settings, detectors, registry, settings.data_dir or temporary_dir, temporary_dir)
    except BaseException:
        if temporary_dir is not None:
            shutil.rmtree(temporary_dir, ignore_errors=True)
        raise


def _build(
    settings: WorkerSettings,
    detectors: Sequence[Detector],
    registry: CollectorRegistry | None,
    data_dir: Path | None,
    temporary_dir: Path | None,
) -> Worker:
    assert data_dir is not None
    for detector in detectors:
        if detector.topic not in DETECTED_TOPICS:
            raise SettingsError(
                f"detectors.{detector_name(detector)}.topic", f"{detector.topic!r} is not an input topic"
            )
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.brokers.servers],
        store="memory://",
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.heartbeat_interval_seconds,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=settings.batch_size,
        datadir=str(data_dir),
        autodiscover=False,
        topic_allow_declare=True,
    )
    metrics = WorkerMetrics(registry if registry is not None else CollectorRegistry())
    feeds = FeedMetrics(metrics, settings.camera_offline_after_seconds, settings.camera_places)
    pipelines: dict[str, TopicPipeline] = {}
    for topic in DETECTED_TOPICS:
        partitions = settings.partitions[topic]
        if topic not in INPUT_TOPICS and not any(d.topic == topic for d in detectors):
            continue
        bound: list[tuple[Detector, KeyedState]] = []
        names: set[str] = set()
        for detector in (d for d in detectors if d.topic == topic):
            name = detector_name(detector)
            if name in names:
                raise SettingsError(f"detectors.{name}", f"two detectors of {topic} share the name {name!r}")
            names.add(name)
            bound.append((detector, _table(app, f"state-{FEEDS[topic]}-{name}", partitions)))
        lifecycle = _table(app, f"alerts-{FEEDS[topic]}", partitions)
        source = settings.routed_alerts_topic if topic == contract.ALERTS else topic
        pipelines[source] = TopicPipeline(topic, partitions, bound, lifecycle, settings.lifecycle, metrics, feeds)
    probe = WorkerProbe()
    feed_loop = attach_agents(app, settings, pipelines, metrics, feeds, probe)
    return Worker(app, settings, metrics, pipelines, probe, feed_loop, data_dir, temporary_dir)


def _table(app: Any, name: str, partitions: int) -> TableState:
    """A changelog-backed table co-partitioned with its source topic (JSON keys and values)."""
    schema: Any = faust.Schema(key_serializer="json", value_serializer="json")
    table = app.Table(name, default=None, partitions=partitions, schema=schema)
    return TableState(table)
