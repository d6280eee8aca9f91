"""PromQL shared by several dashboards. Every expression aggregates over workers: each reports only its partitions."""

from __future__ import annotations

from grafana_foundation_sdk.builders import timeseries

from iocsim.dashboards.panels import query, timeseries_panel
from iocsim.dashboards.texts import Texts


def camera_state_texts(texts: Texts) -> dict[float, tuple[str, str]]:
    """The codes of ``iocsim_camera_state`` with their words and map colours."""
    return {
        0.0: (texts("state.offline"), "red"),
        1.0: (texts("state.online"), "green"),
        2.0: (texts("state.tampered"), "orange"),
    }


def camera_states(selector: str = "") -> str:
    """One row per camera with its coordinates; ``max`` because during a rebalance two workers may report it."""
    return f"max by (camera, district, latitude, longitude) (iocsim_camera_state{selector})"


def queue_wait_quantile(q: float, window: str, selector: str = "") -> str:
    return f"histogram_quantile({q:g}, sum by (le) (increase(iocsim_queue_wait_seconds_bucket{selector}[{window}])))"


def events_per_feed_panel(texts: Texts) -> timeseries.Panel:
    """Events processed per feed: on the wall and on the pipeline dashboard alike."""
    return timeseries_panel(
        texts("p.events_per_feed"),
        texts("unit.events_per_second"),
        [query("sum by (feed) (rate(iocsim_events_processed_total[$__rate_interval]))", "{{feed}}")],
        width=12,
    )
