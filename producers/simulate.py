"""Running a simulation against Kafka: pace by the sim clock, publish, count."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from iocsim.contract import Envelope
from iocsim.producers.pacing import SimPacer
from iocsim.producers.publisher import DeliveryCounts, Publisher


@dataclass(frozen=True)
class Progress:
    """A snapshot for progress displays: sim time reached and messages sent so far."""

    sim_time: float
    sent: int
    behind_seconds: float


@dataclass(frozen=True)
class RunSummary:
    counts: DeliveryCounts
    sim_start: float
    sim_end: float
    wall_seconds: float

    @property
    def acked(self) -> int:
        return sum(self.counts.acked.values())


def publish_run(
    messages: Iterable[Envelope],
    publisher: Publisher,
    pacer: SimPacer,
    *,
    sim_end: float,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every: int = 2000,
) -> RunSummary:
    """Publish every message when its sim time is due, then flush and wait for every acknowledgement."""
    started = time.monotonic()
    sent = 0
    last_time = pacer.sim_start
    for message in messages:
        pacer.wait_for(message.event_time)
        publisher.send(message)
        sent += 1
        last_time = message.event_time
        if on_progress and (sent % progress_every == 0 or pacer.speed):
            on_progress(Progress(last_time, sent, pacer.lag_seconds(last_time)))
    if pacer.speed:
        pacer.wait_for(sim_end)
    publisher.close()
    if on_progress:
        on_progress(Progress(sim_end, sent, 0.0))
    return RunSummary(publisher.counts, pacer.sim_start, sim_end, time.monotonic() - started)
