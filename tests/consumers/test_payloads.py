"""Request bodies: the native body carries the contract's Alert; the Alertmanager body passes its schema."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from iocsim.consumers.payloads import ZERO_TIME, alertmanager_body, group_key, native_body, rfc3339
from iocsim.contract import ALERTS, Alert, decode, encode

AlertFactory = Callable[..., Alert]

# Alertmanager's webhook_config payload (prometheus.io/docs/alerting/latest/configuration/#webhook_config,
# "version 4"), written as JSON Schema: labels and annotations are string maps (Go model.LabelSet),
# times are RFC 3339, ``0001-01-01T00:00:00Z`` standing for "not ended".
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
ALERTMANAGER_WEBHOOK_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    ],
    "properties": {
        "version": {"const": "4"},
        "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer", "minimum": 0},
        "status": {"enum": ["firing", "resolved"]},
        "receiver": {"type": "string"},
        "groupLabels": STRING_MAP,
        "commonLabels": STRING_MAP,
        "commonAnnotations": STRING_MAP,
        "externalURL": {"type": "string"},
        "alerts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"],
                "properties": {
                    "status": {"enum": ["firing", "resolved"]},
                    "labels": STRING_MAP,
                    "annotations": STRING_MAP,
                    "startsAt": {"type": "string", "pattern": RFC3339},
                    "endsAt": {"type": "string", "pattern": RFC3339},
                    "generatorURL": {"type": "string"},
                    "fingerprint": {"type": "string"},
                },
            },
        },
    },
}

_TYPES: dict[str, type | tuple[type, ...]] = {"object": dict, "array": list, "string": str, "integer": int}


def check_schema(value: Any, schema: dict[str, Any], path: str = "$") -> None:
    """Field-by-field check of the keywords the schema above uses (jsonschema is not installed)."""
    if "type" in schema:
        assert isinstance(value, _TYPES[schema["type"]]) and not isinstance(value, bool), f"{path}: {schema['type']}"
    if "const" in schema:
        assert value == schema["const"], f"{path}: must be {schema['const']!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if "pattern" in schema:
        assert re.search(schema["pattern"], value), f"{path}: {value!r} does not match {schema['pattern']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{path}: below {schema['minimum']}"
    for name in schema.get("required", []):
        assert name in value, f"{path}: missing {name}"
    for name, sub in schema.get("properties", {}).items():
        if name in value:
            check_schema(value[name], sub, f"{path}.{name}")
    if "additionalProperties" in schema:
        for name, item in value.items():
            if name not in schema.get("properties", {}):
                check_schema(item, schema["additionalProperties"], f"{path}.{name}")
    if "items" in schema:
        assert len(value) >= schema.get("minItems", 0), f"{path}: too few items"
        for i, item in enumerate(value):
            check_schema(item, schema["items"], f"{path}[{i}]")


def validate(document: Any) -> None:
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:
        check_schema(document, ALERTMANAGER_WEBHOOK_SCHEMA)
    else:  # pragma: no cover - only where jsonschema is installed
        jsonschema.validate(document, ALERTMANAGER_WEBHOOK_SCHEMA)


@pytest.mark.parametrize("status", ["firing", "resolved"])
def test_alertmanager_body_validates_against_the_webhook_schema(alert_factory: AlertFactory, status: str) -> None:
    alert = alert_factory(7, status)
    document = json.loads(alertmanager_body(alert, "ops-pager", "http://grafana.example:3000/d/ioc"))
    validate(document)
    item = document["alerts"][0]
    assert document["status"] == item["status"] == status
    assert document["receiver"] == "ops-pager"
    assert item["fingerprint"] == alert.payload.fingerprint
    assert item["labels"]["alertname"] == alert.payload.rule
    assert item["labels"]["severity"] == "critical" and item["labels"]["district"] == "muong-ang"
    assert item["annotations"]["summary"] == alert.payload.summary
    assert item["startsAt"] == rfc3339(alert.payload.starts_at)
    if status == "firing":
        assert item["endsAt"] == ZERO_TIME
    else:
        assert item["endsAt"] == rfc3339(alert.payload.starts_at + 60.0)


def test_schema_check_catches_what_alertmanager_receivers_would_choke_on(alert_factory: AlertFactory) -> None:
    document = json.loads(alertmanager_body(alert_factory(1), "r"))
    broken = json.loads(json.dumps(document))
    broken["alerts"][0]["labels"]["observed"] = 31.0
    with pytest.raises(AssertionError, match=r"labels\.observed"):
        check_schema(broken, ALERTMANAGER_WEBHOOK_SCHEMA)
    del document["groupKey"]
    with pytest.raises(AssertionError, match="missing groupKey"):
        check_schema(document, ALERTMANAGER_WEBHOOK_SCHEMA)


def test_group_key_names_one_alert_and_is_shared_by_its_transitions(alert_factory: AlertFactory) -> None:
    firing = json.loads(alertmanager_body(alert_factory(3), "r"))
    resolved = json.loads(alertmanager_body(alert_factory(3, "resolved"), "r"))
    other = json.loads(alertmanager_body(alert_factory(4), "r"))
    assert firing["groupKey"] == resolved["groupKey"] != other["groupKey"]
    assert firing["groupKey"].startswith('{}:{alertname="crowd_rule", district="muong-ang", entity="CAM-003"')
    assert group_key({"b": 'say "hi"', "a": "x"}) == '{}:{a="x", b="say \\"hi\\""}'


def test_native_body_carries_the_contract_alert_unchanged(alert_factory: AlertFactory) -> None:
    alert = alert_factory(5, "resolved")
    document = json.loads(native_body(alert))
    assert document["type"] == "alert.resolved"
    assert document["timestamp"] == rfc3339(alert.event_time)
    assert decode(ALERTS, json.dumps(document["data"], separators=(",", ":")).encode()) == alert
    assert json.dumps(document["data"], separators=(",", ":")).encode() == encode(alert)


def test_rfc3339_is_utc_with_milliseconds() -> None:
    assert rfc3339(1_746_996_000.25) == "2025-05-11T20:40:00.250Z"
