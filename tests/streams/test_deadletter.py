from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim.contract import CAMERA_OBSERVATIONS, DEADLETTER, ContractError, decode, encode
from iocsim.streams.deadletter import dead_letter, reason_class


def failure(raw: bytes) -> ContractError:
    with pytest.raises(ContractError) as caught:
        decode(CAMERA_OBSERVATIONS, raw)
    return caught.value


def test_malformed_bytes_keep_raw_key_and_position() -> None:
    error = failure(b"\xff not json")
    letter = dead_letter(CAMERA_OBSERVATIONS, 4, 1234, b"cam-07", b"\xff not json", error, now=1.7e9)
    assert reason_class(error) == "malformed_message"
    assert letter.event_id == f"{CAMERA_OBSERVATIONS}-4-1234"
    assert letter.entity_id == "cam-07" and letter.district == "unknown"
    details = letter.payload
    assert (details.source_topic, details.partition, details.offset, details.field) == (
        CAMERA_OBSERVATIONS,
        4,
        1234,
        None,
    )
    assert base64.b64decode(details.raw_base64) == b"\xff not json"
    assert decode(DEADLETTER, encode(letter)) == letter


def test_invalid_field_names_the_field() -> None:
    raw = b'{"event_id":"e","entity_id":"cam-01","district":"d","event_time":-5,"payload":{}}'
    error = failure(raw)
    letter = dead_letter(CAMERA_OBSERVATIONS, 0, 0, None, raw, error, now=10.0)
    assert reason_class(error) == "invalid_field"
    assert letter.payload.field == "event_time"
    assert letter.entity_id == "unknown"


def test_unsupported_version_has_its_own_class() -> None:
    raw = (
        b'{"event_id":"e","entity_id":"c","district":"d","event_time":1,"schema_version":9,"payload":'
        b'{"frames":1,"motion_ratio":0,"brightness":1,"sharpness":1,"displacement_px":0,'
        b'"displacement_response":0,"blobs":0}}'
    )
    assert reason_class(failure(raw)) == "unsupported_version"


@given(raw=st.binary(max_size=300), key=st.one_of(st.none(), st.binary(max_size=300)))
def test_any_bytes_give_a_valid_dead_letter(raw: bytes, key: bytes | None) -> None:
    try:
        decode(CAMERA_OBSERVATIONS, raw)
    except ContractError as error:
        letter = dead_letter(CAMERA_OBSERVATIONS, 1, 2, key, raw, error, now=3.0)
        assert decode(DEADLETTER, encode(letter)) == letter
        assert base64.b64decode(letter.payload.raw_base64) == raw
