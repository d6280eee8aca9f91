"""When a detector speaks about an entity: on every change, and as a heartbeat while it matters.

The alert lifecycle needs to hear an active condition again before its
staleness timeout, and a cleared one for as long as it waits before
resolving; it needs nothing about the thousands of quiet communes. A gate
passes a verdict when it differs from the last one passed, and repeats it
every ``heartbeat`` seconds while active (or for ``quiet`` seconds after it
cleared). It only moves forward in event time, so a replayed or late
verdict is never passed twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iocsim.streams.errors import StateError


@dataclass
class SignalGate:
    """Per-entity memory of the last verdict passed on (plain numbers, for the state table)."""

    active: bool = False
    at: float = -1.0
    quiet_until: float = -1.0

    def offer(self, t: float, active: bool, heartbeat: float, quiet: float) -> bool:
        """Whether a verdict at ``t`` should become a signal; records it if so."""
        if t <= self.at:
            return False
        if active != self.active:
            if not active:
                self.quiet_until = t + quiet
        elif t - self.at < heartbeat or not (active or t <= self.quiet_until):
            return False
        self.active, self.at = active, t
        return True

    def wants_tick(self, t: float) -> bool:
        """Whether a tick at ``t`` could pass anything (an active entity, or one recently cleared)."""
        return t > self.at and (self.active or t <= self.quiet_until)

    def to_list(self) -> list[float | int]:
        return [int(self.active), self.at, self.quiet_until]

    @classmethod
    def from_list(cls, where: str, data: Any) -> SignalGate:
        try:
            active, at, quiet_until = data
            return cls(bool(int(active)), float(at), float(quiet_until))
        except (TypeError, ValueError) as exc:
            raise StateError(where, f"{data!r} is not [active, at, quiet_until]") from exc


def state_part(data: Mapping[str, Any], where: str, name: str) -> Any:
    """``data[name]``, or a StateError naming the missing field."""
    try:
        return data[name]
    except (KeyError, TypeError) as exc:
        raise StateError(f"{where}.{name}", "missing") from exc
