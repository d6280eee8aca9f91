"""A worker spaces out garbage collection, and leaves a disabled collector alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from iocsim.streams.runner import YOUNG_COLLECTION_AFTER, collect_garbage_less_often


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("thresholds")
def test_young_collections_are_spaced_out_and_the_older_generations_kept() -> None:
    gc.set_threshold(700, 10, 10)
    collect_garbage_less_often()
    assert gc.get_threshold() == (YOUNG_COLLECTION_AFTER, 10, 10)


@pytest.mark.usefixtures("thresholds")
def test_a_collector_disabled_by_threshold_or_set_higher_is_left_as_it_is() -> None:
    for threshold in ((0, 10, 10), (10 * YOUNG_COLLECTION_AFTER, 5, 5)):
        gc.set_threshold(*threshold)
        collect_garbage_less_often()
        assert gc.get_threshold() == threshold
