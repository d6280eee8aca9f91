"""Per-second series: percentiles, maxima and counters equal a plain dense computation, in any arrival order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from iocsim.loadtest.series import BUCKETS, LATENCY_BINS, SecondSeries, _bucket, _bucket_upper_ms

batches = st.lists(
    st.lists(
        st.tuples(st.floats(0.0, 40.0, allow_nan=False), st.floats(0.0, 20.0, allow_nan=False)),
        min_size=1,
        max_size=30,
    ),
    min_size=1,
    max_size=12,
)


def _reference(samples: list[tuple[float, float]], p: float, width: int = 1) -> dict[int, float]:
    """Percentile per bin of ``width`` seconds, from all samples at once."""
    by_second: dict[int, list[float]] = {}
    for due, latency in samples:
        by_second.setdefault(int(due) // width, []).append(latency)
    out = {}
    for second, latencies in by_second.items():
        counts = np.bincount(_bucket(np.asarray(latencies)), minlength=BUCKETS)
        rank = max(int(np.ceil(p / 100.0 * counts.sum())), 1)
        out[second] = float(_bucket_upper_ms(np.asarray(int(np.searchsorted(np.cumsum(counts), rank)))))
    return out


def _fill(series: SecondSeries, batch: list[tuple[float, float]]) -> None:
    due = np.asarray([d for d, _ in batch])
    series.add_latencies(due, np.asarray([lat for _, lat in batch]))
    series.count_at("acked", due)


def _apart_and_together(
    a: list[list[tuple[float, float]]], b: list[list[tuple[float, float]]], latency_bins: int
) -> tuple[SecondSeries, SecondSeries, SecondSeries]:
    """A series of ``a``, one of ``b``, and one of both."""
    left, right, both = (SecondSeries(latency_bins) for _ in range(3))
    for batch in a:
        _fill(left, batch)
        _fill(both, batch)
    for batch in b:
        _fill(right, batch)
        _fill(both, batch)
    return left, right, both


@settings(max_examples=60, deadline=None)
@given(batches)
def test_rows_match_a_dense_computation(groups: list[list[tuple[float, float]]]) -> None:
    series = SecondSeries()
    for batch in groups:
        _fill(series, batch)
    samples = [s for batch in groups for s in batch]
    p50, p99 = _reference(samples, 50.0), _reference(samples, 99.0)
    rows = series.rows()
    assert len(rows) == max(int(d) for d, _ in samples) + 1
    for row in rows:
        t = row["t"]
        latencies = [lat for d, lat in samples if int(d) == t]
        assert row["acked"] == len(latencies)
        if latencies:
            assert row["p50_ms"] == p50[t] and row["p99_ms"] == p99[t]
            assert row["max_ms"] == max(latencies) * 1000.0
        else:
            assert row["p50_ms"] is None and row["max_ms"] is None


@settings(max_examples=40, deadline=None)
@given(batches, batches)
def test_merging_two_series_equals_one_series_of_everything(
    a: list[list[tuple[float, float]]], b: list[list[tuple[float, float]]]
) -> None:
    left, right, both = _apart_and_together(a, b, latency_bins=LATENCY_BINS)
    merged = SecondSeries.from_arrays(left.to_arrays())
    merged.merge(SecondSeries.from_arrays(right.to_arrays()))
    assert merged.rows() == both.rows()


@settings(max_examples=40, deadline=None)
@given(batches, st.sampled_from([2, 4, 8]))
def test_a_long_run_widens_its_latency_bins_and_stays_exact_per_bin(
    groups: list[list[tuple[float, float]]], max_bins: int
) -> None:
    series = SecondSeries(latency_bins=max_bins)
    for batch in groups:
        _fill(series, batch)
    samples = [s for batch in groups for s in batch]
    width = series.bin_seconds
    assert (max(int(d) for d, _ in samples) // width) < max_bins
    assert width == 1 or (max(int(d) for d, _ in samples) // (width // 2)) >= max_bins
    p99 = _reference(samples, 99.0, width)
    for row in series.rows():
        expected = p99.get(row["t"] // width)
        assert row["p99_ms"] == expected


def test_an_hour_keeps_its_latency_table_and_every_count() -> None:
    series = SecondSeries()
    table = series._latency
    rng = np.random.default_rng(7)
    for second in range(3600):
        due = second + rng.random(500)
        series.add_latencies(due, rng.lognormal(np.log(0.004), 0.6, 500))
    bins, _, counts = series.buckets()
    assert counts.sum() == 3600 * 500
    assert series.bin_seconds == 8 and int(bins.max()) == 3599 // 8 < LATENCY_BINS
    assert series._latency is table
    assert len(series.rows()) == 3600


@settings(max_examples=40, deadline=None)
@given(batches, batches)
def test_merging_series_of_different_widths_equals_one_series_of_everything(
    a: list[list[tuple[float, float]]], b: list[list[tuple[float, float]]]
) -> None:
    left, right, both = _apart_and_together(a, b, latency_bins=4)
    left.merge(right)
    assert left.bin_seconds == both.bin_seconds
    assert left.rows() == both.rows()
