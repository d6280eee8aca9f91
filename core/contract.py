"""The contract every iocsim process speaks: topic names and message schemas.

Producers, Faust agents, consumers and an integrator's own code all read
messages through this module alone, so none of them needs Faust (or Python) to
understand a topic. Messages are JSON encoded with msgspec: it validates while
it decodes and encodes several times faster than the standard library, which
matters at load-test rates (see ``benchmarks/bench_contract.py``).

Every message carries the same envelope (event id, entity id, district,
commune, event time in sim time, schema version) and a typed ``payload``.
Times are Unix seconds (UTC) on the simulation clock.

Messages are left out of Python's cyclic garbage collector (``gc=False``):
they hold only strings, numbers and other messages, so they cannot form a
cycle, and a worker decodes tens of thousands a second: tracking them made
the collector run two and a half times as often and cost about a tenth of
a worker's time (``benchmarks/bench_worker.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeAlias

import msgspec

from iocsim.errors import IocsimError

SCHEMA_VERSION: Final = 1

CAMERA_OBSERVATIONS: Final = "ioc.camera.observations"
INCIDENT_REPORTS: Final = "ioc.incidents.reports"
SERVICE_EVENTS: Final = "ioc.services.events"
TRUTH: Final = "ioc.truth"
ALERTS: Final = "ioc.alerts"
DEADLETTER: Final = "ioc.deadletter"

UnitInterval = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Envelope(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Fields shared by every message; ``entity_id`` is the Kafka key (field reports: the commune)."""

    event_id: Identifier
    entity_id: Identifier
    district: str
    commune: str | None = None
    event_time: NonNegative
    schema_version: int = SCHEMA_VERSION


# --- cameras -----------------------------------------------------------------


