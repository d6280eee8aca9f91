from __future__ import annotations

import json
from pathlib import Path

from iocsim import contract
from iocsim.asyncapi import document, render

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def test_committed_description_is_in_sync() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), "run: iocsim contract --out docs/asyncapi.json"


def test_every_topic_is_described_with_its_schema() -> None:
    doc = document()
    assert doc["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert addresses == set(contract.TOPICS)
    schemas = doc["components"]["schemas"]
    for spec in contract.TOPICS.values():
        schema = schemas[spec.message.__name__]
        assert {"event_id", "entity_id", "district", "event_time", "schema_version", "payload"} <= set(
            schema["properties"]
        )
    json.dumps(doc)
