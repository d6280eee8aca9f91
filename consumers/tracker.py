"""Which offsets of a partition may be committed while deliveries finish out of order.

Transitions of different alerts complete in any order (one endpoint lane
retries while another succeeds), but a committed offset promises that
everything before it is done. Per partition we keep the offsets handed out in
order and commit up to the first unfinished one, so a crash replays the
unfinished transitions and everything after them, never skips one.
"""

from __future__ import annotations

from collections import deque


class PartitionTracker:
    """Offsets of one partition in the order they were read, and which of them are finished."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._finished: set[int] = set()
        self._next_commit: int | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def started(self, offset: int) -> None:
        """A transition read at ``offset`` is now being delivered (offsets arrive increasing)."""
        if self._pending and offset <= self._pending[-1]:
            raise ValueError(f"offset {offset} is not after {self._pending[-1]}")
        if not self._pending and self._next_commit is not None and offset < self._next_commit:
            raise ValueError(f"offset {offset} is before the committable {self._next_commit}")
        self._pending.append(offset)

    def finished(self, offset: int) -> None:
        """The transition at ``offset`` succeeded or was dead-lettered on every endpoint it matched."""
        self._finished.add(offset)
        while self._pending and self._pending[0] in self._finished:
            done = self._pending.popleft()
            self._finished.discard(done)
            self._next_commit = done + 1

    def committable(self) -> int | None:
        """The offset to commit (the next to read after the contiguous finished prefix), or None if none yet."""
        return self._next_commit
