"""Alerts re-keyed by district, so that one worker sees every alert of a district that correlation reads.

Alerts on ``ioc.alerts`` are keyed by fingerprint: an incident burst and a
crowd in the same district land on different partitions, read by different
workers, and correlation state keyed by district would be written by several
of them. Each worker therefore forwards the alerts correlation reads (see
:func:`iocsim.streams.detectors.correlation.is_source`) from its
``ioc.alerts`` partitions to an internal topic keyed by district
(:attr:`WorkerSettings.routed_alerts_topic`). Workers share that topic's
partitions, and the correlation tables co-partitioned with it, like a feed.
Its own ``correlated_incident`` alerts are not forwarded. Alerts are few, so
Faust's per-message stream is fast enough here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from iocsim.contract import ALERTS, Alert, ContractError, DeadLetter, decode
from iocsim.streams.deadletter import dead_letter, reason_class
from iocsim.streams.detectors.correlation import is_source
from iocsim.streams.metrics import WorkerMetrics


def route(records: Sequence[Any], metrics: WorkerMetrics) -> tuple[list[tuple[bytes, bytes]], list[DeadLetter]]:
    """The (district key, alert bytes) to forward from ``records`` of ``ioc.alerts``, and the dead letters."""
    forwarded: list[tuple[bytes, bytes]] = []
    letters: list[DeadLetter] = []
    now = time.time()
    for record in records:
        value = record.value or b""
        try:
            alert = decode(ALERTS, value)
        except ContractError as error:
            letters.append(dead_letter(ALERTS, record.partition, record.offset, record.key, record.value, error, now))
            metrics.dead_letters.labels(ALERTS, reason_class(error)).inc()
            continue
        if isinstance(alert, Alert) and is_source(alert):
            forwarded.append((alert.district.encode(), value))
    return forwarded, letters
