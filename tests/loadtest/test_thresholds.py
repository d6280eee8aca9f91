from __future__ import annotations

from typing import Any

import pytest

from iocsim.loadtest.errors import ProfileError
from iocsim.loadtest.thresholds import parse_threshold


def _report() -> dict[str, Any]:
    summary = {"count": 10.0, "p50_ms": 3.0, "p90_ms": 5.0, "p99_ms": 9.0, "p999_ms": 12.0, "max_ms": 20.0}
    return {
        "totals": {"achieved_ratio": 0.995, "lost": 0, "duplicates": None, "failed": 2},
        "latency": {"produce_ack": summary, "e2e_group": None, "webhook": None},
        "detection": {
            "crowd": {"ttd_p50_s": 20.0, "ttd_p90_s": 40.0},
            "camera_offline": {"ttd_p50_s": 30, "ttd_p90_s": 70.0},
        },
    }


@pytest.mark.parametrize(
    ("expression", "value", "passed"),
    [
        ("achieved_ratio >= 0.99", 0.995, True),
        ("lost == 0", 0.0, True),
        ("failed < 1", 2.0, False),
        ("p99_produce_ms < 10", 9.0, True),
        ("max_produce_ms <= 15", 20.0, False),
        ("detect_p90_s < 60", 70.0, False),
        ("p99_e2e_ms < 500", None, False),
        ("duplicates == 0", None, False),
    ],
)
def test_thresholds_judge_the_report(expression: str, value: float | None, passed: bool) -> None:
    row = parse_threshold(expression).judge(_report())
    assert (row["value"], row["passed"]) == (value, passed)


@pytest.mark.parametrize("text", ["p99 < 5", "latency_ms < 5", "lost = 0", "lost == zero"])
def test_bad_thresholds_fail_naming_the_flag(text: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_threshold(text)
    assert caught.value.field == "--threshold"
