"""The report's plots, drawn from the JSON report alone so that any saved report can be re-rendered.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never through ``pyplot``: no
global figure registry, no display needed, and safe to call from any thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from iocsim.loadtest.histograms import LatencyHistogram

MEASURES: dict[str, str] = {
    "produce_ack": "produce acknowledged",
    "e2e_group": "end to end (consumer group)",
    "detect": "anomaly → alert",
    "webhook": "webhook delivered",
}
"""Latency measures of the report, in the order plots and tables show them, with their human names."""

_PERCENTILE_TICKS = (0.0, 90.0, 99.0, 99.9, 99.99, 99.999, 99.9999)
_SIZE = (9.0, 3.6)
_DPI = 100
_MARKERS_UP_TO = 300
"""Seconds of series drawn with a dot per second; a soak of hours is drawn as lines only (smaller files)."""


@dataclass(frozen=True)
class Plot:
    """One figure: a file stem for its PNG, a caption, and the figure itself."""

    name: str
    title: str
    figure: Figure

    def svg(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue()

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=_DPI)
        return buffer.getvalue()


def report_plots(report: Mapping[str, Any]) -> list[Plot]:
    """The three plots of a report: rate, latency over time, latency distribution."""
    series = list(report.get("series") or [])
    return [
        rate_plot(series),
        latency_over_time_plot(series),
        distribution_plot(report.get("latency") or {}),
    ]


def _figure() -> Figure:
    return Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")


def _column(series: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """One field of the per-second series as floats, NaN where a second has no value (a gap in the line)."""
    return np.array([np.nan if row.get(key) is None else float(row[key]) for row in series], dtype=np.float64)


def rate_plot(series: Sequence[Mapping[str, Any]]) -> Plot:
    """Offered against achieved events per second: where the lines part, the target (or the harness) fell behind."""
    figure = _figure()
    axes = figure.add_subplot()
    t = _column(series, "t")
    axes.plot(t, _column(series, "offered"), label="offered", color="#1f77b4", linewidth=1.6)
    axes.plot(t, _column(series, "sent"), label="sent", color="#7f7f7f", linewidth=1.0, linestyle="--")
    axes.plot(t, _column(series, "acked"), label="achieved (acknowledged)", color="#2ca02c", linewidth=1.4)
    errors = _column(series, "errors")
    if np.nansum(errors) > 0:
        axes.plot(t, errors, label="errors", color="#d62728", linewidth=1.0)
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("events / s")
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    if not series:
        _say_empty(axes)
    return Plot("rate", "Offered vs achieved rate, per second", figure)


def latency_over_time_plot(series: Sequence[Mapping[str, Any]]) -> Plot:
    """Produce-acknowledgement latency p50, p99 and max of each second, on a log scale (stalls span decades)."""
    figure = _figure()
    axes = figure.add_subplot()
    t = _column(series, "t")
    drawn = False
    for key, label, color in (("p50_ms", "p50", "#2ca02c"), ("p99_ms", "p99", "#ff7f0e"), ("max_ms", "max", "#d62728")):
        values = _column(series, key)
        positive = np.where(values > 0, values, np.nan)
        if np.isfinite(positive).any():
            marker = "." if len(series) <= _MARKERS_UP_TO else None
            axes.plot(t, positive, label=label, color=color, linewidth=1.2, marker=marker, markersize=3)
            drawn = True
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("latency from intended send (ms)")
    if drawn:
        axes.set_yscale("log")
        axes.legend(loc="upper right", fontsize="small")
    else:
        _say_empty(axes)
    axes.grid(True, which="both", alpha=0.3)
    return Plot("latency_over_time", "Latency percentiles over time (from intended send time)", figure)


def percentile_curve(histogram: LatencyHistogram) -> tuple[np.ndarray, np.ndarray]:
    """Points of an HDR percentile plot: x = 1 / (1 − fraction of samples below), y = latency in ms.

    The x axis stretches the tail: 10 is the 90th percentile, 100 the 99th, 1000 the 99.9th. The curve
    ends at x = n, the last of n samples.
    """
    distribution = histogram.distribution()
    if not distribution:
        return np.empty(0), np.empty(0)
    values = np.array([value for value, _ in distribution], dtype=np.float64)
    counts = np.array([count for _, count in distribution], dtype=np.float64)
    total = counts.sum()
    below = (np.cumsum(counts) - counts) / total
    x = 1.0 / (1.0 - below)
    return np.append(x, max(total, x[-1])), np.append(values, values[-1])


def distribution_plot(latency: Mapping[str, Any]) -> Plot:
    """Latency by percentile for each measure the report holds (HdrHistogram's percentile distribution plot)."""
    figure = _figure()
    axes = figure.add_subplot()
    widest = 1.0
    for key, label in MEASURES.items():
        summary = latency.get(key)
        if not summary or not summary.get("hdr"):
            continue
        histogram = LatencyHistogram.decode(summary["hdr"])
        if histogram.count == 0:
            continue
        x, y = percentile_curve(histogram)
        axes.step(x, np.maximum(y, 1e-3), where="post", label=f"{label} (n={histogram.count:,})", linewidth=1.4)
        widest = max(widest, float(x[-1]))
    axes.set_xscale("log")
    axes.set_yscale("log")
    ticks = [1.0 / (1.0 - p / 100.0) for p in _PERCENTILE_TICKS if 1.0 / (1.0 - p / 100.0) <= widest * 1.01]
    axes.set_xlim(1.0, max(widest, 10.0))
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticklabels([f"{p:g}%" for p in _PERCENTILE_TICKS[: len(ticks)]])
    axes.set_xlabel("percentile")
    axes.set_ylabel("latency (ms)")
    axes.grid(True, which="both", alpha=0.3)
    if axes.lines:
        axes.legend(loc="lower right", fontsize="small")  # curves climb to the right: that corner stays clear
    else:
        _say_empty(axes)
    return Plot("latency_distribution", "Latency distribution by percentile", figure)


def _say_empty(axes: Any) -> None:
    axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center", color="#7f7f7f")
