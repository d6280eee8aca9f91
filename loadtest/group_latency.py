"""End-to-end latency to a consumer group the user names: event produced → the group's commit passes it.

Only the group's committed offsets are watched, through the admin API (OffsetFetch), so the probe never joins
the group and never disturbs its assignment; it works for any consumer in any language. The sender notes,
for every acknowledged event, its partition, offset and send time; each poll fetches the group's committed
offsets and records ``now − send time`` for every noted offset below the commit.

Resolution: a commit is seen at the first poll after it happened, so each sample is an upper bound, late
by at most one poll interval (default 100 ms) plus the OffsetFetch round trip (≈ 1 ms on loopback). Events
the group has not committed when the probe stops are not recorded; ``pending`` says how many.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from iocsim.loadtest.histograms import LatencyHistogram

log = logging.getLogger("iocsim.load.group")

DEFAULT_POLL_INTERVAL_S = 0.1
Partition = tuple[str, int]


@dataclass
class _Fresh:
    """Events of one partition noted since the last poll: single notes and whole batches."""

    offsets: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    batches: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.offsets) + sum(len(o) for o, _ in self.batches)


class GroupLatencyProbe:
    """Watches ``group``'s committed offsets on ``bootstrap`` and records e2e latency into ``histogram``.

    ``produced_at`` values given to ``note`` and the ``clock`` share one time base (``time.perf_counter``
    unless told otherwise); pass the event's *intended* send time to keep the latency honest under stalls.
    The histogram is written from the probe's thread: read it after ``stop()``.
    """

    def __init__(
        self,
        bootstrap: str,
        group: str,
        histogram: LatencyHistogram,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        *,
        client_config: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        on_latencies: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        self.group = group
        self.histogram = histogram
        self.poll_interval_s = poll_interval_s
        self.errors = 0
        self._clock = clock
        self._on_latencies = on_latencies
        self._admin = AdminClient({"bootstrap.servers": bootstrap, **(client_config or {})})
        self._lock = threading.Lock()
        self._fresh: dict[Partition, _Fresh] = {}
        self._pending: dict[Partition, tuple[np.ndarray, np.ndarray]] = {}
        self._stop = threading.Event()
        self._drain_until = 0.0
        self._thread: threading.Thread | None = None

    def note(self, topic: str, partition: int, offset: int, produced_at: float) -> None:
        """Remember one acknowledged event; cheap enough for a delivery callback (two list appends)."""
        with self._lock:
            fresh = self._fresh.get((topic, partition))
            if fresh is None:
                fresh = self._fresh[(topic, partition)] = _Fresh()
            fresh.offsets.append(offset)
            fresh.times.append(produced_at)

    def note_many(self, topic: str, partition: int, offsets: np.ndarray, produced_at: np.ndarray) -> None:
        """Remember a batch of acknowledged events of one partition (the arrays are kept, not copied)."""
        with self._lock:
            fresh = self._fresh.get((topic, partition))
            if fresh is None:
                fresh = self._fresh[(topic, partition)] = _Fresh()
            fresh.batches.append((offsets, produced_at))

    @property
    def pending(self) -> int:
        """Noted events whose offset the group has not committed past (as of the last poll)."""
        with self._lock:
            fresh = sum(f.size for f in self._fresh.values())
        return fresh + sum(len(offsets) for offsets, _ in self._pending.values())

    def committed(self, timeout_s: float = 5.0) -> dict[Partition, int]:
        """The group's committed offsets now (partitions without a commit left out)."""
        request = [ConsumerGroupTopicPartitions(self.group)]
        result = self._admin.list_consumer_group_offsets(request, request_timeout=timeout_s)[self.group]
        partitions: list[TopicPartition] = result.result(timeout_s).topic_partitions or []
        return {(tp.topic, tp.partition): tp.offset for tp in partitions if tp.offset >= 0 and tp.error is None}

    def poll_once(self) -> int:
        """Fetch the commits once and record every noted event they pass; return how many were recorded."""
        self._absorb_fresh()
        try:
            commits = self.committed()
        except (KafkaException, TimeoutError) as exc:
            self.errors += 1
            if self.errors == 1:
                log.warning("cannot fetch offsets of group %s: %s", self.group, exc)
            return 0
        now = self._clock()
        recorded = 0
        for key, (offsets, sent) in list(self._pending.items()):
            commit = commits.get(key)
            if commit is None:
                continue
            passed = offsets < commit
            if not passed.any():
                continue
            latencies = now - sent[passed]
            self.histogram.record_many(latencies)
            if self._on_latencies is not None:
                self._on_latencies(latencies)
            recorded += int(latencies.size)
            self._pending[key] = (offsets[~passed], sent[~passed])
        return recorded

    def _absorb_fresh(self) -> None:
        with self._lock:
            fresh, self._fresh = self._fresh, {}
        for key, noted in fresh.items():
            parts = [self._pending[key]] if key in self._pending else []
            parts += noted.batches
            if noted.offsets:
                parts.append((np.array(noted.offsets, dtype=np.int64), np.array(noted.times, dtype=np.float64)))
            offsets = np.concatenate([np.asarray(o, dtype=np.int64) for o, _ in parts])
            times = np.concatenate([np.asarray(t, dtype=np.float64) for _, t in parts])
            self._pending[key] = (offsets, times)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"group-latency-{self.group}", daemon=True)
        self._thread.start()

    def stop(self, drain_s: float = 0.0) -> None:
        """Stop polling; first keep polling up to ``drain_s`` seconds while the group catches up."""
        self._drain_until = time.monotonic() + drain_s
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.poll_once()
            self._stop.wait(max(self.poll_interval_s - (time.monotonic() - began), 0.0))
        while True:
            self.poll_once()
            if self.pending == 0 or time.monotonic() >= self._drain_until:
                break
            time.sleep(self.poll_interval_s)
