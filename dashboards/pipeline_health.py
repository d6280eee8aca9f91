"""Pipeline health for whoever runs iocsim: feed rates, lag, dead letters, detection and webhook delivery.

The load-harness row plots the ``iocsim_load_*`` series of ``iocsim load``;
it is empty when no load test runs.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from iocsim.dashboards.frame import new_dashboard
from iocsim.dashboards.panels import OK_THEN_BAD, query, stat_panel, timeseries_panel
from iocsim.dashboards.queries import events_per_feed_panel
from iocsim.dashboards.texts import Texts

UID = "iocsim-pipeline"


def _quantile(q: float, metric: str, by: str = "") -> str:
    return f"histogram_quantile({q:g}, sum by (le{by}) (rate({metric}_bucket[$__rate_interval])))"


def build(texts: Texts) -> dashboard.Dashboard:
    return (
        new_dashboard(UID, texts, time_from="now-1h")
        .with_row(dashboard.Row(texts("row.feeds")))
        .with_panel(events_per_feed_panel(texts))
        .with_panel(
            timeseries_panel(
                texts("p.consumer_lag"),
                texts("unit.messages"),
                [query("sum by (topic) (iocsim_consumer_lag_messages)", "{{topic}}")],
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.dead_letters"),
                texts("unit.per_second"),
                [
                    query(
                        "sum by (topic, reason_class) (rate(iocsim_dead_letters_total[$__rate_interval]))",
                        "{{topic}} {{reason_class}}",
                    )
                ],
                width=18,
            )
        )
        .with_panel(
            stat_panel(
                texts("p.detector_errors"),
                texts("unit.errors"),
                [query("sum(increase(iocsim_detector_errors_total[$__range])) or vector(0)", instant=True)],
                width=6,
                height=8,
                steps=OK_THEN_BAD,
                decimals=0,
            )
        )
        .with_row(dashboard.Row(texts("row.detection")))
        .with_panel(
            timeseries_panel(
                texts("p.detection_latency"),
                "s",
                [
                    query(_quantile(0.5, "iocsim_detection_latency_seconds"), texts("legend.p50")),
                    query(_quantile(0.9, "iocsim_detection_latency_seconds"), "p90"),
                ],
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.processing_latency"),
                "s",
                [query(_quantile(0.9, "iocsim_alert_processing_latency_seconds", ", kind"), "{{kind}}")],
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.alert_transitions"),
                texts("unit.per_second"),
                [query("sum by (status) (rate(iocsim_alert_transitions_total[$__rate_interval]))", "{{status}}")],
                width=8,
            )
        )
        .with_row(dashboard.Row(texts("row.webhooks")))
        .with_panel(
            timeseries_panel(
                texts("p.webhook_deliveries"),
                texts("unit.per_second"),
                [
                    query(
                        "sum by (outcome) (rate(iocsim_webhook_deliveries_total[$__rate_interval]))",
                        "{{outcome}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.webhook_attempts"),
                texts("unit.per_second"),
                [
                    query(
                        "sum by (status_class) (rate(iocsim_webhook_attempts_total[$__rate_interval]))",
                        "{{status_class}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.webhook_latency"),
                "s",
                [
                    query(_quantile(0.5, "iocsim_webhook_delivery_latency_seconds"), texts("legend.p50")),
                    query(_quantile(0.99, "iocsim_webhook_delivery_latency_seconds"), "p99"),
                ],
                width=8,
            )
        )
        .with_panel(
            stat_panel(
                texts("p.webhook_dead_letters"),
                texts("unit.messages"),
                [query("sum(increase(iocsim_webhook_dead_letters_total[$__range]))", instant=True)],
                width=12,
                steps=OK_THEN_BAD,
                decimals=0,
            )
        )
        .with_panel(
            stat_panel(
                texts("p.webhook_in_flight"),
                texts("unit.alerts"),
                [query("sum(iocsim_webhook_in_flight)", instant=True)],
                width=12,
                decimals=0,
            )
        )
        .with_row(dashboard.Row(texts("row.load")))
        .with_panel(
            timeseries_panel(
                texts("p.load_rates"),
                texts("unit.events_per_second"),
                [
                    query(f"sum(rate(iocsim_load_{stage}_events_total[$__rate_interval]))", texts(f"legend.{stage}"))
                    for stage in ("offered", "sent", "acked")
                ],
                width=6,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.load_latency"),
                "s",
                [query(_quantile(0.99, "iocsim_load_latency_seconds", ", measure"), "{{measure}}")],
                width=6,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.load_behind"),
                "s",
                [query("max(iocsim_load_behind_seconds)", texts("p.load_behind"))],
                width=6,
            )
        )
        .with_panel(
            timeseries_panel(
                texts("p.load_errors"),
                texts("unit.per_second"),
                [query("sum by (kind) (rate(iocsim_load_errors_total[$__rate_interval]))", "{{kind}}")],
                width=6,
            )
        )
    )
