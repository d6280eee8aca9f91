"""What a running worker has done, for its runner, tests and benchmarks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class WorkerProbe:
    """Counts kept by the worker's loop (read from any thread)."""

    started_at: float = field(default_factory=time.monotonic)
    first_batch_at: float | None = None
    batches: int = 0
    events: int = 0
    alerts: int = 0
    dead_letters: int = 0

    @property
    def seconds_to_first_batch(self) -> float | None:
        return None if self.first_batch_at is None else self.first_batch_at - self.started_at

    def batch_done(self, events: int) -> None:
        self.events += events
        self.batches += 1
        if self.first_batch_at is None:
            self.first_batch_at = time.monotonic()
