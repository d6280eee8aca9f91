"""The dashboards as built: committed JSON in sync, valid for the SDK's typed models, a sound grid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from iocsim.consumers.annotations import tags_of
from iocsim.contract import Alert, AlertDetails, Evidence
from iocsim.dashboards.catalog import LANGS, build_all, dump, write_all
from iocsim.dashboards.errors import DashboardError, UnknownLanguage
from iocsim.dashboards.texts import TABLE

JSON_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
UIDS = {"iocsim-overview", "iocsim-cameras", "iocsim-reports", "iocsim-services", "iocsim-pipeline"}


@pytest.fixture(scope="module")
def built() -> dict[str, dict[str, dict[str, Any]]]:
    return {lang: build_all(lang) for lang in LANGS}


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if p["type"] != "row"]


@pytest.mark.parametrize("lang", LANGS)
def test_committed_json_is_the_builders_output(lang: str, built: dict[str, Any], tmp_path: Path) -> None:
    committed = {p.stem: p.read_text(encoding="utf-8") for p in sorted((JSON_DIR / lang).glob("*.json"))}
    assert set(committed) == UIDS, "regenerate with iocsim.dashboards.catalog.write_all"
    for uid, model in built[lang].items():
        assert committed[uid] == dump(model), f"{lang}/{uid}.json drifted from its builder"
    written = write_all(tmp_path, lang)
    assert [p.read_text(encoding="utf-8") for p in written] == [committed[p.stem] for p in written]


@pytest.mark.parametrize("lang", LANGS)
def test_every_dashboard_round_trips_through_the_sdk_typed_models(lang: str, built: dict[str, Any]) -> None:
    """A key the typed models do not know (a typo, a misplaced option) is dropped on the way and shows here."""
    register_default_plugins()
    for uid, model in built[lang].items():
        again = json.loads(json.dumps(Dashboard.from_json(model), cls=JSONEncoder))
        assert again == model, uid


@pytest.mark.parametrize("lang", LANGS)
def test_every_panel_has_title_unit_and_the_datasource_variable(lang: str, built: dict[str, Any]) -> None:
    for uid, model in built[lang].items():
        variables = {v["name"]: v for v in model["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in panels(model):
            where = f"{uid} panel {panel['id']}"
            assert panel["title"].strip(), where
            assert panel["fieldConfig"]["defaults"]["unit"], where
            assert panel["datasource"] == DATASOURCE, where
            assert panel["targets"], where
            for target in panel["targets"]:
                assert target["datasource"] == DATASOURCE, where
                assert target["expr"].strip(), where
        for row in (p for p in model["panels"] if p["type"] == "row"):
            assert row["title"].strip() and row["panels"] == [] and not row["collapsed"], uid


@pytest.mark.parametrize("lang", LANGS)
def test_panels_sit_on_the_24_column_grid_without_overlapping(lang: str, built: dict[str, Any]) -> None:
    for uid, model in built[lang].items():
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids)), uid
        taken: dict[tuple[int, int], int] = {}
        for panel in model["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["y"] >= 0 and pos["w"] > 0 and pos["h"] > 0, (uid, panel["id"])
            assert pos["x"] + pos["w"] <= 24, (uid, panel["id"])
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in taken, f"{uid}: panels {taken.get((x, y))} and {panel['id']} overlap"
                    taken[(x, y)] = panel["id"]


def _structure(value: Any) -> Any:
    """The model with every string that a translation may change blanked (titles, names, units, texts)."""
    if isinstance(value, dict):
        return {
            k: ("" if k in {"title", "name", "label", "text", "unit", "legendFormat"} else _structure(v))
            for k, v in value.items()
            if k not in {"renameByName"}
        }
    if isinstance(value, list):
        return [_structure(v) for v in value]
    return value


def test_vietnamese_and_english_differ_only_in_words(built: dict[str, Any]) -> None:
    assert set(built["vi"]) == set(built["en"]) == UIDS
    for uid in UIDS:
        assert _structure(built["vi"][uid]) == _structure(built["en"][uid]), uid
        assert built["vi"][uid]["title"] != built["en"][uid]["title"]
    assert all(vi and en for vi, en in TABLE.values())


def test_vietnamese_is_the_default_language() -> None:
    assert build_all() == build_all("vi")


def test_an_unknown_language_is_refused_by_name() -> None:
    with pytest.raises(UnknownLanguage, match="'fr'") as caught:
        build_all("fr")
    assert isinstance(caught.value, DashboardError)


def test_alert_annotations_query_the_tags_the_dispatcher_writes(built: dict[str, Any]) -> None:
    for severity in ("critical", "warning", "info"):
        alert = Alert(
            event_id="e",
            entity_id="MA-03",
            district="muong-ang",
            commune=None,
            event_time=1.0,
            payload=AlertDetails(
                fingerprint="f" * 16,
                rule="r",
                kind="camera_covered",
                status="firing",
                severity=severity,  # type: ignore[arg-type]
                starts_at=1.0,
                ends_at=None,
                summary="s",
                evidence=Evidence(observed=1.0, baseline=2.0, threshold=3.0, event_time=1.0),
            ),
        )
        written = set(tags_of(alert))
        for uid, model in built["vi"].items():
            queries = model["annotations"]["list"]
            matching = [q for q in queries if set(q["target"]["tags"]) <= written]
            assert len(matching) == 1, (uid, severity)
            assert matching[0]["datasource"] == {"type": "grafana", "uid": "-- Grafana --"}
            assert matching[0]["target"]["type"] == "tags" and matching[0]["target"]["matchAny"] is False
