"""Pass/fail thresholds such as ``p99_e2e_ms < 500``: parsed up front, judged against the finished report."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from iocsim.loadtest.errors import ProfileError

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_EXPRESSION = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|==|!=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)\s*$")
_LATENCIES = {"produce": "produce_ack", "e2e": "e2e_group", "webhook": "webhook"}
_PERCENTILES = {"p50": "p50_ms", "p90": "p90_ms", "p99": "p99_ms", "p999": "p999_ms", "max": "max_ms"}
TOTALS = ("achieved_ratio", "lost", "duplicates", "failed")
METRICS = (
    *TOTALS,
    *(f"{p}_{m}_ms" for m in _LATENCIES for p in _PERCENTILES),
    "detect_p50_s",
    "detect_p90_s",
)


@dataclass(frozen=True)
class Threshold:
    expression: str
    metric: str
    op: str
    limit: float

    def judge(self, report: Mapping[str, Any]) -> dict[str, Any]:
        """The threshold's row of the report; a metric the run did not measure fails (it cannot be shown to hold)."""
        value = metric_value(report, self.metric)
        passed = value is not None and _OPERATORS[self.op](value, self.limit)
        return {"expression": self.expression, "metric": self.metric, "value": value, "passed": passed}


def parse_threshold(text: str, field: str = "--threshold") -> Threshold:
    match = _EXPRESSION.match(text)
    if not match:
        raise ProfileError(field, f"{text!r} is not 'METRIC OP NUMBER' (e.g. 'p99_e2e_ms < 500', 'lost == 0')")
    metric, op, limit = match.groups()
    if metric not in METRICS:
        raise ProfileError(field, f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    return Threshold(" ".join((metric, op, limit)), metric, op, float(limit))


def metric_value(report: Mapping[str, Any], metric: str) -> float | None:
    if metric in TOTALS:
        value = report["totals"].get(metric)
        return None if value is None else float(value)
    if metric.startswith("detect_"):
        return _detection_percentile(report.get("detection"), metric.split("_")[1])
    percentile, measure, _ = metric.split("_")
    summary = report["latency"].get(_LATENCIES[measure])
    if not summary or not summary.get("count"):
        return None
    return float(summary[_PERCENTILES[percentile]])


def _detection_percentile(detection: Mapping[str, Any] | None, percentile: str) -> float | None:
    """The worst (largest) per-kind time to detect: every kind must meet the target."""
    if not detection:
        return None
    values = [kind.get(f"ttd_{percentile}_s") for kind in detection.values()]
    known = [float(v) for v in values if v is not None]
    return max(known) if known else None
