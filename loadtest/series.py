"""Per-second series of a run: offered, sent, acknowledged, errors, and latency percentiles per second.

Latencies per second are kept as log-spaced bucket counts (32 per doubling: ±1.1 %, 1 µs to 71 min)
rather than a full HDR histogram per second, so an hour-long soak costs megabytes, not gigabytes, and
series from several processes still merge exactly by adding counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BUCKETS_PER_DOUBLING = 32
BUCKETS = 32 * BUCKETS_PER_DOUBLING
COUNTERS = ("offered", "sent", "acked", "errors")


def _bucket(seconds: np.ndarray) -> np.ndarray:
    micros = np.maximum(seconds * 1e6, 1.0)
    return np.minimum((np.log2(micros) * BUCKETS_PER_DOUBLING).astype(np.int64), BUCKETS - 1)


def _bucket_upper_ms(index: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp2((index + 1) / BUCKETS_PER_DOUBLING) / 1000.0)


class SecondSeries:
    """Counters per second since the run's start, and latency buckets per second of intended send time."""

    def __init__(self) -> None:
        self.counts = {name: np.zeros(0, dtype=np.int64) for name in COUNTERS}
        self.latency = np.zeros((0, BUCKETS), dtype=np.uint32)
        self.latency_max = np.zeros(0, dtype=np.float64)

    @property
    def seconds(self) -> int:
        return max(int(self.latency.shape[0]), *(int(a.size) for a in self.counts.values()))

    def _grow(self, length: int) -> None:
        for name, array in self.counts.items():
            if array.size < length:
                self.counts[name] = np.concatenate([array, np.zeros(length - array.size, dtype=np.int64)])
        if self.latency.shape[0] < length:
            extra = length - self.latency.shape[0]
            self.latency = np.concatenate([self.latency, np.zeros((extra, BUCKETS), dtype=np.uint32)])
            self.latency_max = np.concatenate([self.latency_max, np.zeros(extra)])

    def count_at(self, name: str, at_s: np.ndarray | float, n: int = 1) -> None:
        """Count events at times ``at_s`` (s since start); a scalar time counts ``n`` events."""
        if np.isscalar(at_s):
            second = max(int(at_s), 0)  # type: ignore[arg-type]
            self._grow(second + 1)
            self.counts[name][second] += n
            return
        seconds = np.maximum(np.asarray(at_s).astype(np.int64), 0)
        if seconds.size == 0:
            return
        self._grow(int(seconds.max()) + 1)
        self.counts[name] += np.bincount(seconds, minlength=self.counts[name].size)

    def add_latencies(self, due_s: np.ndarray, latency_s: np.ndarray) -> None:
        if due_s.size == 0:
            return
        seconds = np.maximum(due_s.astype(np.int64), 0)
        self._grow(int(seconds.max()) + 1)
        np.add.at(self.latency, (seconds, _bucket(latency_s)), 1)
        np.maximum.at(self.latency_max, seconds, latency_s)

    def merge(self, other: SecondSeries) -> None:
        self._grow(other.seconds)
        for name in COUNTERS:
            self.counts[name][: other.counts[name].size] += other.counts[name]
        rows = other.latency.shape[0]
        self.latency[:rows] += other.latency
        self.latency_max[:rows] = np.maximum(self.latency_max[:rows], other.latency_max)

    def percentile_ms(self, second: int, p: float) -> float | None:
        if second >= self.latency.shape[0]:
            return None
        counts = self.latency[second]
        total = int(counts.sum())
        if total == 0:
            return None
        rank = int(np.ceil(p / 100.0 * total))
        index = int(np.searchsorted(np.cumsum(counts), max(rank, 1)))
        return float(_bucket_upper_ms(np.asarray(index)))

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for t in range(self.seconds):
            row: dict[str, Any] = {"t": t}
            for name in COUNTERS:
                row[name] = int(self.counts[name][t])
            row["p50_ms"] = self.percentile_ms(t, 50.0)
            row["p99_ms"] = self.percentile_ms(t, 99.0)
            has_latency = t < self.latency_max.size and self.latency[t].any()
            row["max_ms"] = float(self.latency_max[t] * 1000.0) if has_latency else None
            rows.append(row)
        return rows

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for sending between processes (compact: latency rows stored sparse)."""
        nonzero = np.argwhere(self.latency)
        arrays: dict[str, np.ndarray] = {name: self.counts[name] for name in COUNTERS}
        arrays["lat_index"] = nonzero.astype(np.int64)
        arrays["lat_count"] = self.latency[nonzero[:, 0], nonzero[:, 1]] if nonzero.size else np.zeros(0, np.uint32)
        arrays["lat_max"] = self.latency_max
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SecondSeries:
        series = cls()
        length = max(int(arrays["lat_max"].size), *(int(arrays[name].size) for name in COUNTERS))
        series._grow(length)
        for name in COUNTERS:
            series.counts[name][: arrays[name].size] += arrays[name]
        index = arrays["lat_index"]
        if index.size:
            series.latency[index[:, 0], index[:, 1]] = arrays["lat_count"]
        series.latency_max[: arrays["lat_max"].size] = arrays["lat_max"]
        return series
