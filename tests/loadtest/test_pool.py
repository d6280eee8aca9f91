"""The content pool: every feed gets content of its own, and the same source gives the same bytes."""

from __future__ import annotations

from collections import Counter

from iocsim.loadtest.pool import PoolSource, generate


def test_a_small_pool_still_holds_every_feed() -> None:
    pool = generate(PoolSource(max_events=600, duration_s=2 * 86400.0))
    counts = Counter(pool.feed)
    assert set(counts) == {"cameras", "incidents", "services"}
    assert min(counts.values()) >= 600 // 6
    pool.check_feeds(("cameras", "incidents", "services", "all"))


def test_the_same_source_gives_the_same_pool() -> None:
    source = PoolSource(max_events=300, seed=3, duration_s=86400.0)
    first, second = generate(source), generate(source)
    assert first.values == second.values
    assert first.keys == second.keys
