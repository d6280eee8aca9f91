"""Regressions between two JSON load reports, as a table and as an exit code."""

from __future__ import annotations

import argparse
import copy
import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from iocsim.errors import ConfigError
from iocsim.loadtest.compare import compare, register_compare
from iocsim.loadtest.errors import LoadError
from iocsim.loadtest.histograms import LatencyHistogram


@functools.cache
def _summary(median_s: float, seed: int) -> str:
    histogram = LatencyHistogram()
    histogram.record_many(np.random.default_rng(seed).lognormal(np.log(median_s), 0.5, 20_000))
    return json.dumps({**histogram.summary(), "hdr": histogram.encode()})


def summary(median_s: float, seed: int = 1) -> dict[str, Any]:
    """A real histogram's summary, computed once per shape (HdrHistogram percentiles take a while)."""
    result: dict[str, Any] = json.loads(_summary(median_s, seed))
    return result


def report(
    *, produce_s: float = 0.003, e2e_s: float | None = 0.05, lost: int = 0, acked: int = 20_000, passed: bool = True
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "totals": {
            "offered": 20_000,
            "sent": 20_000,
            "acked": acked,
            "failed": 20_000 - acked,
            "read_back": acked - lost,
            "lost": lost,
            "duplicates": 0,
            "achieved_ratio": acked / 20_000,
        },
        "latency": {
            "produce_ack": summary(produce_s),
            "e2e_group": None if e2e_s is None else summary(e2e_s, seed=2),
            "detect": None,
            "webhook": None,
        },
        "passed": passed,
    }


def by_name(a: dict[str, Any], b: dict[str, Any], tolerance: float = 0.05) -> dict[str, Any]:
    return {row.metric: row for row in compare(a, b, tolerance).rows}


def test_the_same_run_twice_has_no_regression() -> None:
    comparison = compare(report(), report())
    assert not comparison.regressed
    names = [row.metric for row in comparison.rows]
    assert names[:4] == ["achieved_ratio", "lost", "duplicates", "failed"]
    assert {"p50_produce_ms", "p99_produce_ms", "p999_produce_ms", "max_e2e_ms", "thresholds_passed"} <= set(names)
    assert not any(name.endswith("webhook_ms") or name.startswith("detect") for name in names)
    assert "no regression (tolerance 5.0%)" in comparison.table()


def test_slower_latency_beyond_the_tolerance_regresses_and_within_it_does_not() -> None:
    rows = by_name(report(), report(produce_s=0.0045))
    assert rows["p50_produce_ms"].regressed and rows["p99_produce_ms"].regressed
    assert rows["p50_produce_ms"].change == pytest.approx(0.5, abs=0.02)
    assert not rows["p50_e2e_ms"].regressed
    assert not any(
        row.regressed for row in by_name(report(), report(produce_s=0.0031)).values() if row.metric == "p50_produce_ms"
    )
    relaxed = by_name(report(), report(produce_s=0.0045), tolerance=0.6)
    assert not relaxed["p50_produce_ms"].regressed


def test_one_lost_event_where_none_was_lost_regresses() -> None:
    comparison = compare(report(), report(lost=1))
    assert [row.metric for row in comparison.regressions] == ["lost"]
    assert "+1" in comparison.table()


def test_achieved_ratio_down_and_thresholds_failing_regress_and_improvements_show_as_better() -> None:
    rows = by_name(report(produce_s=0.006), report(acked=18_000, passed=False))
    assert rows["achieved_ratio"].regressed and rows["failed"].regressed and rows["thresholds_passed"].regressed
    assert rows["p50_produce_ms"].improved and not rows["p50_produce_ms"].regressed
    table = compare(report(produce_s=0.006), report(acked=18_000, passed=False)).table()
    line = next(line for line in table.splitlines() if line.startswith("p50_produce_ms"))
    assert line.endswith("better")


def test_time_to_detect_is_compared_in_seconds() -> None:
    slow_detection, fast_detection = report(), report()
    slow_detection["latency"]["detect"] = summary(40.0)
    fast_detection["latency"]["detect"] = summary(20.0)
    rows = by_name(fast_detection, slow_detection)
    assert rows["detect_p50_s"].baseline == pytest.approx(20.0, rel=0.05)
    assert rows["detect_p90_s"].regressed and rows["detect_p50_s"].regressed


def test_a_metric_measured_by_one_run_only_is_shown_but_never_regresses() -> None:
    rows = by_name(report(e2e_s=None), report())
    assert rows["p99_e2e_ms"].baseline is None and rows["p99_e2e_ms"].candidate is not None
    assert not rows["p99_e2e_ms"].regressed


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="iocsim load")
    register_compare(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_command_exits_one_on_regression_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, worse, same = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    base.write_text(json.dumps(report()))
    worse.write_text(json.dumps(report(produce_s=0.01, lost=3)))
    same.write_text(json.dumps(copy.deepcopy(report())))
    args = parse(["compare", str(base), str(worse), "--json", str(tmp_path / "cmp.json")])
    assert args.handler(args) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "regressions (tolerance 5.0%)" in out
    written = json.loads((tmp_path / "cmp.json").read_text())
    assert written["regressed"] is True
    assert {m["metric"] for m in written["metrics"] if m["regressed"]} >= {"lost", "p99_produce_ms"}
    args = parse(["compare", str(base), str(same)])
    assert args.handler(args) == 0


def test_bad_inputs_fail_with_one_line_naming_them(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"missing\.json: cannot read"):
        args = parse(["compare", str(tmp_path / "missing.json"), str(tmp_path / "missing.json")])
        args.handler(args)
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(LoadError, match=r"other\.json: not an iocsim load report"):
        args = parse(["compare", str(tmp_path / "other.json"), str(tmp_path / "other.json")])
        args.handler(args)
    with pytest.raises(ConfigError, match="--tolerance"):
        compare(report(), report(), tolerance=5)
    broken = report()
    broken["totals"]["lost"] = "none"
    with pytest.raises(ConfigError, match=r"totals\.lost"):
        compare(report(), broken)
