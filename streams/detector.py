"""What every detector offers to the stream processor.

Detectors are plain objects, free of Faust: the agents hand them a batch of
decoded messages and publish what comes back. Their learned state is kept per
*state key* (a camera, a commune and category, an office) as plain dicts, so
that an agent can store it in a changelog-backed table and a restarted worker
resumes with the baselines it had learned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from iocsim.contract import Envelope
from iocsim.streams.lifecycle import Signal


class Detector(Protocol):
    """Consumes one topic's messages in batches and returns signals for the alert lifecycle."""

    topic: str

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        """The state keys a batch touches, so the caller can load exactly those."""
        ...

    def load_state(self, key: str, state: dict[str, Any]) -> None: ...

    def export_state(self, key: str) -> dict[str, Any] | None: ...

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        """Learn from a batch (in event-time order) and return the signals it raises or clears."""
        ...

    def tick(self, event_time: float) -> list[Signal]:
        """Signals due at ``event_time`` without a message (e.g. a camera that went silent)."""
        ...
