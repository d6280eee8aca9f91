"""A kafka-python producer that speaks the contract: keyed by entity, acks=all, compressed.

Delivery is confirmed per message through callbacks; nothing counts as sent
until the broker acknowledged it, and failures are counted and reported,
never dropped silently. The client's buffer is unbounded, so the publisher
bounds it: past ``max_pending`` unacknowledged messages it waits for them.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata

from iocsim.broker import BrokerAddress
from iocsim.config import KafkaSettings
from iocsim.contract import Envelope, encode, encode_key, topic_of
from iocsim.producers.errors import ProducerError


@dataclass
class DeliveryCounts:
    """Per topic: messages handed to the client, acknowledged, failed; bytes acknowledged."""

    sent: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    acked_bytes: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None


class Publisher:
    """Sends contract messages; ``close()`` flushes and raises if anything failed.

    Delivery futures are settled from the head of a queue on each send and on
    flush, rather than through two callbacks per message, which cost more
    than the send itself.
    """

    def __init__(self, address: BrokerAddress, settings: KafkaSettings, client_id: str = "iocsim-simulator") -> None:
        self.counts = DeliveryCounts()
        self._max_pending = settings.max_pending
        self._in_flight: deque[tuple[str, int, FutureRecordMetadata]] = deque()
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=address.bootstrap,
                client_id=client_id,
                acks="all",
                compression_type=None if settings.compression == "none" else settings.compression,
                linger_ms=settings.linger_ms,
                batch_size=settings.batch_bytes,
                max_block_ms=60_000,
                retries=2_147_483_647,
                enable_idempotence=False,
            )
        except KafkaError as exc:
            raise ProducerError(f"cannot connect a producer to {address}: {exc}") from exc

    def send(self, message: Envelope) -> None:
        self.send_raw(topic_of(message), encode_key(message), encode(message))

    def send_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Send bytes as they are (also used to inject malformed messages in tests)."""
        in_flight = self._in_flight
        self._settle()
        if len(in_flight) >= self._max_pending:
            self.flush()
        self.counts.sent[topic] += 1
        try:
            future = self._producer.send(topic, key=key, value=value)
        except KafkaError as exc:
            self._failed(topic, exc)
            return
        in_flight.append((topic, len(value), future))

    @property
    def pending(self) -> int:
        """Messages handed to the client and not yet settled as acknowledged or failed."""
        return len(self._in_flight)

    def _settle(self) -> None:
        """Count the finished deliveries at the head of the queue (they finish roughly in order)."""
        in_flight, counts = self._in_flight, self.counts
        while in_flight and in_flight[0][2].is_done:
            topic, size, future = in_flight.popleft()
            if future.exception is None:
                counts.acked[topic] += 1
                counts.acked_bytes[topic] += size
            else:
                self._failed(topic, future.exception)

    def _failed(self, topic: str, exc: BaseException) -> None:
        self.counts.failed[topic] += 1
        self.counts.last_error = f"{type(exc).__name__}: {exc}"

    def flush(self, timeout: float | None = None) -> None:
        try:
            self._producer.flush(timeout)
        except KafkaError as exc:
            raise ProducerError(f"flush failed: {exc}") from exc
        self._settle()
        if self._in_flight:
            raise ProducerError(f"{len(self._in_flight)} messages still unacknowledged after flush")

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._producer.close(timeout)
        failed = sum(self.counts.failed.values())
        if failed:
            raise ProducerError(f"{failed} messages were not delivered; last error: {self.counts.last_error}")
