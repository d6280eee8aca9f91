"""Running a Kafka load: one or more sender processes, each with a disjoint slice, merged exactly.

Workers are numbered across machines: with ``--shard i/N`` and ``--processes P`` this machine runs workers
``i*P .. i*P+P-1`` of ``N*P``, each sending every ``N*P``-th event of the schedule, so shards on different
machines together offer exactly the profile and their histograms merge bucket for bucket.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from confluent_kafka import KafkaException, Producer

from iocsim import contract
from iocsim.loadtest.errors import LoadError
from iocsim.loadtest.heap import HeapTrimmer
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.pool import Pool
from iocsim.loadtest.profile import LoadProfile
from iocsim.loadtest.schedule import Schedule
from iocsim.loadtest.sender import BEHIND_TOLERANCE_S, KafkaSender, Progress, SenderSettings
from iocsim.loadtest.series import SecondSeries

START_DELAY_S = 0.5


@dataclass(frozen=True)
class KafkaRunSettings:
    profile: LoadProfile
    bootstrap: str
    client_config: Mapping[str, str] = field(default_factory=dict)
    processes: int = 1
    shard: tuple[int, int] | None = None
    compression: str = "lz4"
    delivery_timeout_s: float = 30.0
    group: str | None = None
    publish_truth: bool = True
    mark_sequence: bool = False
    """Mark every value with its sequence number so that a read-back (``--verify``) can count loss."""

    @property
    def workers(self) -> range:
        index, _ = self.shard or (0, 1)
        return range(index * self.processes, (index + 1) * self.processes)

    @property
    def total_workers(self) -> int:
        return (self.shard or (0, 1))[1] * self.processes


@dataclass
class LiveStatus:
    """What the progress view and the metrics show, merged over workers."""

    elapsed_s: float = 0.0
    offered: int = 0
    sent: int = 0
    acked: int = 0
    failed: int = 0
    behind_s: float = 0.0
    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)


@dataclass
class WorkerOutcome:
    worker: int
    offered: int
    sent: int
    acked: int
    failed: int
    max_behind_s: float
    cpu_saturated: bool
    max_cpu_fraction: float
    produce_hdr: str
    e2e_hdr: str | None
    series: dict[str, np.ndarray]
    errors: dict[str, int]
    notes: list[str]
    started_at: float
    finished_at: float


@dataclass
class KafkaRunOutcome:
    """The merged result of every worker of this machine."""

    offered: int
    sent: int
    acked: int
    failed: int
    max_behind_s: float
    cpu_saturated: bool
    produce: LatencyHistogram
    e2e: LatencyHistogram | None
    series: SecondSeries
    errors: Counter[str]
    notes: list[str]
    started_at: float
    finished_at: float
    sent_by_worker: dict[int, int]

    @property
    def behind(self) -> bool:
        return self.max_behind_s >= BEHIND_TOLERANCE_S or self.sent < self.offered


def merge(outcomes: list[WorkerOutcome]) -> KafkaRunOutcome:
    produce = LatencyHistogram()
    e2e: LatencyHistogram | None = None
    series = SecondSeries()
    errors: Counter[str] = Counter()
    notes: list[str] = []
    for outcome in outcomes:
        produce.merge(LatencyHistogram.decode(outcome.produce_hdr))
        if outcome.e2e_hdr is not None:
            e2e = e2e or LatencyHistogram()
            e2e.merge(LatencyHistogram.decode(outcome.e2e_hdr))
        series.merge(SecondSeries.from_arrays(outcome.series))
        errors.update(outcome.errors)
        notes.extend(f"worker {outcome.worker}: {note}" if len(outcomes) > 1 else note for note in outcome.notes)
    return KafkaRunOutcome(
        offered=sum(o.offered for o in outcomes),
        sent=sum(o.sent for o in outcomes),
        acked=sum(o.acked for o in outcomes),
        failed=sum(o.failed for o in outcomes),
        max_behind_s=max(o.max_behind_s for o in outcomes),
        cpu_saturated=any(o.cpu_saturated for o in outcomes),
        produce=produce,
        e2e=e2e,
        series=series,
        errors=errors,
        notes=notes,
        started_at=min(o.started_at for o in outcomes),
        finished_at=max(o.finished_at for o in outcomes),
        sent_by_worker={o.worker: o.sent for o in outcomes},
    )


def publish_truth(bootstrap: str, client_config: Mapping[str, str], pool: Pool) -> int:
    """Ground truth of the anomalies in the content, once per run, so detectors can be scored."""
    if not pool.truth:
        return 0
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **client_config})
    failures: list[str] = []
    for raw in pool.truth:
        truth = contract.decode(contract.TRUTH, raw)
        producer.produce(
            contract.TRUTH,
            raw,
            contract.encode_key(truth),
            on_delivery=lambda err, _msg: failures.append(str(err)) if err is not None else None,
        )
    remaining = producer.flush(30)
    if remaining or failures:
        raise LoadError(
            f"could not publish ground truth to {bootstrap}: {failures[:1] or f'{remaining} unacknowledged'}"
        )
    return len(pool.truth)


def _sender(settings: KafkaRunSettings, pool: Pool, worker: int) -> tuple[KafkaSender, Any]:
    """A prepared sender (connected, partitions known) and, with a group to watch, its latency probe."""
    sender_settings = SenderSettings(
        bootstrap=settings.bootstrap,
        client_config=settings.client_config,
        compression=settings.compression,
        delivery_timeout_s=settings.delivery_timeout_s,
        worker=worker,
        workers=settings.total_workers,
        mark_sequence=settings.mark_sequence,
    )
    probe = None
    if settings.group:
        from iocsim.loadtest.group_latency import GroupLatencyProbe

        probe = GroupLatencyProbe(
            settings.bootstrap,
            settings.group,
            LatencyHistogram(),
            client_config=settings.client_config,
            clock=time.time,
        )
    sender = KafkaSender(sender_settings, pool, observer=probe)
    sender.prepare()
    return sender, probe


def _outcome(worker: int, sender_result: Any, probe: Any) -> WorkerOutcome:
    return WorkerOutcome(
        worker=worker,
        offered=sender_result.offered,
        sent=sender_result.sent,
        acked=sender_result.acked,
        failed=sender_result.failed,
        max_behind_s=sender_result.max_behind_s,
        cpu_saturated=sender_result.cpu_saturated,
        max_cpu_fraction=sender_result.max_cpu_fraction,
        produce_hdr=sender_result.histogram.encode(),
        e2e_hdr=probe.histogram.encode() if probe is not None else None,
        series=sender_result.series.to_arrays(),
        errors=dict(sender_result.errors),
        notes=list(sender_result.notes),
        started_at=sender_result.started_at,
        finished_at=sender_result.finished_at,
    )


def _run_one(
    settings: KafkaRunSettings, pool: Pool, worker: int, on_progress: Callable[[Progress], None] | None
) -> WorkerOutcome:
    sender, probe = _sender(settings, pool, worker)
    return _drive(settings, sender, probe, worker, time.time() + START_DELAY_S, on_progress)


def _drive(
    settings: KafkaRunSettings,
    sender: KafkaSender,
    probe: Any,
    worker: int,
    start_at: float,
    on_progress: Callable[[Progress], None] | None,
) -> WorkerOutcome:
    if probe is not None:
        probe.start()
    try:
        with HeapTrimmer():
            result = sender.run(Schedule(settings.profile), start_at, on_progress)
    finally:
        if probe is not None:
            probe.stop(drain_s=5.0)
    if probe is not None and probe.pending:
        result.notes.append(
            f"{probe.pending} acknowledged events were not passed by group {settings.group}'s commits within 5 s"
        )
    return _outcome(worker, result, probe)


def _child(settings: KafkaRunSettings, pool: Pool, worker: int, events: Any, start: Any, start_at: Any) -> None:
    """One sender process: set up, say ready, wait for the common start, run, send the outcome back."""
    try:
        sender, probe = _sender(settings, pool, worker)
        events.put(("ready", worker, None))
        start.wait()

        def progress(p: Progress) -> None:
            events.put(("progress", worker, p))

        events.put(("done", worker, _drive(settings, sender, probe, worker, start_at.value, progress)))
    except Exception as exc:
        events.put(("error", worker, f"{type(exc).__name__}: {exc}"))


def run_kafka(
    settings: KafkaRunSettings,
    pool: Pool,
    on_status: Callable[[LiveStatus, Progress | None], None] | None = None,
) -> KafkaRunOutcome:
    """Run every worker of this machine and merge their outcomes."""
    if settings.publish_truth and (settings.shard is None or settings.shard[0] == 0):
        publish_truth(settings.bootstrap, settings.client_config, pool)
    status = LiveStatus()
    if settings.processes == 1:
        worker = settings.workers[0]

        def progress(p: Progress) -> None:
            status.elapsed_s, status.offered, status.sent = p.elapsed_s, p.offered, p.sent
            status.acked, status.failed, status.behind_s = p.acked, p.failed, p.behind_s
            status.histogram.record_many(p.new_latencies)
            if on_status is not None:
                on_status(status, p)

        try:
            outcome = _run_one(settings, pool, worker, progress)
        except KafkaException as exc:
            raise LoadError(f"Kafka client failed: {exc}") from exc
        return merge([outcome])
    return _run_processes(settings, pool, status, on_status)


def _run_processes(
    settings: KafkaRunSettings,
    pool: Pool,
    status: LiveStatus,
    on_status: Callable[[LiveStatus, Progress | None], None] | None,
) -> KafkaRunOutcome:
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    start = context.Event()
    start_at = context.Value("d", 0.0)
    children = [
        context.Process(target=_child, args=(settings, pool, w, events, start, start_at), daemon=True)
        for w in settings.workers
    ]
    for child in children:
        child.start()
    latest: dict[int, Progress] = {}
    outcomes: list[WorkerOutcome] = []
    ready = 0
    try:
        while len(outcomes) < len(children):
            try:
                kind, worker, payload = events.get(timeout=1.0)
            except queue.Empty:
                dead = [c for c in children if c.exitcode not in (None, 0)]
                if dead:
                    raise LoadError(f"a sender process exited with code {dead[0].exitcode}") from None
                continue
            if kind == "error":
                raise LoadError(f"sender process {worker} failed: {payload}")
            if kind == "ready":
                ready += 1
                if ready == len(children):
                    start_at.value = time.time() + START_DELAY_S
                    start.set()
            elif kind == "progress":
                latest[worker] = payload
                status.elapsed_s = max(p.elapsed_s for p in latest.values())
                status.offered = sum(p.offered for p in latest.values())
                status.sent = sum(p.sent for p in latest.values())
                status.acked = sum(p.acked for p in latest.values())
                status.failed = sum(p.failed for p in latest.values())
                status.behind_s = max(p.behind_s for p in latest.values())
                status.histogram.record_many(payload.new_latencies)
                if on_status is not None:
                    on_status(status, payload)
            else:
                outcomes.append(payload)
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()
    return merge(sorted(outcomes, key=lambda o: o.worker))
