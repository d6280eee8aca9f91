"""Regressions between two JSON load reports: a baseline and a candidate run of the same profile.

A metric regresses when the candidate is worse than the baseline by more than a relative tolerance
(latencies, losses and failures up; achieved ratio down), or when a baseline that passed its thresholds
becomes a candidate that does not. A count that was zero regresses on any increase: losing one event where
none was lost before is never noise.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from iocsim.errors import ConfigError
from iocsim.loadtest.errors import LoadError

Better = Literal["lower", "higher"]
DEFAULT_TOLERANCE = 0.05
_MEASURES = {"produce_ack": "produce", "e2e_group": "e2e", "webhook": "webhook"}
_PERCENTILES = ("p50", "p90", "p99", "p999", "max")
_COUNTS = ("lost", "duplicates", "failed")


@dataclass(frozen=True)
class MetricChange:
    """One metric in both runs; ``None`` where a run did not measure it."""

    metric: str
    baseline: float | None
    candidate: float | None
    better: Better
    regressed: bool

    @property
    def change(self) -> float | None:
        """Relative change (candidate / baseline − 1); ``None`` if either is missing or the baseline is zero."""
        if self.baseline is None or self.candidate is None or self.baseline == 0:
            return None
        return self.candidate / self.baseline - 1.0

    @property
    def improved(self) -> bool:
        if self.baseline is None or self.candidate is None:
            return False
        return self.candidate < self.baseline if self.better == "lower" else self.candidate > self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "change": self.change,
            "better": self.better,
            "regressed": self.regressed,
        }


@dataclass(frozen=True)
class Comparison:
    tolerance: float
    rows: tuple[MetricChange, ...]

    @property
    def regressed(self) -> bool:
        return any(row.regressed for row in self.rows)

    @property
    def regressions(self) -> list[MetricChange]:
        return [row for row in self.rows if row.regressed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tolerance": self.tolerance,
            "regressed": self.regressed,
            "metrics": [row.as_dict() for row in self.rows],
        }

    def table(self) -> str:
        """A fixed-width text table, one metric per line, with a closing verdict."""
        lines = [("metric", "baseline", "candidate", "change", "")]
        for row in self.rows:
            verdict = "REGRESSED" if row.regressed else ("better" if row.improved else "")
            lines.append((row.metric, _show(row.baseline), _show(row.candidate), _show_change(row), verdict))
        widths = [max(len(line[i]) for line in lines) for i in range(5)]
        text = [
            "  ".join(
                cell.ljust(width) if i in (0, 4) else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
            for line in lines
        ]
        count = len(self.regressions)
        summary = f"{count} regression{'s' if count != 1 else ''}" if count else "no regression"
        text.append(f"{summary} (tolerance {self.tolerance:.1%})")
        return "\n".join(text)


def _show(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer() and abs(value) >= 1:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _show_change(row: MetricChange) -> str:
    if row.baseline is None or row.candidate is None:
        return "—"
    if row.change is None:
        delta = row.candidate - row.baseline
        return "0" if delta == 0 else f"{delta:+.4g}"
    return f"{row.change:+.1%}"


def _judge(
    metric: str, baseline: float | None, candidate: float | None, better: Better, tolerance: float
) -> MetricChange:
    regressed = False
    if baseline is not None and candidate is not None:
        if better == "lower":
            regressed = candidate > baseline * (1.0 + tolerance) and candidate > baseline
        else:
            regressed = candidate < baseline * (1.0 - tolerance) and candidate < baseline
    return MetricChange(metric, baseline, candidate, better, regressed)


def _number(report: Mapping[str, Any], *path: str) -> float | None:
    value: Any = report
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, int | float):
        raise ConfigError(".".join(path), f"expected a number, got {value!r}")
    return float(value)


def metrics_of(report: Mapping[str, Any]) -> dict[str, tuple[float | None, Better]]:
    """The comparable metrics of one report, named as thresholds name them (``p99_e2e_ms``, ``detect_p90_s``)."""
    metrics: dict[str, tuple[float | None, Better]] = {
        "achieved_ratio": (_number(report, "totals", "achieved_ratio"), "higher"),
    }
    for key in _COUNTS:
        metrics[key] = (_number(report, "totals", key), "lower")
    for measure, short in _MEASURES.items():
        for p in _PERCENTILES:
            metrics[f"{p}_{short}_ms"] = (_number(report, "latency", measure, f"{p}_ms"), "lower")
    for p in ("p50", "p90"):
        ms = _number(report, "latency", "detect", f"{p}_ms")
        metrics[f"detect_{p}_s"] = (None if ms is None else ms / 1000.0, "lower")
    return metrics


def compare(a: Mapping[str, Any], b: Mapping[str, Any], tolerance: float = DEFAULT_TOLERANCE) -> Comparison:
    """Compare candidate report ``b`` against baseline report ``a``; metrics neither run measured are left out."""
    if not 0.0 <= tolerance < 1.0:
        raise ConfigError("--tolerance", f"{tolerance} is not a fraction in [0, 1) (0.05 means 5%)")
    baseline, candidate = metrics_of(a), metrics_of(b)
    rows = [
        _judge(name, value, candidate[name][0], better, tolerance)
        for name, (value, better) in baseline.items()
        if value is not None or candidate[name][0] is not None
    ]
    if isinstance(a.get("passed"), bool) and isinstance(b.get("passed"), bool):
        was, now = float(a["passed"]), float(b["passed"])
        rows.append(MetricChange("thresholds_passed", was, now, "higher", now < was))
    return Comparison(tolerance, tuple(rows))


def load_report(path: Path) -> dict[str, Any]:
    """A JSON load report from disk; a missing, unreadable or foreign file fails with one line naming it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise LoadError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("schema_version") != 1:
        raise LoadError(f"{path}: not an iocsim load report (schema_version 1 expected)")
    return document


def register_compare(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``compare`` to the subcommands of ``iocsim load``; its handler returns 1 on a regression."""
    p = sub.add_parser(
        "compare",
        help="show regressions between two JSON load reports",
        description="Compare a candidate load report against a baseline, metric by metric (achieved ratio, latency "
        "percentiles, lost, failed, duplicates, time to detect). Exits 1 if any metric is worse by more than the "
        "tolerance, or if the candidate fails thresholds the baseline passed.",
    )
    p.add_argument("baseline", type=Path, help="JSON report of the reference run")
    p.add_argument("candidate", type=Path, help="JSON report of the run to judge")
    p.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"relative change allowed before a metric counts as regressed (default {DEFAULT_TOLERANCE})",
    )
    p.add_argument("--json", dest="json_out", metavar="FILE", help="also write the comparison as JSON")
    p.set_defaults(handler=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    comparison = compare(load_report(args.baseline), load_report(args.candidate), args.tolerance)
    print(comparison.table())
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(comparison.as_dict(), indent=2) + "\n", encoding="utf-8")
    return 1 if comparison.regressed else 0