class CameraMetrics(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What an edge box measured over one observation interval of one camera."""

    frames: Count
    motion_ratio: UnitInterval
    brightness: Annotated[float, msgspec.Meta(ge=0.0, le=255.0)]
    sharpness: NonNegative
    displacement_px: NonNegative
    displacement_response: UnitInterval
    blobs: NonNegative
    pedestrians: NonNegative | None = None
    """Blobs of a person's size that moved at walking pace; None from an edge box that does not tell them apart."""
    snapshot_ref: str | None = None


class CameraObservation(Envelope, frozen=True, kw_only=True):
    """One camera's analytics for one interval; a missing one means the camera is offline."""

    payload: CameraMetrics


# --- field incident reports --------------------------------------------------

IncidentCategory: TypeAlias = Literal[
    "traffic",
    "environment",
    "public_order",
    "infrastructure",
    "land",
    "public_services",
    "natural_disaster",
]
INCIDENT_CATEGORIES: Final[tuple[str, ...]] = IncidentCategory.__args__  # type: ignore[attr-defined]

IncidentStatus: TypeAlias = Literal["received", "assigned", "in_progress", "resolved", "rejected"]
INCIDENT_STATUSES: Final[tuple[str, ...]] = IncidentStatus.__args__  # type: ignore[attr-defined]


class IncidentDetails(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A citizen report at one step of its handling lifecycle."""

    status: IncidentStatus
    category: IncidentCategory
    lat: Latitude
    lon: Longitude
    text: str
    received_at: NonNegative
    deadline: NonNegative
    agency: str | None = None


class IncidentReport(Envelope, frozen=True, kw_only=True):
    """A lifecycle transition of a report; ``entity_id`` is the report id."""

    payload: IncidentDetails


# --- public-service queues ---------------------------------------------------

ServiceEventKind: TypeAlias = Literal[
    "ticket_issued",
    "ticket_called",
    "ticket_served",
    "ticket_abandoned",
    "dossier_submitted",
    "dossier_completed",
    "counters_changed",
]
SERVICE_EVENT_KINDS: Final[tuple[str, ...]] = ServiceEventKind.__args__  # type: ignore[attr-defined]

ServiceChannel: TypeAlias = Literal["counter", "online"]


class ServiceDetails(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A walk-in ticket or dossier step at a one-stop-shop office or the portal.

    ``counters_changed`` is the office's queue system reporting that counters
    opened or closed (``counters_open`` from then on; ``service_type`` empty):
    a closure is known when it happens, not only with the next ticket.
    """

    kind: ServiceEventKind
    channel: ServiceChannel
    service_type: str
    item_id: Identifier
    counters_open: Count
    queue_length: Count
    wait_seconds: NonNegative | None = None
    deadline: NonNegative | None = None
    on_time: bool | None = None


class ServiceEvent(Envelope, frozen=True, kw_only=True):
    """``entity_id`` is the office id (``portal`` for the online channel)."""

    payload: ServiceDetails


# --- ground truth ------------------------------------------------------------

AnomalyKind: TypeAlias = Literal[
    "camera_offline",
    "camera_covered",
    "camera_defocused",
    "camera_turned",
    "crowd",
    "night_intrusion",
    "incident_burst",
    "category_surge",
    "counter_closure",
    "queue_surge",
    "portal_outage",
    "processing_backlog",
    "correlated_incident",
]
ANOMALY_KINDS: Final[tuple[str, ...]] = AnomalyKind.__args__  # type: ignore[attr-defined]


class AnomalyDetails(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An injected anomaly, so that any detector's alerts can be scored."""

    kind: AnomalyKind
    start: NonNegative
    end: NonNegative
    scenario: str
    params: dict[str, float | str] = {}


class TruthEvent(Envelope, frozen=True, kw_only=True):
    """Published when an injected anomaly starts; ``entity_id`` is what it affects."""

    payload: AnomalyDetails


# --- alerts ------------------------------------------------------------------

AlertStatus: TypeAlias = Literal["firing", "resolved"]
Severity: TypeAlias = Literal["info", "warning", "critical"]
SEVERITIES: Final[tuple[str, ...]] = Severity.__args__  # type: ignore[attr-defined]


class Evidence(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Why an alert fired: what was seen against what was expected."""

    observed: float
    baseline: float
    threshold: float
    event_time: NonNegative
    snapshot_ref: str | None = None


AlertKind: TypeAlias = AnomalyKind | Literal["report_overdue"]
"""Alerts name the anomaly kind they detect, so they can be scored against the truth;
a report past its handling deadline is the one kind with no injected counterpart."""
ALERT_KINDS: Final[tuple[str, ...]] = (*ANOMALY_KINDS, "report_overdue")


class AlertDetails(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One transition of an alert; ``fingerprint`` is stable for rule + entity."""

    fingerprint: Identifier
    rule: Identifier
    kind: AlertKind
    status: AlertStatus
    severity: Severity
    starts_at: NonNegative
    ends_at: NonNegative | None = None
    summary: str = ""
    evidence: Evidence


class Alert(Envelope, frozen=True, kw_only=True):
    """An alert transition published to ``ioc.alerts``; ``entity_id`` is the entity it is about."""

    payload: AlertDetails


# --- dead letters ------------------------------------------------------------


class DeadLetterDetails(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A message that could not be handled, kept whole with the reason."""

    source_topic: str
    partition: int
    offset: int
    reason: str
    field: str | None = None
    raw_base64: str


class DeadLetter(Envelope, frozen=True, kw_only=True):
    """``entity_id`` is the original key (or ``unknown``); ``event_time`` is when it was set aside."""

    payload: DeadLetterDetails


Message: TypeAlias = CameraObservation | IncidentReport | ServiceEvent | TruthEvent | Alert | DeadLetter


@dataclass(frozen=True)
class TopicSpec:
    """A topic, the message it carries and how it is keyed."""

    name: str
    message: type[Envelope]
    key: str
    summary: str


TOPICS: Final[dict[str, TopicSpec]] = {
    spec.name: spec
    for spec in (
        TopicSpec(
            CAMERA_OBSERVATIONS, CameraObservation, "camera id", "Edge analytics of each camera, one per interval."
        ),
        TopicSpec(
            INCIDENT_REPORTS, IncidentReport, "report id", "Citizen field reports and each step of their handling."
        ),
        TopicSpec(SERVICE_EVENTS, ServiceEvent, "office id", "One-stop-shop tickets and dossiers, counter and online."),
        TopicSpec(TRUTH, TruthEvent, "affected entity id", "Injected anomalies (ground truth for scoring)."),
        TopicSpec(ALERTS, Alert, "alert fingerprint", "Alert transitions (firing, resolved) from any detector."),
        TopicSpec(
            DEADLETTER, DeadLetter, "original key", "Messages that failed validation or handling, with the reason."
        ),
    )
}


# --- encoding and decoding ---------------------------------------------------


class ContractError(IocsimError):
    """A message does not follow the contract."""

    def __init__(self, topic: str, field: str | None, reason: str) -> None:
        super().__init__(f"{topic}: {field}: {reason}" if field else f"{topic}: {reason}")
        self.topic = topic
        self.field = field
        self.reason = reason


class MalformedMessage(ContractError):
    """The bytes are not a JSON object at all."""


class InvalidField(ContractError):
    """A field is missing, has the wrong type or is out of range."""


class UnsupportedVersion(InvalidField):
    """The message was written for a schema version this code does not read."""


class UnknownTopic(IocsimError):
    """A topic name that the contract does not define."""


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")

_encoder = msgspec.json.Encoder()
_decoders: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(spec.message) for name, spec in TOPICS.items()
}


def encode(message: Envelope) -> bytes:
    """Serialise a message to its wire form (compact JSON, field order fixed)."""
    return _encoder.encode(message)


def encode_key(message: Envelope) -> bytes:
    """The Kafka key: the entity id, except field reports (by district) and alerts (by fingerprint).

    Reports are counted per commune (bursts) and per district (category
    surges), so a district's reports must meet on one partition, in the order
    they were sent; a report's own steps stay in order because they share it.
    Keyed by commune, a district's reports were spread over partitions: each
    worker counted only its own communes' share of a surge, and a worker
    catching up read one partition's hours before another's.
    """
    if isinstance(message, IncidentReport):
        return message.district.encode()
    if isinstance(message, Alert):
        return message.payload.fingerprint.encode()
    return message.entity_id.encode()


def _field_of(error: str) -> str | None:
    path_match = _AT_PATH.search(error)
    path = path_match.group(1) if path_match else ""
    missing = _MISSING.search(error)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    return path or None


def decode(topic: str, raw: bytes) -> Any:
    """Decode and validate bytes read from ``topic``.

    Raises MalformedMessage for bytes that are not JSON, InvalidField (naming
    the dotted field path) for a message that breaks the schema, and
    UnsupportedVersion for another schema version.
    """
    decoder = _decoders.get(topic)
    if decoder is None:
        raise UnknownTopic(f"unknown topic {topic!r}; the contract defines {', '.join(TOPICS)}")
    try:
        message = decoder.decode(raw)
    except msgspec.ValidationError as exc:
        text = str(exc)
        raise InvalidField(topic, _field_of(text), _AT_PATH.sub("", text)) from exc
    except msgspec.DecodeError as exc:
        raise MalformedMessage(topic, None, str(exc)) from exc
    if message.schema_version != SCHEMA_VERSION:
        raise UnsupportedVersion(
            topic, "schema_version", f"version {message.schema_version} is not supported (expected {SCHEMA_VERSION})"
        )
    return message


def topic_of(message: Envelope) -> str:
    """The topic a message belongs on."""
    for name, spec in TOPICS.items():
        if type(message) is spec.message:
            return name
    raise UnknownTopic(f"no topic carries {type(message).__name__}")
