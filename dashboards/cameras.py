"""Security cameras, drilled down by district: status counts, the map, each camera, camera alerts."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from iocsim.dashboards import variables
from iocsim.dashboards.frame import new_dashboard
from iocsim.dashboards.panels import (
    OK_THEN_BAD,
    camera_map_panel,
    query,
    stat_panel,
    table_panel,
    timeseries_panel,
    value_texts,
)
from iocsim.dashboards.queries import camera_state_texts, camera_states
from iocsim.dashboards.texts import Texts

UID = "iocsim-cameras"
IN_DISTRICT = '{district=~"$district"}'
CAMERA_ALERT_KINDS = "camera_offline|camera_covered|camera_defocused|camera_turned|crowd|night_intrusion"


def build(texts: Texts) -> dashboard.Dashboard:
    states = camera_state_texts(texts)
    return (
        new_dashboard(UID, texts)
        .with_variable(variables.district(texts, "iocsim_cameras"))
        .with_row(dashboard.Row(texts("row.status")))
        .with_panel(
            stat_panel(
                texts("p.cameras_online"),
                texts("unit.cameras"),
                [query('sum(iocsim_cameras{district=~"$district", status="online"})', instant=True)],
                width=6,
                steps=(("green", None),),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.cameras_offline"),
                texts("unit.cameras"),
                [query('sum(iocsim_cameras{district=~"$district", status="offline"})', instant=True)],
                width=6,
                steps=OK_THEN_BAD,
            )
        )
        .with_panel(
            stat_panel(
                texts("p.cameras_tampered"),
                texts("unit.cameras"),
                [query(f"count({camera_states(IN_DISTRICT)} == 2) or vector(0)", instant=True)],
                width=6,
                steps=OK_THEN_BAD,
            )
        )
        .with_panel(
            stat_panel(
                texts("p.cameras_online_pct"),
                "percentunit",
                [
                    query(
                        'sum(iocsim_cameras{district=~"$district", status="online"})'
                        f" / sum(iocsim_cameras{IN_DISTRICT})",
                        instant=True,
                    )
                ],
                width=6,
                steps=(("red", None), ("orange", 0.8), ("green", 0.95)),
            )
        )
        .with_panel(
            camera_map_panel(
                texts("p.camera_map"), texts("col.camera"), camera_states(IN_DISTRICT), states, width=12, height=12
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.cameras_by_status"),
                texts("unit.cameras"),
                [query(f"sum by (status) (iocsim_cameras{IN_DISTRICT})", "{{status}}")],
                width=12,
                height=12,
            )
        )
        .with_row(dashboard.Row(texts("row.cameras")))
        .with_panel(
            table_panel(
                texts("p.camera_table"),
                "none",
                [
                    query(
                        f"max by (camera, district) (iocsim_camera_state{IN_DISTRICT})", instant=True, table_format=True
                    )
                ],
                width=12,
                height=10,
                columns={
                    "camera": texts("col.camera"),
                    "district": texts("col.district"),
                    "Value": texts("col.status"),
                },
                mappings=value_texts(states),
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.camera_alerts"),
                texts("unit.alerts"),
                [query(f'sum by (kind) (iocsim_alerts_active{{kind=~"{CAMERA_ALERT_KINDS}"}})', "{{kind}}")],
                width=12,
                height=10,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.camera_rate"),
                texts("unit.events_per_second"),
                [
                    query(
                        'sum by (feed) (rate(iocsim_events_processed_total{feed="cameras"}[$__rate_interval]))',
                        "{{feed}}",
                    )
                ],
                width=24,
                height=6,
            )
        )
    )
