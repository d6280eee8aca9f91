"""When a detector speaks about an entity: on every change, and as a heartbeat while it matters.

The alert lifecycle needs to hear an active condition again before its
staleness timeout, and a cleared one for as long as it waits before
resolving; it needs nothing about the thousands of quiet entities. A gate
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
    """Passes a verdict when it changes, and repeats it every ``heartbeat`` while active or ``quiet`` after clearing.

    It only moves forward in event time: a replayed or late verdict is never
    passed twice.
    """

    active: bool = False
    at: float = float("-inf")
    quiet_until: float = float("-inf")

    def offer(self, t: float, active: bool, heartbeat: float, quiet: float) -> bool:
        if t <= self.at:
            return False
        if active != self.active:
            if not active:
                self.quiet_until = t + quiet
        elif t - self.at < heartbeat or not (active or t <= self.quiet_until):
            return False
        self.active, self.at = active, t
        return True

    def wants(self, t: float) -> bool:
        """Whether a verdict at ``t`` could pass: the gate is active, or still repeating a cleared verdict."""
        return t > self.at and (self.active or t <= self.quiet_until)

    def to_list(self) -> list[Any]:
        return [int(self.active), never_as_null(self.at), never_as_null(self.quiet_until)]

    @classmethod
    def from_list(cls, where: str, data: Any) -> SignalGate:
        try:
            active, at, quiet_until = data
            return cls(bool(int(active)), null_as_never(at), null_as_never(quiet_until))
        except (TypeError, ValueError) as exc:
            raise StateError(where, f"{data!r} is not [active, at, quiet_until]") from exc


def never_as_null(value: float) -> float | None:
    """JSON has no infinity: 'never' (minus infinity) is stored as null."""
    return None if value == float("-inf") else value


def null_as_never(value: Any) -> float:
    return float("-inf") if value is None else float(value)


def state_part(data: Mapping[str, Any], where: str, name: str) -> Any:
    """``data[name]``, or a StateError naming the missing field."""
    try:
        return data[name]
    except (KeyError, TypeError) as exc:
        raise StateError(f"{where}.{name}", "missing") from exc
