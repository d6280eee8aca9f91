"""What every iocsim dashboard has around its panels: identity, time, the datasource, alert annotations.

Alerts appear on every time series as Grafana annotations, which the
dispatcher writes through the annotations API with the tags of
:func:`iocsim.consumers.annotations.tags_of`; one annotation query per
severity lets an operator hide the minor ones.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as models

from iocsim.dashboards import variables
from iocsim.dashboards.texts import Texts

GRAFANA = models.DataSourceRef(type_val="grafana", uid="-- Grafana --")
TAGS = ["iocsim"]
SEVERITY_COLOURS = (("critical", "red"), ("warning", "orange"), ("info", "blue"))


def alert_annotation(texts: Texts, severity: str, colour: str) -> dashboard.AnnotationQuery:
    return (
        dashboard.AnnotationQuery()
        .name(texts(f"ann.{severity}"))
        .datasource(GRAFANA)
        .enable(True)
        .icon_color(colour)
        .target(
            dashboard.AnnotationTarget()
            .type("tags")
            .tags(["iocsim", f"severity:{severity}"])
            .match_any(False)
            .limit(100)
        )
    )


def new_dashboard(uid: str, texts: Texts, *, refresh: str = "30s", time_from: str = "now-6h") -> dashboard.Dashboard:
    """An empty dashboard with the ``datasource`` variable first and the alert annotations."""
    board = (
        dashboard.Dashboard(texts(f"{uid.removeprefix('iocsim-')}.title"))
        .uid(uid)
        .tags(TAGS)
        .timezone("browser")
        .time(time_from, "now")
        .refresh(refresh)
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .with_variable(variables.datasource(texts))
    )
    for severity, colour in SEVERITY_COLOURS:
        board = board.annotation(alert_annotation(texts, severity, colour))
    return board
