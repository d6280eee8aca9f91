"""Per-second series of a run: offered, sent, acknowledged, errors, and latency percentiles per second.

Latencies per second are kept as log-spaced bucket counts (32 per doubling: ±1.1 %, 1 µs to 71 min),
so series from several processes merge exactly by adding counts. Only the last few seconds are dense
rows; older seconds keep just their non-empty buckets, so a soak's memory grows by the handful of buckets
a second really uses (a few hundred bytes) rather than by a full row per second.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BUCKETS_PER_DOUBLING = 32
BUCKETS = 32 * BUCKETS_PER_DOUBLING
COUNTERS = ("offered", "sent", "acked", "errors")
OPEN_SECONDS = 4
"""Seconds behind the newest one whose latencies are still kept as dense rows (late acknowledgements)."""


def _bucket(seconds: np.ndarray) -> np.ndarray:
    micros = np.maximum(seconds * 1e6, 1.0)
    return np.minimum((np.log2(micros) * BUCKETS_PER_DOUBLING).astype(np.int64), BUCKETS - 1)


def _bucket_upper_ms(index: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp2((index + 1) / BUCKETS_PER_DOUBLING) / 1000.0)


class _Column:
    """A numpy array that grows in place by doubling its capacity (appending or zero-extending)."""

    def __init__(self, dtype: Any) -> None:
        self._data = np.zeros(16, dtype=dtype)
        self.size = 0

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]

    def _reserve(self, size: int) -> None:
        if size > self._data.size:
            grown = np.zeros(max(size, 2 * self._data.size), dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown

    def extend_to(self, size: int) -> None:
        if size > self.size:
            self._reserve(size)
            self.size = size

    def append(self, values: np.ndarray) -> None:
        self._reserve(self.size + values.size)
        self._data[self.size : self.size + values.size] = values
        self.size += values.size


class SecondSeries:
    """Counters per second since the run's start, and latency buckets per second of intended send time."""

    def __init__(self) -> None:
        self._counts = {name: _Column(np.int64) for name in COUNTERS}
        self._max = _Column(np.float64)
        self._open: dict[int, np.ndarray] = {}
        self._second = _Column(np.int64)
        self._bucket = _Column(np.int16)
        self._count = _Column(np.int64)

    @property
    def seconds(self) -> int:
        return max(self._max.size, *(column.size for column in self._counts.values()))

    def count(self, name: str) -> np.ndarray:
        """Counter ``name`` per second (a view: do not keep it across updates)."""
        column = self._counts[name]
        column.extend_to(self.seconds)
        return column.values

    def count_at(self, name: str, at_s: np.ndarray | float, n: int = 1) -> None:
        """Count events at times ``at_s`` (s since start); a scalar time counts ``n`` events."""
        column = self._counts[name]
        if np.isscalar(at_s):
            second = max(int(at_s), 0)  # type: ignore[arg-type]
            column.extend_to(second + 1)
            column.values[second] += n
            return
        seconds = np.maximum(np.asarray(at_s).astype(np.int64), 0)
        if seconds.size == 0:
            return
        column.extend_to(int(seconds.max()) + 1)
        column.values[:] += np.bincount(seconds, minlength=column.size)

    def add_latencies(self, due_s: np.ndarray, latency_s: np.ndarray) -> None:
        if due_s.size == 0:
            return
        seconds = np.maximum(due_s.astype(np.int64), 0)
        newest = int(seconds.max())
        self._max.extend_to(newest + 1)
        np.maximum.at(self._max.values, seconds, latency_s)
        buckets = _bucket(latency_s)
        for second in np.unique(seconds).tolist():
            row = self._open.get(second)
            if row is None:
                row = self._open[second] = np.zeros(BUCKETS, dtype=np.int64)
            row += np.bincount(buckets[seconds == second], minlength=BUCKETS)
        self._close_before(newest - OPEN_SECONDS)

    def _close_before(self, second: int) -> None:
        for old in [s for s in self._open if s < second]:
            self._append_row(old, self._open.pop(old))

    def _append_row(self, second: int, row: np.ndarray) -> None:
        buckets = np.flatnonzero(row)
        self._second.append(np.full(buckets.size, second, dtype=np.int64))
        self._bucket.append(buckets)
        self._count.append(row[buckets])

    def buckets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every non-empty (second, bucket, count), sorted by second then bucket, each pair once."""
        open_rows = sorted(self._open.items())
        seconds = [self._second.values] + [np.full(np.count_nonzero(r), s) for s, r in open_rows]
        buckets = [self._bucket.values.astype(np.int64)] + [np.flatnonzero(r) for _, r in open_rows]
        counts = [self._count.values] + [r[np.flatnonzero(r)] for _, r in open_rows]
        key = np.concatenate(seconds) * BUCKETS + np.concatenate(buckets)
        unique, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse, weights=np.concatenate(counts), minlength=unique.size).astype(np.int64)
        return unique // BUCKETS, unique % BUCKETS, summed

    def percentiles_ms(self, p: float) -> np.ndarray:
        """The ``p``-th latency percentile of each second in ms (NaN for a second without latencies)."""
        out = np.full(self.seconds, np.nan)
        seconds, buckets, counts = self.buckets()
        if counts.size == 0:
            return out
        starts = np.flatnonzero(np.r_[True, seconds[1:] != seconds[:-1]])
        totals = np.add.reduceat(counts, starts)
        cumulative = np.cumsum(counts)
        before = cumulative[starts] - counts[starts]
        ranks = np.maximum(np.ceil(p / 100.0 * totals).astype(np.int64), 1)
        found = np.searchsorted(cumulative, before + ranks)
        out[seconds[starts]] = _bucket_upper_ms(buckets[found])
        return out

    def merge(self, other: SecondSeries) -> None:
        for name in COUNTERS:
            theirs = other.count(name)
            mine = self._counts[name]
            mine.extend_to(theirs.size)
            mine.values[: theirs.size] += theirs
        self._max.extend_to(other._max.size)
        self._max.values[: other._max.size] = np.maximum(self._max.values[: other._max.size], other._max.values)
        seconds, buckets, counts = other.buckets()
        self._second.append(seconds)
        self._bucket.append(buckets)
        self._count.append(counts)

    def rows(self) -> list[dict[str, Any]]:
        counts = {name: self.count(name) for name in COUNTERS}
        p50, p99 = self.percentiles_ms(50.0), self.percentiles_ms(99.0)
        seconds_with_latency = set(self.buckets()[0].tolist())
        rows = []
        for t in range(self.seconds):
            row: dict[str, Any] = {"t": t}
            for name in COUNTERS:
                row[name] = int(counts[name][t])
            has_latency = t in seconds_with_latency
            row["p50_ms"] = float(p50[t]) if has_latency else None
            row["p99_ms"] = float(p99[t]) if has_latency else None
            row["max_ms"] = float(self._max.values[t] * 1000.0) if has_latency else None
            rows.append(row)
        return rows

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for sending between processes: counters, the non-empty buckets, the maxima."""
        seconds, buckets, counts = self.buckets()
        arrays: dict[str, np.ndarray] = {name: self.count(name).copy() for name in COUNTERS}
        arrays["lat_index"] = np.stack([seconds, buckets], axis=1) if counts.size else np.zeros((0, 2), np.int64)
        arrays["lat_count"] = counts
        arrays["lat_max"] = self._max.values.copy()
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SecondSeries:
        series = cls()
        for name in COUNTERS:
            column = series._counts[name]
            column.append(np.asarray(arrays[name], dtype=np.int64))
        series._max.append(np.asarray(arrays["lat_max"], dtype=np.float64))
        index = np.asarray(arrays["lat_index"], dtype=np.int64).reshape(-1, 2)
        series._second.append(index[:, 0])
        series._bucket.append(index[:, 1])
        series._count.append(np.asarray(arrays["lat_count"], dtype=np.int64))
        return series
