from __future__ import annotations

import numpy as np

from iocsim.loadtest.profile import constant_profile, parse_profile
from iocsim.loadtest.schedule import Schedule


def _all(schedule: Schedule, worker: int = 0, workers: int = 1) -> np.ndarray:
    return np.concatenate([chunk.due_s for chunk in schedule.chunks(worker, workers)])


def test_constant_rate_is_evenly_spaced() -> None:
    due = _all(Schedule(constant_profile(1000, "3s")))
    assert due.size == 3000
    assert np.allclose(np.diff(due), 0.001)


def test_ramp_offers_the_integral_of_its_rate() -> None:
    profile = parse_profile({"stages": [{"kind": "ramp", "rate": 0, "to_rate": 1000, "duration": "10s"}]})
    per_second = np.bincount(_all(Schedule(profile)).astype(int))
    assert per_second.sum() == 5000
    assert list(per_second) == [50 + 100 * i for i in range(10)]


def test_windows_do_not_change_the_schedule() -> None:
    profile = parse_profile(
        {
            "stages": [
                {"kind": "ramp", "rate": 33.3, "to_rate": 777, "duration": "7s"},
                {
                    "kind": "spike",
                    "rate": 100,
                    "to_rate": 900,
                    "spike_at": "1.5s",
                    "spike_duration": "1s",
                    "duration": 4,
                },
            ]
        }
    )
    one = _all(Schedule(profile, window_s=1.0))
    odd = _all(Schedule(profile, window_s=0.37))
    assert one.size == odd.size
    assert np.allclose(one, odd)


def test_shards_are_disjoint_and_cover_the_schedule() -> None:
    schedule = Schedule(constant_profile(999, "4s"))
    full = _all(schedule)
    shards = [_all(schedule, w, 3) for w in range(3)]
    assert [s.size for s in shards] == [1332, 1332, 1332]
    assert np.array_equal(np.sort(np.concatenate(shards)), full)
