"""Setting aside a message that breaks the contract, whole, with the reason.

The dead letter's ``event_id`` is the message's position (topic, partition,
offset), so a worker that replays after a restart republishes the same id and
readers can deduplicate. Its ``event_time`` is the wall-clock time it was set
aside: the bad message has no event time one could trust.
"""

from __future__ import annotations

import base64
import re

from iocsim.contract import ContractError, DeadLetter, DeadLetterDetails

UNKNOWN = "unknown"
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_MAX_REASON = 500


def reason_class(error: ContractError) -> str:
    """A bounded label for the kind of failure: ``malformed_message``, ``invalid_field``, ``unsupported_version``."""
    return _CAMEL.sub("_", type(error).__name__).lower()


def dead_letter(
    topic: str, partition: int, offset: int, key: bytes | None, raw: bytes | None, error: ContractError, now: float
) -> DeadLetter:
    """The ``ioc.deadletter`` message for ``raw`` read from ``topic`` at ``partition``/``offset``."""
    original_key = key.decode("utf-8", "replace") if key else ""
    return DeadLetter(
        event_id=f"{topic}-{partition}-{offset}",
        entity_id=original_key[:200] or UNKNOWN,
        district=UNKNOWN,
        event_time=round(max(now, 0.0), 3),
        payload=DeadLetterDetails(
            source_topic=topic,
            partition=partition,
            offset=offset,
            reason=error.reason[:_MAX_REASON],
            field=error.field,
            raw_base64=base64.b64encode(raw or b"").decode("ascii"),
        ),
    )
