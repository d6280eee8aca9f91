"""Per-second series of a run: offered, sent, acknowledged, errors, and latency percentiles over time.

Latencies are kept as log-spaced bucket counts (32 per doubling: ±1.1 %, 1 µs to 71 min), so series
from several processes merge exactly by adding counts. The counts live in one preallocated table of
``LATENCY_BINS`` rows of intended send time: bins start one second wide and double in width (adjacent rows
added) whenever a run outgrows the table, so a soak of any length holds a fixed amount of latency detail
(percentiles over 2 s, 4 s, ... bins) and its memory stays flat, while counters and maxima stay per second.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BUCKETS_PER_DOUBLING = 32
BUCKETS = 32 * BUCKETS_PER_DOUBLING
COUNTERS = ("offered", "sent", "acked", "errors")
LATENCY_BINS = 512
"""Rows of the latency table: 4 MiB, one-second detail for the first 8.5 minutes."""


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

    def __init__(self, latency_bins: int = LATENCY_BINS) -> None:
        self._counts = {name: _Column(np.int64) for name in COUNTERS}
        self._max = _Column(np.float64, fill=-1.0)
        """The worst latency per second; -1 for a second without any."""
        self.bin_seconds = 1
        self._latency = np.zeros((latency_bins, BUCKETS), dtype=np.int64)
        self._latency.fill(0)  # touch every page now, so the table's memory does not grow during the run

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
        first = int(seconds.min())
        added = np.bincount(seconds - first)
        column.extend_to(first + added.size)
        column.values[first : first + added.size] += added

    def add_latencies(self, due_s: np.ndarray, latency_s: np.ndarray) -> None:
        if due_s.size == 0:
            return
        seconds = np.maximum(due_s.astype(np.int64), 0)
        self._max.extend_to(int(seconds.max()) + 1)
        np.maximum.at(self._max.values, seconds, latency_s)
        while int(seconds.max()) // self.bin_seconds >= len(self._latency):
            self._widen()
        cells = (seconds // self.bin_seconds) * BUCKETS + _bucket(latency_s)
        first = int(cells.min()) // BUCKETS * BUCKETS
        added = np.bincount(cells - first)
        self._latency.reshape(-1)[first : first + added.size] += added

    def _widen(self) -> None:
        """Double the bins' width: row i becomes the sum of rows 2i and 2i + 1."""
        half = len(self._latency) // 2
        self._latency[:half] = self._latency[0::2] + self._latency[1::2]
        self._latency[half:] = 0
        self.bin_seconds *= 2

    def buckets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every non-empty (bin, bucket, count), sorted by bin then bucket."""
        bins, buckets = np.nonzero(self._latency)
        return bins, buckets, self._latency[bins, buckets]

    def percentiles_ms(self, *ps: float) -> list[np.ndarray]:
        """Per ``p``: the latency percentile in ms of the bin holding each second (NaN where a bin has none)."""
        bins = -(-self.seconds // self.bin_seconds)
        cumulative = np.cumsum(self._latency[:bins], axis=1)
        totals = cumulative[:, -1]
        out = []
        for p in ps:
            ranks = np.maximum(np.ceil(p / 100.0 * totals).astype(np.int64), 1)
            found = np.minimum((cumulative < ranks[:, None]).sum(axis=1), BUCKETS - 1)
            per_bin = np.full(bins, np.nan)
            per_bin[: totals.size] = np.where(totals > 0, _bucket_upper_ms(found), np.nan)
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
        while self.bin_seconds < other.bin_seconds:
            self._widen()
        bins, buckets, counts = other.buckets()
        self._add_buckets(bins * other.bin_seconds, buckets, counts)

    def _add_buckets(self, seconds: np.ndarray, buckets: np.ndarray, counts: np.ndarray) -> None:
        """Add ``counts`` to the buckets of the bins holding ``seconds``, widening first if they lie beyond."""
        if counts.size == 0:
            return
        while int(seconds.max()) // self.bin_seconds >= len(self._latency):
            self._widen()
        np.add.at(self._latency, (seconds // self.bin_seconds, buckets), counts)

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
        bin_seconds = int(arrays["lat_bin_seconds"][0])
        while series.bin_seconds < bin_seconds:
            series._widen()
        index = np.asarray(arrays["lat_index"], dtype=np.int64).reshape(-1, 2)
        series._add_buckets(index[:, 0] * bin_seconds, index[:, 1], np.asarray(arrays["lat_count"], dtype=np.int64))
        return series
