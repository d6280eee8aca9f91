"""Public services (one-stop-shop offices and the portal), drilled down by office: queues, waits, dossiers."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from iocsim.dashboards import variables
from iocsim.dashboards.frame import new_dashboard
from iocsim.dashboards.panels import OK_THEN_BAD, query, stat_panel, timeseries_panel
from iocsim.dashboards.queries import queue_wait_quantile
from iocsim.dashboards.texts import Texts

UID = "iocsim-services"
IN_OFFICE = '{office=~"$office"}'
SERVICE_ALERT_KINDS = "counter_closure|queue_surge|portal_outage|processing_backlog"


def build(texts: Texts) -> dashboard.Dashboard:
    return (
        new_dashboard(UID, texts)
        .with_variable(variables.office(texts))
        .with_row(dashboard.Row(texts("row.kpis")))
        .with_panel(
            stat_panel(
                texts("p.queue_now"),
                texts("unit.people"),
                [query(f"sum(iocsim_queue_length{IN_OFFICE})", instant=True)],
                width=5,
                steps=(("green", None), ("orange", 30.0), ("red", 60.0)),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.wait_p50"),
                "s",
                [query(queue_wait_quantile(0.5, "$__range", IN_OFFICE), instant=True)],
                width=5,
                steps=(("green", None), ("orange", 1800.0), ("red", 3600.0)),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.wait_p90"),
                "s",
                [query(queue_wait_quantile(0.9, "$__range", IN_OFFICE), instant=True)],
                width=5,
                steps=(("green", None), ("orange", 2700.0), ("red", 5400.0)),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.on_time"),
                "percentunit",
                [query(f"avg(iocsim_dossiers_on_time_ratio{IN_OFFICE})", instant=True)],
                width=5,
                steps=(("red", None), ("orange", 0.9), ("green", 0.97)),
            )
        )
        .with_panel(
            stat_panel(
                texts("p.service_alerts"),
                texts("unit.alerts"),
                [query(f'sum(iocsim_alerts_active{{kind=~"{SERVICE_ALERT_KINDS}"}}) or vector(0)', instant=True)],
                width=4,
                steps=OK_THEN_BAD,
                decimals=0,
            )
        )
        .with_row(dashboard.Row(texts("row.queues")))
        .with_panel(
            timeseries_panel(
                texts("p.queue_by_office"),
                texts("unit.people"),
                [query(f"sum by (office) (iocsim_queue_length{IN_OFFICE})", "{{office}}")],
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.counters_by_office"),
                texts("unit.counters"),
                [query(f"sum by (office) (iocsim_counters_open{IN_OFFICE})", "{{office}}")],
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.wait_quantiles"),
                "s",
                [
                    query(queue_wait_quantile(0.5, "$__rate_interval", IN_OFFICE), "p50"),
                    query(queue_wait_quantile(0.9, "$__rate_interval", IN_OFFICE), "p90"),
                ],
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.tickets_called"),
                texts("unit.tickets_per_hour"),
                [
                    query(
                        f"sum by (office) (rate(iocsim_queue_wait_seconds_count{IN_OFFICE}[$__rate_interval])) * 3600",
                        "{{office}}",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.service_alerts"),
                texts("unit.alerts"),
                [query(f'sum by (kind) (iocsim_alerts_active{{kind=~"{SERVICE_ALERT_KINDS}"}})', "{{kind}}")],
                width=24,
            )
        )
        .with_row(dashboard.Row(texts("row.dossiers")))
        .with_panel(
            timeseries_panel(
                texts("p.on_time_by_office"),
                "percentunit",
                [query(f"avg by (office) (iocsim_dossiers_on_time_ratio{IN_OFFICE})", "{{office}}")],
                width=24,
            )
        )
    )
