"""A picture of a dashboard's layout: the 24-column grid with each row and panel box and its title.

It shows where panels sit without a running Grafana (for review and docs);
it draws no data. One grid unit is 30 px tall in Grafana and a column is
1/24 of the width, which the figure keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

COLUMNS = 24
WIDTH_PX = 1600
ROW_PX = 30
DPI = 100
TITLE_PX = 60
COLOURS = {
    "row": "#d0d7e2",
    "stat": "#cfe8cf",
    "timeseries": "#cfe0f5",
    "table": "#f5e6c8",
    "geomap": "#e3d4f2",
    "bargauge": "#f5d0d0",
}


def grid_height(dashboard: dict[str, Any]) -> int:
    """Grid units from the top to the bottom of the lowest panel."""
    return max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard.get("panels", [])), default=1)


def image_size(dashboard: dict[str, Any]) -> tuple[int, int]:
    """Width and height in pixels of the PNG :func:`render_layout` writes for ``dashboard``."""
    return WIDTH_PX, grid_height(dashboard) * ROW_PX + TITLE_PX


def render_layout(dashboard: dict[str, Any], out: Path) -> Path:
    """Draw ``dashboard``'s layout to the PNG ``out`` (parents created) and return ``out``."""
    width, height = image_size(dashboard)
    rows = grid_height(dashboard)
    figure = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    try:
        top = 1 - TITLE_PX / height
        axes = figure.add_axes((0.0, 0.0, 1.0, top))
        axes.set_xlim(0, COLUMNS)
        axes.set_ylim(rows, 0)
        axes.axis("off")
        for column in range(COLUMNS + 1):
            axes.axvline(column, color="#eeeeee", linewidth=0.5, zorder=0)
        figure.text(
            0.01, 1 - TITLE_PX / 2 / height, dashboard.get("title", ""), fontsize=18, va="center", weight="bold"
        )
        for panel in dashboard.get("panels", []):
            _draw_panel(axes, panel)
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, dpi=DPI)
    finally:
        plt.close(figure)
    return out


def _draw_panel(axes: Any, panel: dict[str, Any]) -> None:
    pos = panel["gridPos"]
    kind = panel.get("type", "")
    inset = 0.08
    box = axes.add_patch(
        Rectangle(
            (pos["x"] + inset, pos["y"] + inset),
            pos["w"] - 2 * inset,
            pos["h"] - 2 * inset,
            facecolor=COLOURS.get(kind, "#eeeeee"),
            edgecolor="#55606e",
            linewidth=1.0,
        )
    )
    title = panel.get("title", "")
    if kind == "row":
        axes.text(pos["x"] + 0.3, pos["y"] + pos["h"] / 2, f"▾ {title}", va="center", fontsize=11, weight="bold")
        return
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
    for text in (
        axes.text(pos["x"] + 0.3, pos["y"] + 0.6, title, va="center", fontsize=9, weight="bold"),
        axes.text(pos["x"] + 0.3, pos["y"] + 1.4, f"{kind} · {unit}", va="center", fontsize=8, color="#444444"),
    ):
        text.set_clip_path(box)
