"""Citizen field reports, drilled down by district: volume, categories, report alerts."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from iocsim.dashboards import variables
from iocsim.dashboards.frame import new_dashboard
from iocsim.dashboards.panels import OK_THEN_BAD, bargauge_panel, query, stat_panel, timeseries_panel
from iocsim.dashboards.texts import Texts

UID = "iocsim-reports"
IN_DISTRICT = '{district=~"$district"}'
REPORT_ALERT_KINDS = "incident_burst|category_surge|report_overdue|correlated_incident"


def build(texts: Texts) -> dashboard.Dashboard:
    return (
        new_dashboard(UID, texts)
        .with_variable(variables.district(texts, "iocsim_reports_total"))
        .with_row(dashboard.Row(texts("row.kpis")))
        .with_panel(
            stat_panel(
                texts("p.reports_today"),
                texts("unit.reports"),
                [query(f"sum(increase(iocsim_reports_total{IN_DISTRICT}[$__range]))", instant=True)],
                width=8,
                time_from="now/d",
                decimals=0,
            )
        )
        .with_panel(
            stat_panel(
                texts("p.reports_rate"),
                texts("unit.reports_per_hour"),
                [query(f"sum(rate(iocsim_reports_total{IN_DISTRICT}[$__rate_interval])) * 3600", instant=True)],
                width=8,
            )
        )
        .with_panel(
            stat_panel(
                texts("p.report_alerts"),
                texts("unit.alerts"),
                [query(f'sum(iocsim_alerts_active{{kind=~"{REPORT_ALERT_KINDS}"}}) or vector(0)', instant=True)],
                width=8,
                steps=OK_THEN_BAD,
                decimals=0,
            )
        )
        .with_row(dashboard.Row(texts("row.trends")))
        .with_panel(
            timeseries_panel(
                texts("p.reports_by_category"),
                texts("unit.reports_per_hour"),
                [
                    query(
                        f"sum by (category) (rate(iocsim_reports_total{IN_DISTRICT}[$__rate_interval])) * 3600",
                        "{{category}}",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.reports_by_district"),
                texts("unit.reports_per_hour"),
                [
                    query(
                        f"sum by (district) (rate(iocsim_reports_total{IN_DISTRICT}[$__rate_interval])) * 3600",
                        "{{district}}",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            bargauge_panel(
                texts("p.reports_range_by_category"),
                texts("unit.reports"),
                [
                    query(
                        f"sum by (category) (increase(iocsim_reports_total{IN_DISTRICT}[$__range]))",
                        "{{category}}",
                        instant=True,
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.firing_by_kind"),
                texts("unit.alerts"),
                [query(f'sum by (kind) (iocsim_alerts_active{{kind=~"{REPORT_ALERT_KINDS}"}})', "{{kind}}")],
                width=12,
            )
        )
    )
