"""The heap trimmer trims on its period while a run lasts and stops with it."""

from __future__ import annotations

import time

import pytest

from iocsim.loadtest.heap import HeapTrimmer, find_malloc_trim


@pytest.mark.skipif(find_malloc_trim() is None, reason="this C library has no malloc_trim (not glibc)")
def test_trims_on_its_period_and_stops_with_the_run() -> None:
    with HeapTrimmer(every_s=0.05) as trimmer:
        time.sleep(0.4)
    trims = trimmer.trims
    assert 3 <= trims <= 8
    time.sleep(0.2)
    assert trimmer.trims == trims
