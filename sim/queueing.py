"""A one-stop-shop counter queue: several staffed counters, one FIFO ticket line.

Simulated event by event (Erlang-A style: Poisson-ish arrivals, general service
times, impatient customers) because the queue length and waits are what the IOC
watches, and closures or surges only show up right when state is carried from
one ticket to the next. One call covers one opening session; the queue is
empty again when the session's overtime ends, so sessions are independent.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
TicketStep: TypeAlias = Literal["ticket_issued", "ticket_called", "ticket_served", "ticket_abandoned"]


class _Event(IntEnum):
    """Heap priority of simultaneous events: a freed counter is reused before anyone gives up."""

    SERVICE_END = 0
    CAPACITY = 1
    PATIENCE_END = 2
    ARRIVAL = 3
    SEND_HOME = 4


class TicketEvent(NamedTuple):
    """One step of one ticket, with the queue as it stands right after the step."""

    time: float
    step: TicketStep
    ticket: int
    queue_length: int
    counters_open: int
    wait_seconds: float | None


@dataclass(frozen=True)
class Walkins:
    """The people who take a ticket during one session, sorted by arrival."""

    arrival: FloatArray
    patience: FloatArray
    service: FloatArray

    def __len__(self) -> int:
        return len(self.arrival)


def simulate_session(
    walkins: Walkins,
    counters: Sequence[tuple[float, int]],
    send_home_at: float,
) -> list[TicketEvent]:
    """Run one session of a multi-counter FIFO queue with abandonment.

    ``counters`` lists (time, counters staffed from then on), the first entry
    at or before the first arrival. A counter that closes finishes the ticket
    it is serving. Counters keep calling ticket holders after closing time
    until ``send_home_at``; whoever still waits then is sent home (abandoned).
    Returns the ticket steps in time order.
    """
    n = len(walkins)
    arrival = walkins.arrival.tolist()
    patience = walkins.patience.tolist()
    service = walkins.service.tolist()
    pending: list[tuple[float, int, int, int]] = []
    for seq, (t, open_count) in enumerate(counters):
        pending.append((t, _Event.CAPACITY, seq, open_count))
    for i in range(n):
        pending.append((arrival[i], _Event.ARRIVAL, i, i))
        pending.append((arrival[i] + patience[i], _Event.PATIENCE_END, i, i))
    pending.append((send_home_at, _Event.SEND_HOME, 0, 0))
    heapq.heapify(pending)

    waiting: deque[int] = deque()
    is_waiting = [False] * n
    queue_length = busy = open_now = 0
    sent_home = False
    out: list[TicketEvent] = []

    def call_next(t: float) -> None:
        nonlocal queue_length, busy
        while not sent_home and busy < open_now and waiting:
            j = waiting.popleft()
            if not is_waiting[j]:
                continue
            is_waiting[j] = False
            queue_length -= 1
            busy += 1
            out.append(TicketEvent(t, "ticket_called", j, queue_length, open_now, t - arrival[j]))
            heapq.heappush(pending, (t + service[j], _Event.SERVICE_END, j, j))

    while pending:
        t, kind, _, value = heapq.heappop(pending)
        if kind == _Event.ARRIVAL:
            is_waiting[value] = True
            waiting.append(value)
            queue_length += 1
            out.append(TicketEvent(t, "ticket_issued", value, queue_length, open_now, None))
            call_next(t)
        elif kind == _Event.PATIENCE_END:
            if is_waiting[value]:
                is_waiting[value] = False
                queue_length -= 1
                out.append(TicketEvent(t, "ticket_abandoned", value, queue_length, open_now, t - arrival[value]))
        elif kind == _Event.SERVICE_END:
            busy -= 1
            out.append(TicketEvent(t, "ticket_served", value, queue_length, open_now, None))
            call_next(t)
        elif kind == _Event.CAPACITY:
            open_now = value
            call_next(t)
        else:
            sent_home = True
            for j in waiting:
                if is_waiting[j]:
                    is_waiting[j] = False
                    queue_length -= 1
                    out.append(TicketEvent(t, "ticket_abandoned", j, queue_length, open_now, t - arrival[j]))
            waiting.clear()
    return out
