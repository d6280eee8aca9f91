"""The operations-centre wall: key figures, the camera map, firing alerts, and trends with alert annotations."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from iocsim.dashboards.frame import new_dashboard
from iocsim.dashboards.panels import OK_THEN_BAD, camera_map_panel, query, stat_panel, table_panel, timeseries_panel
from iocsim.dashboards.queries import camera_state_texts, camera_states, events_per_feed_panel, queue_wait_quantile
from iocsim.dashboards.texts import Texts

UID = "iocsim-overview"


def build(texts: Texts) -> dashboard.Dashboard:
    states = camera_state_texts(texts)
    return (
        new_dashboard(UID, texts, refresh="10s")
        .with_row(dashboard.Row(texts("row.kpis")))
        .with_panel(
            stat_panel(
                texts("p.cameras_online_pct"),
                "percentunit",
                [query('sum(iocsim_cameras{status="online"}) / sum(iocsim_cameras)', instant=True)],
                width=4,
                steps=(("red", None), ("orange", 0.8), ("green", 0.95)),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.reports_today"),
                texts("unit.reports"),
                [query("sum(increase(iocsim_reports_total[$__range]))", instant=True)],
                width=4,
                time_from="now/d",
                decimals=0,
            )
        )
        .with_panel(
            stat_panel(
                texts("p.wait_p50"),
                "s",
                [query(queue_wait_quantile(0.5, "$__range"), instant=True)],
                width=4,
                steps=(("green", None), ("orange", 1800.0), ("red", 3600.0)),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.wait_p90"),
                "s",
                [query(queue_wait_quantile(0.9, "$__range"), instant=True)],
                width=4,
                steps=(("green", None), ("orange", 2700.0), ("red", 5400.0)),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.on_time"),
                "percentunit",
                [query("avg(iocsim_dossiers_on_time_ratio)", instant=True)],
                width=4,
                steps=(("red", None), ("orange", 0.9), ("green", 0.97)),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.firing_by_severity"),
                texts("unit.alerts"),
                [query("sum by (severity) (iocsim_alerts_active)", "{{severity}}", instant=True)],
                width=4,
                steps=OK_THEN_BAD,
                decimals=0,
            )
        )
        .with_row(dashboard.Row(texts("row.map")))
        .with_panel(
            camera_map_panel(texts("p.camera_map"), texts("col.camera"), camera_states(), states, width=14, height=14)
        )
        .with_panel(
            table_panel(
                texts("p.firing_table"),
                texts("unit.alerts"),
                [query("sum by (kind, severity) (iocsim_alerts_active) > 0", instant=True, table_format=True)],
                width=10,
                height=14,
                columns={"kind": texts("col.kind"), "severity": texts("col.severity"), "Value": texts("col.firing")},
                steps=OK_THEN_BAD,
            )
        )
        .with_row(dashboard.Row(texts("row.trends")))
        .with_panel(events_per_feed_panel(texts))
        .with_panel(
            timeseries_panel(
                texts("p.firing_by_kind"),
                texts("unit.alerts"),
                [query("sum by (kind) (iocsim_alerts_active)", "{{kind}}")],
                width=12,
            )
        )
    )
