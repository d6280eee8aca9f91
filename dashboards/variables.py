"""Template variables: the datasource every panel reads, and the drill-down filters (district, office)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as models

from iocsim.dashboards.panels import DATASOURCE
from iocsim.dashboards.texts import Texts

ALL = ".*"


def datasource(texts: Texts) -> dashboard.DatasourceVariable:
    """Any Prometheus datasource of the Grafana; left unset it is the instance's default one."""
    return dashboard.DatasourceVariable("datasource").label(texts("var.datasource")).type("prometheus")


def label_filter(name: str, label: str, metric: str) -> dashboard.QueryVariable:
    """A multi-value filter over the values ``label`` takes on ``metric``; "All" matches every value."""
    everything = models.VariableOption(selected=True, text="All", value="$__all")
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, {name})")
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(ALL)
        .current(everything)
    )


def district(texts: Texts, metric: str) -> dashboard.QueryVariable:
    return label_filter("district", texts("var.district"), metric)


def office(texts: Texts) -> dashboard.QueryVariable:
    return label_filter("office", texts("var.office"), "iocsim_queue_length")
