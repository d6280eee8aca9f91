"""Panel builders every dashboard shares: each panel reads Prometheus through the ``$datasource`` variable.

Pointing every panel and every query at the dashboard's datasource variable
(rather than at a datasource uid of one Grafana) is what lets the same JSON
be imported anywhere; the variable falls back to the instance's default
Prometheus datasource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grafana_foundation_sdk.builders import bargauge, common, dashboard, geomap, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import geomap as geomap_models
from grafana_foundation_sdk.models import prometheus as prometheus_models

DATASOURCE = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
Steps = Sequence[tuple[str, float | None]]
OK_THEN_BAD: Steps = (("green", None), ("red", 1.0))
NEUTRAL: Steps = (("blue", None),)


def query(expr: str, legend: str = "", *, instant: bool = False, table_format: bool = False) -> prometheus.Dataquery:
    """A PromQL target; ``legend`` is Grafana's legend template (``{{feed}}``)."""
    target = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    target = target.instant() if instant else target.range()
    if legend:
        target = target.legend_format(legend)
    if table_format:
        target = target.format(prometheus_models.PromQueryFormat.TABLE)
    return target


def thresholds(steps: Steps) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=color) for color, value in steps])
    )


def value_texts(texts: Mapping[float, tuple[str, str]]) -> list[models.ValueMapping]:
    """Value mappings from a number to a display text and a colour (Grafana's ``value`` mapping)."""
    options = {
        f"{value:g}": models.ValueMappingResult(text=text, color=color, index=index)
        for index, (value, (text, color)) in enumerate(sorted(texts.items()))
    }
    return [models.ValueMap(options=options)]


def _targets(expressions: Sequence[prometheus.Dataquery]) -> list[Builder[Dataquery]]:
    return [target.ref_id(chr(ord("A") + n)) for n, target in enumerate(expressions)]


def stat_panel(
    title: str,
    unit: str,
    targets: Sequence[prometheus.Dataquery],
    *,
    width: int,
    height: int = 4,
    steps: Steps = NEUTRAL,
    time_from: str | None = None,
    decimals: float | None = None,
) -> stat.Panel:
    """A big number (the last value of each series), coloured by ``steps``."""
    panel = (
        stat.Panel()
        .title(title)
        .unit(unit)
        .datasource(DATASOURCE)
        .targets(_targets(targets))
        .span(width)
        .height(height)
        .thresholds(thresholds(steps))
        .color_mode(common_models.BigValueColorMode.BACKGROUND)
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if time_from is not None:
        panel = panel.time_from(time_from)
    if decimals is not None:
        panel = panel.decimals(decimals)
    return panel


def timeseries_panel(
    title: str, unit: str, targets: Sequence[prometheus.Dataquery], *, width: int, height: int = 8
) -> timeseries.Panel:
    """Lines over time (dashboard annotations, the alerts, are drawn on these)."""
    return (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .datasource(DATASOURCE)
        .targets(_targets(targets))
        .span(width)
        .height(height)
        .fill_opacity(10)
        .legend(
            common.VizLegendOptions()
            .display_mode(common_models.LegendDisplayMode.LIST)
            .placement(common_models.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )


def table_panel(
    title: str,
    unit: str,
    targets: Sequence[prometheus.Dataquery],
    *,
    width: int,
    height: int,
    columns: Mapping[str, str],
    mappings: list[models.ValueMapping] | None = None,
    steps: Steps = NEUTRAL,
) -> table.Panel:
    """An instant table keeping (and renaming) only ``columns`` of the query's labels and value."""
    hidden = {"Time": True}
    panel = (
        table.Panel()
        .title(title)
        .unit(unit)
        .datasource(DATASOURCE)
        .targets(_targets(targets))
        .span(width)
        .height(height)
        .thresholds(thresholds(steps))
        .align(common_models.FieldTextAlignment.AUTO)
        .inspect(False)
        .with_transformation(
            models.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": hidden,
                    "indexByName": {name: n for n, name in enumerate(columns)},
                    "renameByName": dict(columns),
                },
            )
        )
    )
    if mappings is not None:
        panel = panel.mappings(mappings)
    return panel


def bargauge_panel(
    title: str, unit: str, targets: Sequence[prometheus.Dataquery], *, width: int, height: int = 8
) -> bargauge.Panel:
    """One bar per series, for shares at a glance (e.g. reports by category)."""
    return (
        bargauge.Panel()
        .title(title)
        .unit(unit)
        .datasource(DATASOURCE)
        .targets(_targets(targets))
        .span(width)
        .height(height)
        .thresholds(thresholds(NEUTRAL))
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def camera_map_panel(
    title: str,
    layer_name: str,
    expr: str,
    states: Mapping[float, tuple[str, str]],
    *,
    width: int,
    height: int,
) -> geomap.Panel:
    """Cameras as markers at their ``latitude``/``longitude`` labels, coloured by their state code."""
    colours: Steps = tuple((colour, None if n == 0 else value) for n, (value, (_, colour)) in enumerate(states.items()))
    markers = (
        common.MapLayerOptions()
        .type("markers")
        .name(layer_name)
        .location(
            common.FrameGeometrySource()
            .mode(common_models.FrameGeometrySourceMode.COORDS)
            .latitude("latitude")
            .longitude("longitude")
        )
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "Value", "fixed": "dark-green"},
                    "opacity": 0.9,
                    "size": {"fixed": 9, "min": 4, "max": 15},
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                },
            }
        )
        .tooltip(True)
    )
    return (
        geomap.Panel()
        .title(title)
        .unit("none")
        .datasource(DATASOURCE)
        .targets(_targets([query(expr, instant=True, table_format=True)]))
        .span(width)
        .height(height)
        .thresholds(thresholds(colours))
        .mappings(value_texts(states))
        .with_transformation(
            models.DataTransformerConfig(
                id_val="convertFieldType",
                options={
                    "conversions": [
                        {"targetField": "latitude", "destinationType": "number"},
                        {"targetField": "longitude", "destinationType": "number"},
                    ],
                    "fields": {},
                },
            )
        )
        .color_scheme(dashboard.FieldColor().mode(models.FieldColorModeId.THRESHOLDS))
        .view(geomap_view())
        .basemap(common.MapLayerOptions().type("default").name("Basemap"))
        .controls(geomap.ControlsOptions().show_zoom(True).mouse_wheel_zoom(True))
        .layers([markers])
        .tooltip(geomap.TooltipOptions().mode(geomap_models.TooltipMode.DETAILS))
    )


def geomap_view() -> geomap.MapViewConfig:
    """Fit the markers; the fallback centre is the province (the SDK types the centre as whole degrees)."""
    return geomap.MapViewConfig().id("fit").lat(22).lon(103).zoom(8).all_layers(True)
