"""Latency histograms that merge exactly across processes and machines.

HdrHistogram keeps 3 significant digits over 1 µs .. 1 h with fixed buckets, so histograms recorded in
separate processes add bucket by bucket into the same result as one histogram of all samples, and the
portable encoding lets them travel in a JSON report.
"""

from __future__ import annotations

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3
_SUMMARY_PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p99_ms": 99.0, "p999_ms": 99.9}


class LatencyHistogram:
    """HDR histogram of latencies, recorded in microseconds, 1 µs .. 1 h, 3 significant digits.

    Values outside the range are clamped to it (negative to 0, above an hour to an hour) rather than dropped,
    so that a count of samples always equals the count of events measured.
    """

    def __init__(self, hdr: HdrHistogram | None = None) -> None:
        self._hdr = hdr if hdr is not None else HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        self._counts = np.ctypeslib.as_array(self._hdr.counts)

    def record(self, seconds: float) -> None:
        self._hdr.record_value(_clamp_us(seconds))

    def record_many(self, seconds: np.ndarray) -> None:
        """Record a whole buffer at once: bucket indices are computed with numpy, counts added in one go."""
        if seconds.size == 0:
            return
        values = np.clip(np.asarray(seconds, dtype=np.float64) * 1e6, 0, HIGHEST_US).astype(np.int64)
        h = self._hdr
        masked = values | h.sub_bucket_mask
        bit_length = np.frexp(masked.astype(np.float64))[1].astype(np.int64)
        bucket = bit_length - h.unit_magnitude - (h.sub_bucket_half_count_magnitude + 1)
        sub_bucket = values >> (bucket + h.unit_magnitude)
        index = ((bucket + 1) << h.sub_bucket_half_count_magnitude) + sub_bucket - h.sub_bucket_half_count
        self._counts += np.bincount(index, minlength=h.counts_len)[: h.counts_len].astype(self._counts.dtype)
        h.total_count += int(values.size)
        h.min_value = min(h.min_value, int(values.min()))
        h.max_value = max(h.max_value, int(values.max()))

    def merge(self, other: LatencyHistogram) -> None:
        self._hdr.add(other._hdr)

    @property
    def count(self) -> int:
        return int(self._hdr.get_total_count())

    def percentile_ms(self, p: float) -> float:
        if not 0.0 <= p <= 100.0:
            raise ValueError(f"percentile {p} is outside [0, 100]")
        if self.count == 0:
            return 0.0
        return float(self._hdr.get_value_at_percentile(p)) / 1000.0

    def summary(self) -> dict[str, float]:
        result: dict[str, float] = {"count": float(self.count)}
        if self.count == 0:
            result.update({"min_ms": 0.0, "mean_ms": 0.0, "max_ms": 0.0})
            result.update({key: 0.0 for key in _SUMMARY_PERCENTILES})
            return _ordered(result)
        result["min_ms"] = float(self._hdr.get_min_value()) / 1000.0
        result["mean_ms"] = float(self._hdr.get_mean_value()) / 1000.0
        for key, p in _SUMMARY_PERCENTILES.items():
            result[key] = self.percentile_ms(p)
        result["max_ms"] = float(self._hdr.get_max_value()) / 1000.0
        return _ordered(result)

    def encode(self) -> str:
        """HdrHistogram V2 compressed, base64: readable by the Java, C, Go and Python implementations."""
        encoded: bytes = self._hdr.encode()
        return encoded.decode("ascii")

    @classmethod
    def decode(cls, text: str) -> LatencyHistogram:
        fresh = cls()
        fresh._hdr.add(HdrHistogram.decode(text.encode("ascii")))
        return fresh

    def distribution(self) -> list[tuple[float, int]]:
        """Each non-empty bucket as (value in ms, count), ascending: the shape of the latency distribution."""
        nonzero = np.flatnonzero(self._counts)
        return [
            (
                float(self._hdr.get_highest_equivalent_value(self._hdr.get_value_from_index(int(i)))) / 1000.0,
                int(self._counts[i]),
            )
            for i in nonzero
        ]

    def copy(self) -> LatencyHistogram:
        fresh = LatencyHistogram()
        fresh.merge(self)
        return fresh

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyHistogram):
            return NotImplemented
        return self.count == other.count and bool(np.array_equal(self._counts, other._counts))

    __hash__ = None  # type: ignore[assignment]


def _clamp_us(seconds: float) -> int:
    return int(min(max(seconds * 1e6, 0.0), float(HIGHEST_US)))


def _ordered(values: dict[str, float]) -> dict[str, float]:
    keys = ("count", "min_ms", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")
    return {key: values[key] for key in keys}
