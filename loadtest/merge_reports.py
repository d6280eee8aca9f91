"""One report from the JSON reports of the shards of a run (``--shard i/N`` on N machines).

Counts add and latency histograms merge exactly from their HDR encodings. Per-second percentiles cannot be
recovered from the shards' rows, so the merged series keeps counts and the worst ``max_ms`` and leaves
``p50_ms``/``p99_ms`` null; thresholds are judged again on the merged numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iocsim.loadtest.errors import LoadError
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.report import latency_summary
from iocsim.loadtest.thresholds import parse_threshold

_COUNTS = ("offered", "sent", "acked", "failed")
_CHECKS = ("read_back", "lost", "duplicates")


def merge_reports(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if len(reports) < 2:
        raise LoadError("give the JSON reports of at least two shards")
    shards = [report["workers"].get("shard") for report in reports]
    if None in shards or len(set(shards)) != len(shards):
        raise LoadError(f"reports must come from distinct shards of one run (got shards {shards})")
    first = reports[0]
    merged: dict[str, Any] = {key: first[key] for key in ("schema_version", "generator", "target", "profile")}
    merged["started_at"] = min(r["started_at"] for r in reports)
    merged["finished_at"] = max(r["finished_at"] for r in reports)
    merged["duration_s"] = max(r["duration_s"] for r in reports)
    merged["workers"] = {"processes": sum(r["workers"]["processes"] for r in reports), "shard": None}
    totals: dict[str, Any] = {key: sum(r["totals"][key] for r in reports) for key in _COUNTS}
    for key in _CHECKS:
        values = [r["totals"][key] for r in reports]
        totals[key] = None if None in values else sum(values)
    totals["achieved_ratio"] = round(totals["acked"] / totals["offered"], 6) if totals["offered"] else 0.0
    merged["totals"] = totals
    merged["harness"] = {
        "behind": any(r["harness"]["behind"] for r in reports),
        "max_behind_s": max(r["harness"]["max_behind_s"] for r in reports),
        "cpu_saturated": any(r["harness"]["cpu_saturated"] for r in reports),
        "notes": [f"shard {r['workers']['shard']}: {note}" for r in reports for note in r["harness"]["notes"]],
    }
    merged["latency"] = {name: _merged_latency(reports, name) for name in first["latency"]}
    merged["series"] = _merged_series(reports)
    merged["webhook"] = None
    merged["detection"] = first.get("detection")
    expressions = list(dict.fromkeys(row["expression"] for r in reports for row in r["thresholds"]))
    merged["thresholds"] = [parse_threshold(text).judge(merged) for text in expressions]
    merged["passed"] = all(row["passed"] for row in merged["thresholds"])
    return merged


def _merged_latency(reports: Sequence[Mapping[str, Any]], name: str) -> dict[str, Any] | None:
    summaries = [r["latency"].get(name) for r in reports if r["latency"].get(name)]
    if not summaries:
        return None
    histogram = LatencyHistogram()
    for summary in summaries:
        histogram.merge(LatencyHistogram.decode(summary["hdr"]))
    return latency_summary(histogram)


def _merged_series(reports: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for report in reports:
        for row in report["series"]:
            into = rows.setdefault(
                row["t"], {"t": row["t"], "offered": 0, "sent": 0, "acked": 0, "errors": 0, "max_ms": None}
            )
            for key in ("offered", "sent", "acked", "errors"):
                into[key] += row[key]
            if row["max_ms"] is not None:
                into["max_ms"] = max(into["max_ms"] or 0.0, row["max_ms"])
    return [{**rows[t], "p50_ms": None, "p99_ms": None} for t in sorted(rows)]
