"""Writing undeliverable alert transitions to ``ioc.deadletter``, and waiting until the broker has them.

A transition counts as handled (its offset may be committed) only once its
dead letter is acknowledged, so a broker outage while dead-lettering stalls
the lane rather than losing the alert. The dead letter keeps the original
record whole (``raw_base64``) for replay; its ``event_id`` is the record's
position plus the endpoint, so a replayed record dead-letters under the same id.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from iocsim.consumers.delivery import Outcome, Transition
from iocsim.contract import DEADLETTER, ContractError, DeadLetter, DeadLetterDetails, encode, encode_key
from iocsim.streams.deadletter import dead_letter

log = logging.getLogger(__name__)

_MAX_REASON = 500


def undeliverable(transition: Transition, sink: str, outcome: Outcome, now: float) -> DeadLetter:
    """The dead letter of a transition that ``sink`` refused or could not take in time."""
    how = "refused" if outcome.kind == "failed" else "gave up"
    reason = (
        f"endpoint {sink}: {how} after {outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''} "
        f"in {outcome.elapsed:.1f} s; last error: {outcome.last_error or 'none'}"
    )
    alert = transition.alert
    return DeadLetter(
        event_id=f"{transition.topic}-{transition.partition}-{transition.offset}-{sink}",
        entity_id=alert.payload.fingerprint,
        district=alert.district,
        commune=alert.commune,
        event_time=round(max(now, 0.0), 3),
        payload=DeadLetterDetails(
            source_topic=transition.topic,
            partition=transition.partition,
            offset=transition.offset,
            reason=reason[:_MAX_REASON],
            raw_base64=base64.b64encode(transition.raw).decode("ascii"),
        ),
    )


def malformed(
    topic: str, partition: int, offset: int, key: bytes | None, raw: bytes | None, error: ContractError, now: float
) -> DeadLetter:
    """The dead letter of a record on the alerts topic that breaks the contract."""
    return dead_letter(topic, partition, offset, key, raw, error, now)


class DeadLetterWriter:
    """Sends dead letters with acks=all and retries until the broker acknowledges each one."""

    def __init__(
        self, producer: AIOKafkaProducer, retry_wait: float = 1.0, wall: Callable[[], float] = time.time
    ) -> None:
        self._producer = producer
        self._retry_wait = retry_wait
        self.wall = wall
        self.written = 0

    async def write(self, message: DeadLetter) -> None:
        value = encode(message)
        key = encode_key(message)
        while True:
            try:
                await self._producer.send_and_wait(DEADLETTER, value=value, key=key)
                self.written += 1
                return
            except KafkaError as exc:
                log.warning("dead letter %s not yet written (%s); retrying", message.event_id, exc)
                await asyncio.sleep(self._retry_wait)
