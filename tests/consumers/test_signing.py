"""Standard Webhooks signing: our signer agrees with the reference library, our verifier rejects what it must."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from iocsim.consumers.errors import EndpointConfigError, SignatureError
from iocsim.consumers.signing import (
    generate_secret,
    parse_secret,
    sign,
    signed_headers,
    verify,
    webhook_id,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the spec libraries' own test secret (24 bytes)
NOW = 1_700_000_000


def test_signature_matches_the_reference_library_for_a_known_message() -> None:
    body = b'{"type":"alert.firing","data":{"x":1}}'
    headers = signed_headers(parse_secret(SECRET), "msg_p5jXN8AQM9LWM0D4loKWxJek", NOW, body)
    expected = Webhook(SECRET).sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek", dt.datetime.fromtimestamp(NOW, dt.UTC), body.decode()
    )
    assert headers["webhook-signature"] == expected
    assert headers["webhook-timestamp"] == str(NOW)


@given(
    key=st.binary(min_size=24, max_size=64),
    event_id=st.text(min_size=1, max_size=200),
    body=st.text(max_size=2000),
)
def test_reference_library_verifies_whatever_we_sign(key: bytes, event_id: str, body: str) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    msg_id = webhook_id(event_id)
    stamp = int(dt.datetime.now(dt.UTC).timestamp())
    headers = signed_headers(parse_secret(secret), msg_id, stamp, body.encode())
    Webhook(secret).verify(body.encode(), headers, json_parse=False)  # raises if it disagrees
    assert verify(headers, body.encode(), secret).msg_id == msg_id


def test_reference_library_rejects_a_tampered_body() -> None:
    headers = signed_headers(parse_secret(SECRET), "msg_1", int(dt.datetime.now(dt.UTC).timestamp()), b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(b'{"a":1}', headers)


def test_webhook_id_is_stable_and_has_no_full_stop() -> None:
    event_id = "3f2a9c1e5b7d8a90-1746996000.250-firing"
    assert webhook_id(event_id) == webhook_id(event_id)
    assert webhook_id(event_id) != webhook_id(event_id.replace("firing", "resolved"))
    assert "." not in webhook_id(event_id) and webhook_id(event_id).startswith("msg_")


def test_verify_accepts_any_matching_signature_among_several() -> None:
    key = parse_secret(SECRET)
    headers = signed_headers(key, "msg_2", NOW, b"{}")
    other = sign(parse_secret(generate_secret()), "msg_2", NOW, b"{}")
    headers["webhook-signature"] = f"v1a,ignored {other} {headers['webhook-signature']}"
    assert verify(headers, b"{}", SECRET, now=NOW).timestamp == NOW


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}, "bad_signature"),
        ({"webhook-signature": ""}, "missing_headers"),
        ({"webhook-timestamp": "17e8"}, "bad_timestamp"),
        ({"webhook-timestamp": str(NOW - 301)}, "stale"),
        ({"webhook-timestamp": str(NOW + 301)}, "stale"),
        ({"webhook-id": "msg_other"}, "bad_signature"),
    ],
)
def test_verify_rejects(change: dict[str, str], reason: str) -> None:
    headers = signed_headers(parse_secret(SECRET), "msg_3", NOW, b"{}")
    headers.update(change)
    with pytest.raises(SignatureError) as caught:
        verify(headers, b"{}", SECRET, tolerance=300, now=NOW)
    assert caught.value.reason == reason


def test_verify_reads_headers_case_insensitively() -> None:
    headers = {k.title(): v for k, v in signed_headers(parse_secret(SECRET), "msg_4", NOW, b"[]").items()}
    assert verify(headers, b"[]", SECRET, now=NOW).msg_id == "msg_4"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "missing"),
        ("", "missing"),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_"),
        ("whsec_not*base64!", "not base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "5 bytes"),
    ],
)
def test_malformed_secrets_are_refused_naming_the_field(text: str | None, message: str) -> None:
    with pytest.raises(EndpointConfigError) as caught:
        parse_secret(text, "endpoints[1].secret")
    assert str(caught.value).startswith("endpoints[1].secret: ")
    assert message in str(caught.value)


def test_unpadded_secret_and_generated_secret_parse() -> None:
    assert len(parse_secret(SECRET.rstrip("="))) == 24
    assert len(parse_secret(generate_secret())) == 32
