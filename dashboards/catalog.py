"""Every iocsim dashboard, as Grafana JSON models, and their committed files.

``build_all`` is what ``iocsim dashboards build|push`` publishes; the JSON
committed under ``dashboards/json/<lang>/`` is its output, kept identical by
a test, so the dashboards can be imported without Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as models

from iocsim.dashboards import cameras, overview, pipeline_health, reports, services
from iocsim.dashboards.texts import LANGS, Texts

__all__ = ["BUILDERS", "LANGS", "build_all", "dump", "write_all"]

BUILDERS: dict[str, Callable[[Texts], dashboard.Dashboard]] = {
    overview.UID: overview.build,
    cameras.UID: cameras.build,
    reports.UID: reports.build,
    services.UID: services.build,
    pipeline_health.UID: pipeline_health.build,
}


def _number_panels(model: models.Dashboard) -> models.Dashboard:
    """Panel ids in reading order (rows included), so links and annotations can name a panel."""
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return model


def build_all(lang: str = "vi") -> dict[str, dict[str, Any]]:
    """Dashboard uid -> JSON model (the ``dashboard`` field of ``POST /api/dashboards/db``)."""
    texts = Texts(lang)
    built: dict[str, dict[str, Any]] = {}
    for uid, build in BUILDERS.items():
        model = _number_panels(build(texts).build())
        built[uid] = json.loads(json.dumps(model, cls=JSONEncoder))
    return built


def dump(model: dict[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, UTF-8 text (diacritics stay readable)."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(out_dir: Path, lang: str) -> list[Path]:
    """Write ``<uid>.json`` for every dashboard into ``out_dir`` (created if missing); return the paths."""
    models_by_uid = build_all(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for uid, model in models_by_uid.items():
        path = out_dir / f"{uid}.json"
        path.write_text(dump(model), encoding="utf-8")
        paths.append(path)
    return paths
