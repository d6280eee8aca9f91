"""Request bodies for alert webhooks: our native JSON, or Alertmanager's webhook format.

The native body follows the Standard Webhooks payload recommendation
(``type``, ``timestamp``, ``data``) with ``data`` the contract's ``Alert``
exactly as it travels on ``ioc.alerts``, so one schema describes both.

The Alertmanager body lets receivers written for Prometheus Alertmanager
(``webhook_config``, version 4) take iocsim alerts unchanged. Each request
carries one transition, grouped by every label (as ``group_by: ['...']``
would), so its ``groupKey`` names one alert and a receiver that resolves
incidents by group never resolves a neighbour's.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Final, Literal, TypeAlias

import msgspec

from iocsim.contract import Alert

PayloadFormat: TypeAlias = Literal["native", "alertmanager"]
FORMATS: Final[tuple[str, ...]] = ("native", "alertmanager")
CONTENT_TYPE: Final = "application/json"

ZERO_TIME: Final = "0001-01-01T00:00:00Z"
"""What Alertmanager sends as ``endsAt`` of an alert that has not ended."""
ALERTMANAGER_VERSION: Final = "4"


def rfc3339(seconds: float) -> str:
    """UTC time with milliseconds and a ``Z``, e.g. ``2023-04-20T08:15:00.250Z``."""
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class NativePayload(msgspec.Struct, frozen=True):
    type: str
    timestamp: str
    data: Alert


class AlertmanagerAlert(msgspec.Struct, frozen=True):
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str  # noqa: N815 - Alertmanager's field names
    endsAt: str  # noqa: N815
    generatorURL: str  # noqa: N815
    fingerprint: str


class AlertmanagerPayload(msgspec.Struct, frozen=True):
    version: str
    groupKey: str  # noqa: N815
    truncatedAlerts: int  # noqa: N815
    status: str
    receiver: str
    groupLabels: dict[str, str]  # noqa: N815
    commonLabels: dict[str, str]  # noqa: N815
    commonAnnotations: dict[str, str]  # noqa: N815
    externalURL: str  # noqa: N815
    alerts: list[AlertmanagerAlert]


_encoder = msgspec.json.Encoder()


def native_body(alert: Alert) -> bytes:
    """``{"type": "alert.firing", "timestamp": <event time>, "data": <Alert>}``."""
    return _encoder.encode(
        NativePayload(type=f"alert.{alert.payload.status}", timestamp=rfc3339(alert.event_time), data=alert)
    )


def labels_of(alert: Alert) -> dict[str, str]:
    """Alertmanager labels: what identifies the alert and routes it (``alertname`` is the rule)."""
    details = alert.payload
    labels = {
        "alertname": details.rule,
        "severity": details.severity,
        "kind": details.kind,
        "district": alert.district,
        "entity": alert.entity_id,
    }
    if alert.commune:
        labels["commune"] = alert.commune
    return labels


def annotations_of(alert: Alert) -> dict[str, str]:
    """Alertmanager annotations: what a human reads (summary, the evidence behind it)."""
    details = alert.payload
    evidence = details.evidence
    annotations = {
        "summary": details.summary or f"{details.kind} on {alert.entity_id}",
        "description": (
            f"observed {evidence.observed:g} against baseline {evidence.baseline:g} "
            f"(threshold {evidence.threshold:g}) at {rfc3339(evidence.event_time)}"
        ),
        "observed": f"{evidence.observed:g}",
        "baseline": f"{evidence.baseline:g}",
        "threshold": f"{evidence.threshold:g}",
        "event_id": alert.event_id,
    }
    if evidence.snapshot_ref:
        annotations["snapshot_ref"] = evidence.snapshot_ref
    return annotations


def group_key(labels: dict[str, str]) -> str:
    """Alertmanager's ``<route>:<group labels>`` key, labels sorted and quoted as Go's LabelSet prints them."""
    pairs = ", ".join(f"{name}={json.dumps(labels[name], ensure_ascii=False)}" for name in sorted(labels))
    return "{}:{" + pairs + "}"


def alertmanager_payload(alert: Alert, receiver: str, external_url: str = "") -> AlertmanagerPayload:
    details = alert.payload
    labels = labels_of(alert)
    annotations = annotations_of(alert)
    if details.status == "resolved":
        ends_at = rfc3339(details.ends_at if details.ends_at is not None else alert.event_time)
    else:
        ends_at = ZERO_TIME
    item = AlertmanagerAlert(
        status=details.status,
        labels=labels,
        annotations=annotations,
        startsAt=rfc3339(details.starts_at),
        endsAt=ends_at,
        generatorURL=external_url,
        fingerprint=details.fingerprint,
    )
    return AlertmanagerPayload(
        version=ALERTMANAGER_VERSION,
        groupKey=group_key(labels),
        truncatedAlerts=0,
        status=details.status,
        receiver=receiver,
        groupLabels=dict(labels),
        commonLabels=dict(labels),
        commonAnnotations=dict(annotations),
        externalURL=external_url,
        alerts=[item],
    )


def alertmanager_body(alert: Alert, receiver: str, external_url: str = "") -> bytes:
    return _encoder.encode(alertmanager_payload(alert, receiver, external_url))


def render(alert: Alert, payload_format: PayloadFormat, receiver: str, external_url: str = "") -> bytes:
    """The exact bytes to sign and send."""
    if payload_format == "alertmanager":
        return alertmanager_body(alert, receiver, external_url)
    return native_body(alert)
