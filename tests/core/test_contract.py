from __future__ import annotations

import contextlib
import gc
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim import contract
from iocsim.contract import (
    CameraMetrics,
    CameraObservation,
    InvalidField,
    MalformedMessage,
    UnknownTopic,
    UnsupportedVersion,
    decode,
    encode,
)

finite = st.floats(allow_nan=False, allow_infinity=False)
unit = st.floats(min_value=0, max_value=1)
ident = st.text(min_size=1, max_size=40)


@st.composite
def observations(draw: st.DrawFn) -> CameraObservation:
    return CameraObservation(
        event_id=draw(ident),
        entity_id=draw(ident),
        district=draw(st.text(max_size=30)),
        commune=draw(st.none() | st.text(max_size=30)),
        event_time=draw(st.floats(min_value=0, max_value=4e9)),
        payload=CameraMetrics(
            frames=draw(st.integers(0, 1000)),
            motion_ratio=draw(unit),
            brightness=draw(st.floats(0, 255)),
            sharpness=draw(st.floats(0, 1e6)),
            displacement_px=draw(st.floats(0, 1e3)),
            displacement_response=draw(unit),
            blobs=draw(st.floats(0, 500)),
            snapshot_ref=draw(st.none() | st.text(max_size=60)),
        ),
    )


@given(observations())
def test_camera_observation_round_trips(message: CameraObservation) -> None:
    assert decode(contract.CAMERA_OBSERVATIONS, encode(message)) == message


@given(
    st.builds(
        contract.Evidence,
        observed=finite,
        baseline=finite,
        threshold=finite,
        event_time=st.floats(0, 4e9),
        snapshot_ref=st.none() | st.text(max_size=20),
    )
)
def test_alert_round_trips(evidence: contract.Evidence) -> None:
    alert = contract.Alert(
        event_id="a-1",
        entity_id="TC-01",
        district="tua-chua",
        event_time=evidence.event_time,
        payload=contract.AlertDetails(
            fingerprint="f" * 16,
            rule="camera.covered",
            kind="camera_covered",
            status="firing",
            severity="critical",
            starts_at=evidence.event_time,
            evidence=evidence,
        ),
    )
    assert decode(contract.ALERTS, encode(alert)) == alert


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_other_errors(raw: bytes) -> None:
    for topic in contract.TOPICS:
        with contextlib.suppress(contract.ContractError):
            decode(topic, raw)


def _valid() -> dict[str, object]:
    result: dict[str, object] = json.loads(encode(_camera()))
    return result


def _camera() -> CameraObservation:
    return CameraObservation(
        event_id="cam-TC-01-1",
        entity_id="TC-01",
        district="tua-chua",
        commune="tua-chua/sin-chai",
        event_time=1.7e9,
        payload=CameraMetrics(
            frames=5,
            motion_ratio=0.1,
            brightness=120.0,
            sharpness=300.0,
            displacement_px=0.2,
            displacement_response=0.9,
            blobs=2.0,
        ),
    )


def test_malformed_bytes_raise_malformed_message() -> None:
    with pytest.raises(MalformedMessage) as info:
        decode(contract.CAMERA_OBSERVATIONS, b"\xff{not json")
    assert info.value.topic == contract.CAMERA_OBSERVATIONS


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m.update(event_id=5), "event_id"),
        (lambda m: m.pop("event_time"), "event_time"),
        (lambda m: m["payload"].update(brightness="dark"), "payload.brightness"),
        (lambda m: m["payload"].update(brightness=300.0), "payload.brightness"),
        (lambda m: m["payload"].pop("sharpness"), "payload.sharpness"),
        (lambda m: m.update(payload=[1, 2]), "payload"),
    ],
)
def test_wrong_or_missing_fields_name_the_field(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    message = _valid()
    mutate(message)
    with pytest.raises(InvalidField) as info:
        decode(contract.CAMERA_OBSERVATIONS, json.dumps(message).encode())
    assert info.value.field == field
    assert field in str(info.value)


def test_other_schema_version_is_rejected() -> None:
    message = _valid()
    message["schema_version"] = 2
    with pytest.raises(UnsupportedVersion) as info:
        decode(contract.CAMERA_OBSERVATIONS, json.dumps(message).encode())
    assert info.value.field == "schema_version"


def test_unknown_topic() -> None:
    with pytest.raises(UnknownTopic):
        decode("ioc.nope", b"{}")


def test_every_topic_has_a_distinct_message_type() -> None:
    types = [spec.message for spec in contract.TOPICS.values()]
    assert len(set(types)) == len(types) == 6
    assert set(contract.TOPICS) == {
        "ioc.camera.observations",
        "ioc.incidents.reports",
        "ioc.services.events",
        "ioc.truth",
        "ioc.alerts",
        "ioc.deadletter",
    }


def test_encoding_is_canonical_compact_json() -> None:
    raw = json.dumps(_valid()).encode()
    message = decode(contract.CAMERA_OBSERVATIONS, raw)
    assert encode(message) == msgspec.json.encode(msgspec.json.decode(raw))


def test_decoded_messages_are_not_tracked_by_the_cycle_collector() -> None:
    message = decode(contract.CAMERA_OBSERVATIONS, json.dumps(_valid()).encode())
    assert not gc.is_tracked(message)
    assert not gc.is_tracked(message.payload)
    for spec in contract.TOPICS.values():
        assert not spec.message.__struct_config__.gc, spec.message.__name__


@pytest.mark.parametrize("commune", ["muong-nhe/chung-chai", None])
def test_field_reports_are_keyed_by_district_so_that_a_district_stays_on_one_partition(commune: str | None) -> None:
    report = contract.IncidentReport(
        event_id="e1",
        entity_id="PA-1",
        district="muong-nhe",
        commune=commune,
        event_time=1000.0,
        payload=contract.IncidentDetails(
            status="received", category="traffic", lat=22.2, lon=102.5, text="", received_at=1000.0, deadline=9000.0
        ),
    )
    assert contract.encode_key(report) == b"muong-nhe"


def test_other_messages_are_keyed_by_their_entity() -> None:
    assert contract.encode_key(_camera()) == b"TC-01"
