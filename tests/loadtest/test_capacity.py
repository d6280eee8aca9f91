"""Offered far above what harness and broker can do: achieved < offered, 'behind' said, threshold fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iocsim.broker import BrokerAddress
from iocsim.cli import main

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_above_capacity_is_reported_and_fails(broker_address: BrokerAddress, recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code = main(
        [
            "load",
            "--replay",
            str(recording),
            "--brokers",
            broker_address.bootstrap,
            "--rate",
            "3000000",
            "--duration",
            "2s",
            "--threshold",
            "achieved_ratio >= 0.99",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    report = json.loads(out.read_text())
    assert code == 1
    assert report["passed"] is False
    assert report["totals"]["acked"] < report["totals"]["offered"] == 6_000_000
    assert report["harness"]["behind"] is True
    assert any("never sent" in note for note in report["harness"]["notes"])


def test_the_knee_is_the_last_step_that_held() -> None:
    from iocsim.loadtest.capacity import knee_note
    from iocsim.loadtest.profile import parse_profile
    from iocsim.loadtest.thresholds import parse_threshold

    profile = parse_profile({"stages": [{"kind": "step", "rate": 100, "to_rate": 400, "steps": 4, "duration": 20}]})
    acked = {100: 100, 200: 200, 300: 240, 400: 250}
    series = [
        {"t": t, "offered": rate, "acked": acked[rate], "p99_ms": 20.0 if rate < 300 else 900.0}
        for t in range(20)
        for rate in [100 * (t // 5 + 1)]
    ]
    note = knee_note(profile, series, [parse_threshold("p99_produce_ms < 500")])
    assert note is not None and note.startswith("capacity: knee at 200 events/s")
    assert "at 300 events/s 240/s were acknowledged, p99 up to 900 ms" in note
    for row in series:
        row["acked"], row["p99_ms"] = row["offered"], 20.0
    assert "every step held" in (knee_note(profile, series, []) or "")
