"""Pacing by the sim clock: ``speed`` sim-seconds pass per wall-second (0 = as fast as possible)."""

from __future__ import annotations

import time
from collections.abc import Callable


class SimPacer:
    """Holds each event back until its sim time is due on the wall clock."""

    def __init__(
        self,
        sim_start: float,
        speed: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.sim_start = sim_start
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._wall_start = clock()

    def wall_due(self, event_time: float) -> float:
        return self._wall_start + (event_time - self.sim_start) / self.speed

    def wait_for(self, event_time: float) -> None:
        if self.speed == 0:
            return
        delay = self.wall_due(event_time) - self._clock()
        if delay > 0:
            self._sleep(delay)

    def lag_seconds(self, event_time: float) -> float:
        """How far behind schedule the run is at ``event_time`` (0 when on time or unpaced)."""
        if self.speed == 0:
            return 0.0
        return max(0.0, self._clock() - self.wall_due(event_time))
