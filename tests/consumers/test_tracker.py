"""Commit points: only the contiguous prefix of finished offsets may be committed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim.consumers.tracker import PartitionTracker


def test_commits_up_to_the_first_unfinished_offset() -> None:
    tracker = PartitionTracker()
    for offset in (10, 11, 12, 15):
        tracker.started(offset)
    assert tracker.committable() is None
    tracker.finished(11)
    assert tracker.committable() is None
    tracker.finished(10)
    assert tracker.committable() == 12
    tracker.finished(15)
    assert tracker.committable() == 12
    tracker.finished(12)
    assert tracker.committable() == 16 and len(tracker) == 0


def test_offsets_must_increase() -> None:
    tracker = PartitionTracker()
    tracker.started(5)
    with pytest.raises(ValueError, match="not after"):
        tracker.started(5)


@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=60).flatmap(
        lambda gaps: st.tuples(st.just(gaps), st.permutations(range(len(gaps))))
    )
)
def test_committable_is_never_past_an_unfinished_offset(case: tuple[list[int], list[int]]) -> None:
    gaps, order = case
    offsets = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    tracker = PartitionTracker()
    for offset in offsets:
        tracker.started(offset)
    done: set[int] = set()
    for index in order:
        tracker.finished(offsets[index])
        done.add(offsets[index])
        unfinished = [o for o in offsets if o not in done]
        committable = tracker.committable()
        if unfinished:
            assert committable is None or committable <= unfinished[0]
            finished_prefix = [o for o in offsets if o < unfinished[0]]
            assert committable == (finished_prefix[-1] + 1 if finished_prefix else None)
        else:
            assert committable == offsets[-1] + 1
