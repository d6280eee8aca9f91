"""The open-model Kafka sender: every event goes out at its intended time, however the target copes.

Each tick sends everything due and polls delivery reports; it never waits for acknowledgements before
sending more, so a slow or stalled target shows as latency (measured from the intended time) instead of
as a quietly slower schedule. If the sender itself cannot keep up it says so (``max_behind_s``, CPU).

Per-message Python work is kept to a list lookup and ``produce``: the partition is computed up front
(murmur2 of the key, as the Java client and kafka-python do), so delivery reports of a partition arrive
in sending order and are matched to their events in bulk, with numpy. Each (topic, partition) has its own
delivery callback, which only appends its number: asking the report for its topic and partition cost
as much again. A retried batch can be reported out of order; its events' latencies
may then be swapped among each other (they were due within one batch), but never lost or double-counted.

With ``mark_sequence`` (``--verify``) every value carries a first JSON member
``"iocsim_load":"WWWW-SSSSSSSSSS"`` (worker, sequence number in that worker): contract consumers ignore
unknown members, and the read-back counts loss and duplicates from it. Kafka headers would be cleaner but
cost more than the produce call itself; without verification the pool's values go out as they are.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from confluent_kafka import KafkaError, KafkaException, Producer
from kafka.partitioner.default import murmur2

from iocsim.loadtest.errors import LoadError
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.pool import FEED_OF_TOPIC, Pool
from iocsim.loadtest.schedule import Schedule
from iocsim.loadtest.series import SecondSeries

MARKER_PREFIX = b'{"iocsim_load":"'
MARKER_WIDTH = len(MARKER_PREFIX) + 4 + 1 + 10 + 2
"""Bytes of the marker member: prefix, worker (4 digits), '-', sequence (10 digits), '",'."""
BEHIND_TOLERANCE_S = 0.1
MAX_BATCH = 20_000
SLICE = 8192
"""Events whose markers are built at once: small enough that building them never stalls the sending."""
_FLUSH_LATENCIES = 50_000


class DeliveryObserver(Protocol):
    """Told of every acknowledged batch of one partition (e.g. the consumer-group latency probe).

    ``produced_at`` are the events' intended send times as Unix time.
    """

    def note_many(self, topic: str, partition: int, offsets: np.ndarray, produced_at: np.ndarray) -> None: ...


@dataclass(frozen=True)
class SenderSettings:
    bootstrap: str
    client_config: Mapping[str, str] = field(default_factory=dict)
    compression: str = "lz4"
    linger_ms: int = 5
    delivery_timeout_s: float = 30.0
    grace_s: float | None = None
    """How long past the schedule's end the sender may still send what it owes (default 5 %, at least 1 s)."""
    worker: int = 0
    workers: int = 1
    mark_sequence: bool = False
    """Prefix every value with its worker and sequence number, for a read-back to check loss and duplicates."""


@dataclass
class Progress:
    elapsed_s: float
    offered: int
    sent: int
    acked: int
    failed: int
    behind_s: float
    p50_ms: float
    p99_ms: float
    new_latencies: np.ndarray
    feed_counts: dict[str, tuple[int, int, int]]
    """Per feed: (offered, sent, acknowledged) so far."""
    worker: int


@dataclass
class SendResult:
    offered: int = 0
    sent: int = 0
    acked: int = 0
    failed: int = 0
    max_behind_s: float = 0.0
    cpu_saturated: bool = False
    max_cpu_fraction: float = 0.0
    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    series: SecondSeries = field(default_factory=SecondSeries)
    errors: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0


_DIGITS = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode(), dtype=np.uint8).reshape(10_000, 4)


