"""Holding service events until their time, so that the feed publishes them in event-time order.

Entities compute a dossier's completion the moment it is submitted, days
ahead of the rest of the simulation; the outbox keeps such steps in a heap
and releases them once the simulation has passed their time. Only steps
inside the scenario window become messages.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator

from iocsim.contract import SERVICE_EVENT_KINDS, ServiceChannel, ServiceDetails, ServiceEvent, ServiceEventKind
from iocsim.sim.scenario import PROVINCE

PROVINCE_DISTRICT = PROVINCE
"""District of the provincial centre (an office without district) and of the portal."""

_VERB: dict[str, str] = {kind: kind.partition("_")[2] for kind in SERVICE_EVENT_KINDS}


class Outbox:
    def __init__(self, start: float, end: float, decimals: int = 3) -> None:
        self.start = start
        self.end = end
        self._scale = 10.0**decimals
        self._heap: list[tuple[float, int, ServiceEvent]] = []
        self._seq = 0

    def rounded(self, t: float) -> float:
        """Times and durations as published (round half up: cheaper than ``round`` at these rates)."""
        return math.floor(t * self._scale + 0.5) / self._scale

    def accepts(self, t: float) -> bool:
        """Whether a step at t (as published, i.e. rounded) falls inside the scenario."""
        return self.start <= self.rounded(t) < self.end

    def publish(
        self,
        t: float,
        kind: ServiceEventKind,
        *,
        entity_id: str,
        district: str,
        item_id: str,
        channel: ServiceChannel,
        service_type: str,
        counters_open: int,
        queue_length: int,
        wait_seconds: float | None = None,
        deadline: float | None = None,
        on_time: bool | None = None,
    ) -> None:
        """Keep one step if it falls inside the scenario; its id is the item id and the step's verb."""
        event_time = self.rounded(t)
        if not self.start <= event_time < self.end:
            return
        message = ServiceEvent(
            event_id=f"{item_id}-{_VERB[kind]}",
            entity_id=entity_id,
            district=district,
            event_time=event_time,
            payload=ServiceDetails(
                kind=kind,
                channel=channel,
                service_type=service_type,
                item_id=item_id,
                counters_open=counters_open,
                queue_length=queue_length,
                wait_seconds=None if wait_seconds is None else self.rounded(wait_seconds),
                deadline=None if deadline is None else self.rounded(deadline),
                on_time=on_time,
            ),
        )
        heapq.heappush(self._heap, (event_time, self._seq, message))
        self._seq += 1

    def release(self, before: float) -> Iterator[ServiceEvent]:
        """Messages due before ``before``, oldest first (ties in the order they were published)."""
        limit = min(before, self.end)
        heap = self._heap
        while heap and heap[0][0] < limit:
            yield heapq.heappop(heap)[2]
