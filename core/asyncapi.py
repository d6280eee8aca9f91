"""A machine-readable description of every topic and schema (AsyncAPI 3.0), built from the contract.

Integrators read this file instead of our code; a test keeps the committed
copy (``docs/asyncapi.json``) equal to what this module generates.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import msgspec

from iocsim import __version__, contract


def _channel_id(topic: str) -> str:
    parts = topic.removeprefix("ioc.").replace(".", "_").split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def document() -> dict[str, Any]:
    specs = list(contract.TOPICS.values())
    _, schemas = msgspec.json.schema_components(
        [spec.message for spec in specs], ref_template="#/components/schemas/{name}"
    )
    schemas = _cleaned(schemas)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in specs:
        name = spec.message.__name__
        channel = _channel_id(spec.name)
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (spec.message.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": spec.key}, "bindingVersion": "0.5.0"}},
        }
        channels[channel] = {
            "address": spec.name,
            "description": spec.summary,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"publish{channel[0].upper()}{channel[1:]}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "iocsim event streams",
            "version": f"{__version__}+schema.{contract.SCHEMA_VERSION}",
            "description": (
                "Topics and message schemas of iocsim, a simulator of a smart operations centre. Messages are "
                "UTF-8 JSON; times are Unix seconds on the simulation clock; every message carries event_id, "
                "entity_id (the Kafka key; field reports are keyed by district), district, commune, event_time and "
                "schema_version."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:{port}",
                "protocol": "kafka",
                "description": "The embedded broker iocsim starts when no --brokers is given.",
                "variables": {"port": {"description": "Free port chosen at start, printed by iocsim."}},
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _cleaned(schema: Any) -> Any:
    """The schema with every description's docstring indent removed, as msgspec 0.23 on does (0.22 kept it)."""
    if isinstance(schema, dict):
        return {
            key: inspect.cleandoc(value) if key == "description" and isinstance(value, str) else _cleaned(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_cleaned(item) for item in schema]
    return schema


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
