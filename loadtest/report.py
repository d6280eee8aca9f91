"""The JSON report of a load run, and the schema it follows (``report.schema.json``, JSON Schema 2020-12)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from iocsim import __version__
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.thresholds import Threshold

SCHEMA_VERSION = 1


def schema() -> dict[str, Any]:
    text = resources.files("iocsim.loadtest").joinpath("report.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def latency_summary(histogram: LatencyHistogram | None) -> dict[str, Any] | None:
    if histogram is None:
        return None
    return {**histogram.summary(), "hdr": histogram.encode()}


def iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def build_report(
    *,
    started_at: float,
    finished_at: float,
    target: Mapping[str, str],
    profile: Mapping[str, Any],
    workers: Mapping[str, Any],
    totals: Mapping[str, Any],
    harness: Mapping[str, Any],
    latency: Mapping[str, LatencyHistogram | None],
    series: Sequence[Mapping[str, Any]],
    webhook: Mapping[str, Any] | None,
    detection: Mapping[str, Any] | None,
    thresholds: Sequence[Threshold],
) -> dict[str, Any]:
    """Assemble the report and judge the thresholds against it; ``passed`` is their conjunction."""
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"iocsim {__version__}",
        "started_at": iso(started_at),
        "finished_at": iso(finished_at),
        "duration_s": round(finished_at - started_at, 3),
        "target": dict(target),
        "profile": dict(profile),
        "workers": dict(workers),
        "totals": dict(totals),
        "harness": dict(harness),
        "latency": {
            name: latency_summary(latency.get(name)) for name in ("produce_ack", "e2e_group", "detect", "webhook")
        },
        "series": [dict(row) for row in series],
        "webhook": None if webhook is None else dict(webhook),
        "detection": None if detection is None else dict(detection),
    }
    report["thresholds"] = [threshold.judge(report) for threshold in thresholds]
    report["passed"] = all(row["passed"] for row in report["thresholds"])
    return report


def write_report(report: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