def marker_prefixes(worker: int, first_seq: int, count: int) -> bytes:
    """``count`` fixed-width markers, built with numpy in one go (four digits per table lookup)."""
    rows = np.empty((count, MARKER_WIDTH), dtype=np.uint8)
    template = np.frombuffer(MARKER_PREFIX + f"{worker:04d}-".encode() + b"0" * 10 + b'",', dtype=np.uint8)
    rows[:] = template
    seq = np.arange(first_seq, first_seq + count, dtype=np.int64)
    start = len(MARKER_PREFIX) + 5
    rows[:, start : start + 2] = _DIGITS[(seq // 100_000_000) % 100, 2:]
    rows[:, start + 2 : start + 6] = _DIGITS[(seq // 10_000) % 10_000]
    rows[:, start + 6 : start + 10] = _DIGITS[seq % 10_000]
    return rows.tobytes()


def parse_marker(value: bytes) -> tuple[int, int] | None:
    """(worker, sequence) of a value the sender wrote, else None."""
    if not value.startswith(MARKER_PREFIX) or len(value) < MARKER_WIDTH:
        return None
    start = len(MARKER_PREFIX)
    try:
        return int(value[start : start + 4]), int(value[start + 5 : start + 15])
    except ValueError:
        return None


def partition_for(key: bytes | None, partitions: int, fallback: int) -> int:
    if key is None:
        return fallback % partitions
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def producer_config(settings: SenderSettings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.bootstrap,
        "client.id": f"iocsim-load-{settings.worker}",
        "acks": "all",
        "compression.type": settings.compression,
        "linger.ms": settings.linger_ms,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": 2_000_000,
        "queue.buffering.max.kbytes": 2_000_000,
        "message.timeout.ms": int(settings.delivery_timeout_s * 1000),
        "enable.idempotence": False,
        **settings.client_config,
    }


class _Fifo:
    """Due times of sent, unreported events of one partition, in sending order."""

    def __init__(self) -> None:
        self.parts: deque[np.ndarray] = deque()
        self.size = 0

    def push(self, due: np.ndarray) -> None:
        self.parts.append(due)
        self.size += int(due.size)

    def pop(self, n: int) -> np.ndarray:
        taken: list[np.ndarray] = []
        while n > 0 and self.parts:
            head = self.parts[0]
            if head.size <= n:
                taken.append(self.parts.popleft())
                n -= head.size
            else:
                taken.append(head[:n])
                self.parts[0] = head[n:]
                n = 0
        out = np.concatenate(taken) if taken else np.zeros(0)
        self.size -= int(out.size)
        return out


class KafkaSender:
    """Sends one worker's slice of a schedule with content from a pool and measures produce latency.

    ``prepare()`` connects and reads the topics' partitions (done by ``run`` if not before), so that several
    processes can all be ready before they start together.
    """

    def __init__(self, settings: SenderSettings, pool: Pool, observer: DeliveryObserver | None = None) -> None:
        self.settings = settings
        self.pool = pool
        self.observer = observer
        self._reports: list[int] = []
        """Per delivery report, in arrival order: the channel, or ``-1 - channel`` for a failed delivery."""
        self._offsets: list[int] = []
        self._errors: list[str] = []
        self._producer: Producer | None = None
        self._tracks_offsets = False

    def prepare(self) -> None:
        if self._producer is not None:
            return
        self._tracks_offsets = self.observer is not None
        try:
            self._producer = Producer(producer_config(self.settings))
        except KafkaException as exc:
            raise LoadError(f"cannot create a Kafka producer for {self.settings.bootstrap}: {exc}") from exc
        self._table, self._channel_of, self._partition_of = self._channels(self._producer)

    def _callback(self, channel: int) -> Callable[[KafkaError | None, Any], None]:
        """The delivery callback of one channel: as little as possible per message (it runs for every event)."""
        reports_append = self._reports.append
        offsets_append, errors_append = self._offsets.append, self._errors.append
        failed = -1 - channel

        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            try:
                if err is None:
                    reports_append(channel)
                else:
                    reports_append(failed)
                    errors_append(err.name())
            except Exception:  # an exception here would be swallowed and lose later reports
                errors_append("callback")

        def on_delivery_with_offset(err: KafkaError | None, msg: Any) -> None:
            try:
                if err is None:
                    reports_append(channel)
                    offsets_append(msg.offset())
                else:
                    reports_append(failed)
                    errors_append(err.name())
                    offsets_append(-1)
            except Exception:
                errors_append("callback")

        return on_delivery_with_offset if self._tracks_offsets else on_delivery

    def _channels(self, producer: Producer) -> tuple[list[tuple[str, int]], np.ndarray, list[int]]:
        """(topic, partition) per channel; each pool entry's channel and partition."""
        try:
            metadata = producer.list_topics(timeout=10)
        except KafkaException as exc:
            raise LoadError(f"Kafka at {self.settings.bootstrap} does not answer metadata requests: {exc}") from exc
        table: list[tuple[str, int]] = []
        base: dict[str, int] = {}
        for topic in sorted(set(self.pool.topics)):
            found = metadata.topics.get(topic)
            if found is None or found.error is not None or not found.partitions:
                raise LoadError(f"topic {topic} does not exist on {self.settings.bootstrap} (create it first)")
            base[topic] = len(table)
            table.extend((topic, p) for p in range(len(found.partitions)))
        counts = {topic: sum(1 for t, _ in table if t == topic) for topic in base}
        cache: dict[tuple[str, bytes | None], int] = {}
        partitions: list[int] = []
        for i, (topic, key) in enumerate(zip(self.pool.topics, self.pool.keys, strict=True)):
            part = cache.get((topic, key))
            if part is None:
                part = partition_for(key, counts[topic], i)
                if key is not None:
                    cache[(topic, key)] = part
            partitions.append(part)
        channel = np.asarray([base[t] + p for t, p in zip(self.pool.topics, partitions, strict=True)], dtype=np.int64)
        return table, channel, partitions

    def run(
        self,
        schedule: Schedule,
        start_at: float,
        on_progress: Callable[[Progress], None] | None = None,
        progress_every_s: float = 0.5,
    ) -> SendResult:
        """Send from ``start_at`` (Unix time) to the end of the schedule; then wait for the last reports."""
        self.prepare()
        assert self._producer is not None
        settings, pool = self.settings, self.pool
        table, channel_of = self._table, self._channel_of
        fifos = [_Fifo() for _ in table]
        callbacks = [self._callback(c) for c in range(len(table))]
        entries = [
            (topic, value, key, part, callbacks[c])
            for topic, value, key, part, c in zip(
                pool.topics, pool.values, pool.keys, self._partition_of, channel_of.tolist(), strict=True
            )
        ]
        marking = settings.mark_sequence
        feed_pools = [pool.indices_of(feed) for feed in schedule.feeds]
        for feed, positions in zip(schedule.feeds, feed_pools, strict=True):
            if positions.size == 0:
                raise LoadError(f"the content pool has no {feed} events")
        next_in_feed = [settings.worker % max(positions.size, 1) for positions in feed_pools]
        reports, offs, errors = self._reports, self._offsets, self._errors
        tracks_offsets = self._tracks_offsets

        producer = self._producer
        produce, poll = producer.produce, producer.poll
        result = SendResult()
        grace = settings.grace_s if settings.grace_s is not None else max(1.0, 0.05 * schedule.duration_s)
        deadline = schedule.duration_s + grace
        pc_zero = time.perf_counter() - (time.time() - start_at)

        def clock() -> float:
            return time.perf_counter() - pc_zero

        latencies: list[np.ndarray] = []
        pending_latencies = 0
        interval_latencies: list[np.ndarray] = []
        feed_counts: dict[str, list[int]] = {}
        acked_by_feed: Counter[str] = Counter()

        def settle() -> None:
            nonlocal pending_latencies
            if not reports:
                return
            now = clock()
            coded = np.asarray(reports, dtype=np.int64)
            reports.clear()
            offsets = np.asarray(offs, dtype=np.int64) if tracks_offsets else None
            offs.clear()
            if errors:
                result.errors.update(errors)
                errors.clear()
            delivered = coded >= 0
            channel = np.where(delivered, coded, -1 - coded)
            for c in np.unique(channel):
                mine = channel == c
                dues = fifos[c].pop(int(mine.sum()))
                ok = delivered[mine][: dues.size]
                lat = now - dues[ok]
                result.acked += int(lat.size)
                failed = int(dues.size - lat.size)
                if failed:
                    result.failed += failed
                    result.series.count_at("errors", now, failed)
                if lat.size:
                    latencies.append(lat)
                    if on_progress is not None:
                        interval_latencies.append(lat)
                    pending_latencies += lat.size
                    result.series.add_latencies(dues[ok], lat)
                    result.series.count_at("acked", now, int(lat.size))
                    topic, part = table[c]
                    acked_by_feed[FEED_OF_TOPIC.get(topic, topic)] += int(lat.size)
                    if self.observer is not None and offsets is not None:
                        self.observer.note_many(topic, part, offsets[mine][: dues.size][ok], dues[ok] + start_at)
            if pending_latencies >= _FLUSH_LATENCIES:
                flush_latencies()

        def flush_latencies() -> None:
            nonlocal pending_latencies
            if latencies:
                result.histogram.record_many(np.concatenate(latencies))
                latencies.clear()
            pending_latencies = 0

        def produce_when_room(topic: str, value: bytes, key: bytes | None, part: int, on_delivery: Any) -> None:
            """The client's queue is full: serve delivery reports until it takes the message."""
            while True:
                result.errors["queue_full_retried"] += 1
                poll(0.005)
                settle()
                try:
                    produce(topic, value, key, part, on_delivery)
                    return
                except BufferError:
                    continue

        def wait_until(t: float) -> None:
            while True:
                gap = t - clock()
                if gap <= 0:
                    return
                time.sleep(min(gap, 0.001))
                poll(0)
                settle()

        last_progress = 0.0
        cpu_mark, wall_mark, window_behind = time.thread_time(), clock(), 0.0
        offered_before = 0
        current_due = np.zeros(0)

        def report(now: float, behind: float) -> None:
            nonlocal last_progress, cpu_mark, wall_mark, window_behind
            window_behind = max(window_behind, behind)
            if now - wall_mark >= 1.0:
                fraction = (time.thread_time() - cpu_mark) / (now - wall_mark)
                result.max_cpu_fraction = max(result.max_cpu_fraction, fraction)
                if fraction >= 0.9 and window_behind >= BEHIND_TOLERANCE_S:
                    result.cpu_saturated = True
                cpu_mark, wall_mark, window_behind = time.thread_time(), now, 0.0
            if on_progress is None or now - last_progress < progress_every_s:
                return
            last_progress = now
            flush_latencies()
            fresh = np.concatenate(interval_latencies) if interval_latencies else np.zeros(0)
            interval_latencies.clear()
            single = len(schedule.feeds) == 1
            by_feed = {f: (c[0], c[1], result.acked if single else acked_by_feed[f]) for f, c in feed_counts.items()}
            on_progress(
                Progress(
                    now,
                    offered_before + int(np.searchsorted(current_due, now, side="right")),
                    result.sent,
                    result.acked,
                    result.failed,
                    behind,
                    result.histogram.percentile_ms(50),
                    result.histogram.percentile_ms(99),
                    fresh,
                    by_feed,
                    settings.worker,
                )
            )

        wait_until(-0.05)
        result.started_at = time.time()
        seq = 0
        stopped = False
        worker = settings.worker
        for chunk in schedule.chunks(settings.worker, settings.workers):
            due = chunk.due_s
            n = int(due.size)
            offered_before, current_due = result.offered, due
            result.offered += n
            result.series.count_at("offered", due)
            if n == 0:
                continue
            positions = np.empty(n, dtype=np.int64)
            for f, feed_positions in enumerate(feed_pools):
                mine = chunk.feed_index == f
                m = int(mine.sum())
                if m:
                    positions[mine] = feed_positions[(next_in_feed[f] + np.arange(m)) % feed_positions.size]
                    next_in_feed[f] = (next_in_feed[f] + m) % feed_positions.size
                    counts = feed_counts.setdefault(schedule.feeds[f], [0, 0])
                    counts[0] += m
            chunk_channels = channel_of[positions]
            if stopped:
                seq += n
                continue
            i = 0
            slice_end = 0
            pos: list[int] = []
            markers = b""
            while i < n:
                if i == slice_end:
                    slice_start, slice_end = i, min(i + SLICE, n)
                    pos = positions[slice_start:slice_end].tolist()
                    if marking:
                        markers = marker_prefixes(worker, seq + slice_start, slice_end - slice_start)
                now = clock()
                if due[i] > now:
                    wait_until(min(float(due[i]), now + 0.001))
                    continue
                if now > deadline:
                    stopped = True
                    result.notes.append(
                        f"stopped sending {grace:.1f} s after the schedule's end: {n - i} events of that second "
                        "and all later ones were never sent (the harness or the target could not keep up)"
                    )
                    break
                behind = now - float(due[i])
                result.max_behind_s = max(result.max_behind_s, behind)
                j = min(int(np.searchsorted(due, now, side="right")), i + MAX_BATCH, slice_end)
                if marking:
                    for k in range(i - slice_start, j - slice_start):
                        topic, value, key, part, on_delivery = entries[pos[k]]
                        o = k * MARKER_WIDTH
                        value = markers[o : o + MARKER_WIDTH] + value[1:]
                        try:
                            produce(topic, value, key, part, on_delivery)
                        except BufferError:
                            produce_when_room(topic, value, key, part, on_delivery)
                else:
                    for k in range(i - slice_start, j - slice_start):
                        topic, value, key, part, on_delivery = entries[pos[k]]
                        try:
                            produce(topic, value, key, part, on_delivery)
                        except BufferError:
                            produce_when_room(topic, value, key, part, on_delivery)
                batch_channels = chunk_channels[i:j]
                batch_due = due[i:j]
                for c in np.unique(batch_channels):
                    fifos[c].push(batch_due[batch_channels == c])
                result.sent += j - i
                for f, feed in enumerate(schedule.feeds):
                    sent_f = int((chunk.feed_index[i:j] == f).sum())
                    if sent_f:
                        feed_counts.setdefault(feed, [0, 0])[1] += sent_f
                result.series.count_at("sent", now, j - i)
                i = j
                poll(0)
                settle()
                report(clock(), behind)
            seq += n
            if stopped:
                continue
        flush_deadline = time.monotonic() + settings.delivery_timeout_s + 5.0
        while sum(f.size for f in fifos) > 0 and time.monotonic() < flush_deadline:
            poll(0.05)
            settle()
            report(clock(), 0.0)
        unreported = sum(f.size for f in fifos)
        if unreported:
            result.failed += unreported
            result.errors["no_delivery_report"] += unreported
        flush_latencies()
        result.finished_at = time.time()
        if result.max_behind_s >= BEHIND_TOLERANCE_S:
            result.notes.append(
                f"the harness fell behind its schedule by up to {result.max_behind_s:.2f} s "
                f"(CPU of the sending thread up to {100 * result.max_cpu_fraction:.0f} %)"
            )
        return result
