"""Time to detect under load: injected anomaly (its first event's intended send time) → alert on ioc.alerts.

An alert detects an anomaly as ``iocsim score`` decides (same kind and entity, firing between the anomaly's
start and its end plus a grace period, all in sim time); the time to detect here is wall time, from when the
harness was due to send the anomaly's first event to when the alert reached the broker (its record
timestamp). Only the first pass through the content counts: later passes repeat the same anomalies.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from confluent_kafka import Consumer, KafkaException, TopicPartition

from iocsim import contract
from iocsim.consumers.scoring import DEFAULT_GRACE_SECONDS
from iocsim.loadtest.errors import LoadError
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.pool import Pool
from iocsim.loadtest.schedule import Schedule
from iocsim.sim.scenario import ANOMALY_KINDS_BY_FEED, CORRELATED, CORRELATED_FEEDS

FEED_OF_KIND = {kind: feed for feed, kinds in ANOMALY_KINDS_BY_FEED.items() for kind in kinds}
FEED_OF_KIND[CORRELATED] = CORRELATED_FEEDS[0]  # its reports and its crowd start together


@dataclass(frozen=True)
class Onset:
    """An injected anomaly and when (s from the run's start) its first event was due; None if never sent."""

    truth: contract.TruthEvent
    due_s: float | None


def onsets(pool: Pool, schedule: Schedule) -> list[Onset]:
    """Where each anomaly of the content begins in a single-worker schedule (first pass through the pool)."""
    wanted: dict[str, list[tuple[int, contract.TruthEvent]]] = defaultdict(list)
    found: list[Onset] = []
    for truth in pool.truth_events():
        feed = FEED_OF_KIND.get(truth.payload.kind)
        schedule_feed = feed if feed in schedule.feeds else "all" if "all" in schedule.feeds else None
        if schedule_feed is None:
            found.append(Onset(truth, None))
            continue
        positions = pool.indices_of(schedule_feed)
        times = pool.event_time[positions]
        first = int(np.searchsorted(times, truth.payload.start, side="left"))
        if first >= positions.size:
            found.append(Onset(truth, None))
            continue
        wanted[schedule_feed].append((first, truth))
    seen = dict.fromkeys(schedule.feeds, 0)
    pending = {feed: sorted(items, key=lambda item: item[0]) for feed, items in wanted.items()}
    for chunk in schedule.chunks():
        for f, feed in enumerate(schedule.feeds):
            items = pending.get(feed)
            if not items:
                continue
            due = chunk.due_s[chunk.feed_index == f]
            while items and items[0][0] < seen[feed] + due.size:
                index, truth = items.pop(0)
                found.append(Onset(truth, float(due[index - seen[feed]])))
            seen[feed] += int(due.size)
        if not any(pending.values()):
            break
    found.extend(Onset(truth, None) for items in pending.values() for _, truth in items)
    return found


def read_alerts(
    bootstrap: str, since: float, client_config: Mapping[str, str], idle_s: float = 3.0, timeout_s: float = 60.0
) -> list[tuple[contract.Alert, float]]:
    """Alerts written since ``since`` (Unix time) with their record timestamps (s)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"iocsim-load-alerts-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            **client_config,
        }
    )
    alerts: list[tuple[contract.Alert, float]] = []
    try:
        metadata = consumer.list_topics(contract.ALERTS, timeout=10)
        partitions = metadata.topics[contract.ALERTS].partitions
        consumer.assign([TopicPartition(contract.ALERTS, p, 0) for p in partitions])
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < idle_s:
            for message in consumer.consume(1000, 0.2):
                if message.error() is not None:
                    continue
                last = time.monotonic()
                stamp = message.timestamp()[1] / 1000.0
                if stamp < since:
                    continue
                with contextlib.suppress(contract.ContractError):
                    alerts.append((contract.decode(contract.ALERTS, message.value() or b""), stamp))
    except KafkaException as exc:
        raise LoadError(f"reading alerts from {bootstrap} failed: {exc}") from exc
    finally:
        consumer.close()
    return alerts


def detection_report(
    found: list[Onset],
    alerts: list[tuple[contract.Alert, float]],
    start_at: float,
    grace_s: float = DEFAULT_GRACE_SECONDS,
) -> tuple[dict[str, dict[str, Any]], LatencyHistogram]:
    """Per anomaly kind: injected, detected, time-to-detect p50/p90 (s); and every time to detect."""
    histogram = LatencyHistogram()
    per_kind: dict[str, list[float | None]] = defaultdict(list)
    for onset in found:
        if onset.due_s is None:
            continue
        truth = onset.truth
        stamps = [
            stamp
            for alert, stamp in alerts
            if alert.payload.status == "firing"
            and alert.payload.kind == truth.payload.kind
            and alert.entity_id == truth.entity_id
            and truth.payload.start <= alert.event_time <= truth.payload.end + grace_s
        ]
        ttd = max(min(stamps) - (start_at + onset.due_s), 0.0) if stamps else None
        per_kind[truth.payload.kind].append(ttd)
        if ttd is not None:
            histogram.record(ttd)
    block: dict[str, dict[str, Any]] = {}
    for kind, values in sorted(per_kind.items()):
        detected = [v for v in values if v is not None]
        block[kind] = {
            "injected": len(values),
            "detected": len(detected),
            "ttd_p50_s": float(np.percentile(detected, 50)) if detected else None,
            "ttd_p90_s": float(np.percentile(detected, 90)) if detected else None,
        }
    return block, histogram


@contextlib.contextmanager
def pipeline(bootstrap: str, province: str) -> Iterator[None]:
    """Our own detection pipeline (the stream worker) on the target broker for the duration of the run."""
    from iocsim.broker import BrokerAddress, free_port
    from iocsim.sim.profiles import load_profile
    from iocsim.streams.registry import default_detectors, default_lifecycle_settings
    from iocsim.streams.runner import BackgroundWorker
    from iocsim.streams.settings import WorkerSettings

    settings = WorkerSettings(
        brokers=BrokerAddress.parse(bootstrap),
        app_id=f"iocsim-load-{uuid.uuid4().hex[:8]}",
        web_port=free_port(),
        metrics_port=free_port(),
        lifecycle=default_lifecycle_settings(),
        log_level="error",
    )
    with BackgroundWorker(settings, default_detectors(load_profile(province))) as worker:
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and not _assigned(worker):
            time.sleep(0.2)
        yield


def _assigned(worker: Any) -> bool:
    """Whether the worker's consumer holds partitions yet (a new group waits for half the session timeout)."""
    try:
        return bool(worker.worker.app.consumer.assignment())
    except AttributeError:
        return False
