"""Intended send times: when each event of a profile is due, computed with numpy one window at a time.

Latency is measured from these times, not from when the client got round to sending, so a stall anywhere
(harness, client, broker) shows in full. Event ``k`` of a feed is due when the integral of the offered rate
reaches ``k``: exact for constant and linear pieces, carried across pieces so no fraction is lost.
Windows keep memory flat however long the run: an hour at 300,000 events/s is a billion due times.
A day-long province stage is hundreds of pieces, so each window looks only at the pieces still to come.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from iocsim.loadtest.profile import LoadProfile

WINDOW_S = 1.0
_EPSILON = 1e-6
"""Counts within this of an integer are that integer: windows must not change the schedule by rounding."""


@dataclass(frozen=True)
class Chunk:
    """The events of one window that one worker sends: due times (s from start) and feed indices."""

    start_s: float
    due_s: np.ndarray
    feed_index: np.ndarray
    offered_total: int
    """Events of the whole window, across every worker (what the profile offers)."""


def piece_times(start: float, duration: float, rate0: float, rate1: float, carried: float) -> tuple[np.ndarray, float]:
    """Due times in one piece whose rate goes linearly from ``rate0`` to ``rate1``.

    ``carried`` is the count accumulated before the piece (its fraction decides where the next event falls);
    returns the times and the count accumulated after the piece.
    """
    total = (rate0 + rate1) * duration / 2.0
    counts = np.arange(np.ceil(carried - _EPSILON), carried + total - _EPSILON, dtype=np.float64) - carried
    slope = (rate1 - rate0) / (2.0 * duration)
    root = np.sqrt(np.maximum(rate0 * rate0 + 4.0 * slope * counts, 0.0))
    denominator = rate0 + root
    safe = np.where(denominator > 0, denominator, 1.0)
    local = np.where(denominator > 0, 2.0 * counts / safe, 0.0)
    return start + np.clip(local, 0.0, duration), carried + total


class Schedule:
    """The due times of a profile, window by window, optionally sliced for one of several workers.

    Worker ``w`` of ``n`` sends every ``n``-th event (by position in the merged schedule) from the ``w``-th:
    disjoint slices with the profile's shape at 1/n of its rate, the same on every machine.
    """

    def __init__(self, profile: LoadProfile, window_s: float = WINDOW_S) -> None:
        self.profile = profile
        self.feeds = profile.feeds
        self.window_s = window_s
        self.duration_s = profile.duration_s

    def chunks(self, worker: int = 0, workers: int = 1) -> Iterator[Chunk]:
        if not 0 <= worker < workers:
            raise ValueError(f"worker {worker} is not in 0..{workers - 1}")
        carried = [0.0] * len(self.feeds)
        pieces = feed_pieces(self.profile)
        ordered = [all(a[0] <= b[0] for a, b in pairwise(p)) for p in pieces]
        finished = [0] * len(self.feeds)
        position = 0
        window_start = 0.0
        while window_start < self.duration_s:
            window_end = min(window_start + self.window_s, self.duration_s)
            times: list[np.ndarray] = []
            owners: list[np.ndarray] = []
            for index, own in enumerate(pieces):
                while finished[index] < len(own) and sum(own[finished[index]][:2]) <= window_start:
                    finished[index] += 1
                for start, duration, rate0, rate1 in own[finished[index] :]:
                    if ordered[index] and start >= window_end:
                        break
                    lo, hi = max(start, window_start), min(start + duration, window_end)
                    if hi <= lo:
                        continue
                    slope = (rate1 - rate0) / duration
                    r_lo, r_hi = rate0 + slope * (lo - start), rate0 + slope * (hi - start)
                    due, carried[index] = piece_times(lo, hi - lo, r_lo, r_hi, carried[index])
                    times.append(due)
                    owners.append(np.full(due.size, index, dtype=np.int16))
            due_s = np.concatenate(times) if times else np.zeros(0)
            feed_index = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int16)
            if len({int(o[0]) for o in owners if o.size}) > 1:
                order = np.argsort(due_s, kind="stable")
                due_s, feed_index = due_s[order], feed_index[order]
            first = (worker - position) % workers
            yield Chunk(window_start, due_s[first::workers], feed_index[first::workers], due_s.size)
            position += due_s.size
            window_start = window_end

    def total(self) -> int:
        return sum(chunk.offered_total for chunk in self.chunks())


def feed_pieces(profile: LoadProfile) -> list[list[tuple[float, float, float, float]]]:
    """Per feed of the profile (in ``profile.feeds`` order), its stages' pieces in stage order."""
    return [
        [piece for stage in profile.stages if stage.feed == feed for piece in stage.segments()]
        for feed in profile.feeds
    ]


def offered_rate(profile: LoadProfile, feed: str, t: float) -> float:
    """Events/s the profile offers to ``feed`` at ``t`` seconds from the start (overlapping stages add up)."""
    total = 0.0
    for start, duration, rate0, rate1 in feed_pieces(profile)[profile.feeds.index(feed)]:
        if start <= t < start + duration:
            total += rate0 + (rate1 - rate0) * (t - start) / duration
    return total
