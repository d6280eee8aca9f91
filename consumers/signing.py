"""Standard Webhooks signatures: HMAC-SHA256 over ``{id}.{timestamp}.{body}``, sent as ``v1,<base64>``.

The scheme is small enough to own (and cross-checked against the reference
library in the tests) rather than add a run-time dependency. The ``webhook-id``
is derived from the alert transition's ``event_id``: stable across retries and
restarts so receivers can deduplicate, yet free of the ``.`` the spec forbids
in ids (event ids carry a decimal start time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from iocsim.consumers.errors import EndpointConfigError, SignatureError

SECRET_PREFIX: Final = "whsec_"
SECRET_BYTES: Final = (24, 64)
"""The spec asks for random symmetric secrets of 24 to 64 bytes."""
DEFAULT_TOLERANCE: Final = 300.0
"""Five minutes either way, the spec's suggested replay window."""

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"


def parse_secret(text: str | None, field: str = "secret") -> bytes:
    """The HMAC key inside a ``whsec_<base64>`` secret."""
    if not text:
        raise EndpointConfigError(field, "missing")
    if not text.startswith(SECRET_PREFIX):
        raise EndpointConfigError(field, f"must look like {SECRET_PREFIX}<base64> (Standard Webhooks form)")
    encoded = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise EndpointConfigError(field, f"the part after {SECRET_PREFIX} is not base64") from None
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        raise EndpointConfigError(field, f"decodes to {len(key)} bytes; secrets must be {low} to {high} bytes")
    return key


def generate_secret(size: int = 32) -> str:
    """A fresh random secret in ``whsec_`` form."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(size)).decode("ascii")


def webhook_id(event_id: str) -> str:
    """The ``webhook-id`` of an alert transition: the same for every attempt and every replay."""
    return "msg_" + hashlib.blake2b(event_id.encode("utf-8"), digest_size=16).hexdigest()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one request."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(key, msg_id, timestamp, body),
    }


@dataclass(frozen=True)
class Verified:
    """What a verified request proved: its id and the second it was signed."""

    msg_id: str
    timestamp: int
    signature: str


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Verified:
    """Check a request's Standard Webhooks headers against its raw body; raise SignatureError if it fails."""
    key = secret if isinstance(secret, bytes) else parse_secret(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get(ID_HEADER, "")
    stamp = lowered.get(TIMESTAMP_HEADER, "")
    signatures = lowered.get(SIGNATURE_HEADER, "")
    if not (msg_id and stamp and signatures):
        raise SignatureError("missing_headers", f"need {ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    if not stamp.isascii() or not stamp.isdigit():
        raise SignatureError("bad_timestamp", f"{TIMESTAMP_HEADER} {stamp[:40]!r} is not integer unix seconds")
    timestamp = int(stamp)
    skew = (time.time() if now is None else now) - timestamp
    if abs(skew) > tolerance:
        when = "old" if skew > 0 else "far in the future"
        raise SignatureError("stale", f"timestamp is {abs(skew):.0f} s {when} (tolerance {tolerance:.0f} s)")
    expected = sign(key, msg_id, timestamp, body).encode("ascii")
    for candidate in signatures.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode("ascii", "replace"), expected):
            return Verified(msg_id, timestamp, candidate)
    raise SignatureError("bad_signature", "no v1 signature matches the body")
