"""When a detector reading a batch re-judges its entities between their own messages.

A worker catching up on a backlog reads hours of a partition at once. Without
ticks inside the batch, an entity whose messages are sparse (a small back
office, a quiet commune) would be judged only at its own next message, and a
backlog or the end of a burst raised a day late. So a detector that handles a
batch message by message ticks whenever ``every`` seconds of event time have
passed since its last tick, at the message's time, as a live worker would.

Such a tick judges only the entities the batch has messages of. A worker's
batch is one partition's records, and an entity of another partition may
have hours of messages still unread there: judged at this partition's time,
a back office five hours behind looked as if it had completed nothing all
that time (a services scenario at full speed over six partitions raised nine
false backlogs at five offices). The worker judges every entity at its own
tick, once all partitions are read up to the time it ticks at.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BatchTicks:
    every: float
    last: float = float("-inf")

    def due(self, event_time: float) -> bool:
        return event_time - self.last >= self.every

    def ticked(self, event_time: float) -> None:
        self.last = max(self.last, event_time)
