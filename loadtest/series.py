"""Per-second series of a run: offered, sent, acknowledged, errors, and latency percentiles over time.

Latencies are kept as log-spaced bucket counts (32 per doubling: ±1.1 %, 1 µs to 71 min), so series
from several processes merge exactly by adding counts. Only the last few time bins are dense rows; older
ones keep just their non-empty buckets. Bins start one second wide and double in width whenever a run
outgrows ``MAX_LATENCY_BINS``, so an hours-long soak keeps a bounded amount of latency detail (percentiles
over 2 s, 4 s, ... bins) while counters stay per second.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BUCKETS_PER_DOUBLING = 32
BUCKETS = 32 * BUCKETS_PER_DOUBLING
COUNTERS = ("offered", "sent", "acked", "errors")
OPEN_BINS = 4
"""Bins behind the newest one whose latencies are still kept as dense rows (late acknowledgements)."""
MAX_LATENCY_BINS = 1024


def _bucket(seconds: np.ndarray) -> np.ndarray:
    micros = np.maximum(seconds * 1e6, 1.0)
    return np.minimum((np.log2(micros) * BUCKETS_PER_DOUBLING).astype(np.int64), BUCKETS - 1)


def _bucket_upper_ms(index: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp2((index + 1) / BUCKETS_PER_DOUBLING) / 1000.0)


class _Column:
    """A numpy array that grows in place by doubling its capacity (appending or zero-extending)."""

    def __init__(self, dtype: Any, fill: float = 0) -> None:
        self._fill = fill
        self._data = np.full(16, fill, dtype=dtype)
        self.size = 0

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]

    def _reserve(self, size: int) -> None:
        if size > self._data.size:
            grown = np.full(max(size, 2 * self._data.size), self._fill, dtype=self._data.dtype)
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
    """Counters per second since the run's start, and latency buckets per bin of intended send time."""

    def __init__(self) -> None:
        self._counts = {name: _Column(np.int64) for name in COUNTERS}
        self._max = _Column(np.float64, fill=-1.0)
        """The worst latency per second; -1 for a second without any."""
        self.bin_seconds = 1
        self._open: dict[int, np.ndarray] = {}
        self._bin = _Column(np.int64)
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
        self._max.extend_to(int(seconds.max()) + 1)
        np.maximum.at(self._max.values, seconds, latency_s)
        while int(seconds.max()) // self.bin_seconds >= MAX_LATENCY_BINS:
            self._widen(2 * self.bin_seconds)
        bins = seconds // self.bin_seconds
        buckets = _bucket(latency_s)
        for b in np.unique(bins).tolist():
            row = self._open.get(b)
            if row is None:
                row = self._open[b] = np.zeros(BUCKETS, dtype=np.int64)
            row += np.bincount(buckets[bins == b], minlength=BUCKETS)
        newest = int(bins.max())
        for old in [b for b in self._open if b < newest - OPEN_BINS]:
            self._append_row(old, self._open.pop(old))

    def _append_row(self, b: int, row: np.ndarray) -> None:
        buckets = np.flatnonzero(row)
        self._bin.append(np.full(buckets.size, b, dtype=np.int64))
        self._bucket.append(buckets)
        self._count.append(row[buckets])

    def _widen(self, bin_seconds: int) -> None:
        """Merge the latency bins into bins ``bin_seconds`` wide (a multiple of the current width)."""
        factor = bin_seconds // self.bin_seconds
        bins, buckets, counts = self.buckets()
        self._open = {}
        for column in (self._bin, self._bucket, self._count):
            column.size = 0
        self.bin_seconds = bin_seconds
        self._add_buckets(bins // factor, buckets, counts)

    def _add_buckets(self, bins: np.ndarray, buckets: np.ndarray, counts: np.ndarray) -> None:
        key = bins * BUCKETS + buckets
        unique, inverse = np.unique(key, return_inverse=True)
        self._bin.append(unique // BUCKETS)
        self._bucket.append(unique % BUCKETS)
        self._count.append(np.bincount(inverse, weights=counts, minlength=unique.size).astype(np.int64))

    def buckets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every non-empty (bin, bucket, count), sorted by bin then bucket, each pair once."""
        open_rows = sorted(self._open.items())
        bins = [self._bin.values] + [np.full(np.count_nonzero(r), b) for b, r in open_rows]
        buckets = [self._bucket.values.astype(np.int64)] + [np.flatnonzero(r) for _, r in open_rows]
        counts = [self._count.values] + [r[np.flatnonzero(r)] for _, r in open_rows]
        key = np.concatenate(bins) * BUCKETS + np.concatenate(buckets)
        unique, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse, weights=np.concatenate(counts), minlength=unique.size).astype(np.int64)
        return unique // BUCKETS, unique % BUCKETS, summed

    def percentiles_ms(self, *ps: float) -> list[np.ndarray]:
        """Per ``p``: the latency percentile in ms of the bin holding each second (NaN where a bin has none)."""
        bins, buckets, counts = self.buckets()
        starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]]) if counts.size else np.zeros(0, np.int64)
        totals = np.add.reduceat(counts, starts) if counts.size else np.zeros(0, np.int64)
        cumulative = np.cumsum(counts)
        before = cumulative[starts] - counts[starts]
        out = []
        for p in ps:
            per_bin = np.full(-(-self.seconds // self.bin_seconds), np.nan)
            if counts.size:
                ranks = np.maximum(np.ceil(p / 100.0 * totals).astype(np.int64), 1)
                found = np.searchsorted(cumulative, before + ranks)
                per_bin[bins[starts]] = _bucket_upper_ms(buckets[found])
            out.append(np.repeat(per_bin, self.bin_seconds)[: self.seconds])
        return out

    def merge(self, other: SecondSeries) -> None:
        for name in COUNTERS:
            theirs = other.count(name)
            mine = self._counts[name]
            mine.extend_to(theirs.size)
            mine.values[: theirs.size] += theirs
        self._max.extend_to(other._max.size)
        self._max.values[: other._max.size] = np.maximum(self._max.values[: other._max.size], other._max.values)
        if other.bin_seconds > self.bin_seconds:
            self._widen(other.bin_seconds)
        bins, buckets, counts = other.buckets()
        self._add_buckets(bins // (self.bin_seconds // other.bin_seconds), buckets, counts)
        while self.seconds > self.bin_seconds * MAX_LATENCY_BINS:
            self._widen(self.bin_seconds * 2)

    def rows(self) -> list[dict[str, Any]]:
        counts = {name: self.count(name) for name in COUNTERS}
        p50, p99 = self.percentiles_ms(50.0, 99.0)
        rows = []
        for t in range(self.seconds):
            row: dict[str, Any] = {"t": t}
            for name in COUNTERS:
                row[name] = int(counts[name][t])
            has_latency = not np.isnan(p50[t])
            row["p50_ms"] = float(p50[t]) if has_latency else None
            row["p99_ms"] = float(p99[t]) if has_latency else None
            worst = float(self._max.values[t]) if t < self._max.size else -1.0
            row["max_ms"] = worst * 1000.0 if worst >= 0 else None
            rows.append(row)
        return rows

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for sending between processes: counters, the non-empty buckets, the maxima."""
        bins, buckets, counts = self.buckets()
        arrays: dict[str, np.ndarray] = {name: self.count(name).copy() for name in COUNTERS}
        arrays["lat_index"] = np.stack([bins, buckets], axis=1) if counts.size else np.zeros((0, 2), np.int64)
        arrays["lat_count"] = counts
        arrays["lat_max"] = self._max.values.copy()
        arrays["lat_bin_seconds"] = np.asarray([self.bin_seconds])
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SecondSeries:
        series = cls()
        for name in COUNTERS:
            series._counts[name].append(np.asarray(arrays[name], dtype=np.int64))
        series._max.append(np.asarray(arrays["lat_max"], dtype=np.float64))
        series.bin_seconds = int(arrays["lat_bin_seconds"][0])
        index = np.asarray(arrays["lat_index"], dtype=np.int64).reshape(-1, 2)
        series._add_buckets(index[:, 0], index[:, 1], np.asarray(arrays["lat_count"], dtype=np.int64))
        return series
