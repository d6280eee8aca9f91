"""Read a run's messages back and count what was lost or duplicated, by each worker's sequence numbers.

Where to start reading is taken before the run; Tansu under-reports end offsets (the last batch's base
offset + 1), so a start offset can fall a little early: records written before the run (older than its
start) are skipped by timestamp, and only markers of this run's workers are counted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from iocsim.loadtest.errors import LoadError
from iocsim.loadtest.sender import parse_marker

Offsets = dict[tuple[str, int], int]


@dataclass(frozen=True)
class Verification:
    read_back: int
    lost: int
    duplicates: int
    missing_sequences: int


def _consumer(bootstrap: str, client_config: Mapping[str, str]) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"iocsim-load-verify-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
            **client_config,
        }
    )


def start_offsets(bootstrap: str, topics: Iterable[str], client_config: Mapping[str, str]) -> Offsets:
    """Where each partition of ``topics`` ends now: the run's messages come after."""
    consumer = _consumer(bootstrap, client_config)
    try:
        metadata = consumer.list_topics(timeout=10)
        offsets: Offsets = {}
        for topic in topics:
            found = metadata.topics.get(topic)
            if found is None:
                raise LoadError(f"topic {topic} does not exist on {bootstrap}")
            for partition in found.partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                offsets[(topic, partition)] = max(high, 0)
        return offsets
    except KafkaException as exc:
        raise LoadError(f"cannot read offsets from {bootstrap}: {exc}") from exc
    finally:
        consumer.close()


def read_back(
    bootstrap: str,
    offsets: Offsets,
    sent_by_worker: Mapping[int, int],
    acked: int,
    since: float,
    client_config: Mapping[str, str] | None = None,
    idle_s: float = 2.0,
    timeout_s: float = 120.0,
) -> Verification:
    """Consume from ``offsets`` until the topics are quiet and compare markers with what was sent.

    ``sent_by_worker``: worker id → events it sent (sequence numbers 0 .. n-1); ``since``: the run's start.
    Memory: two bytes per event sent (a count per sequence number), so hours of soak can be verified.
    """
    consumer = _consumer(bootstrap, client_config or {})
    seen = {worker: np.zeros(sent, dtype=np.uint16) for worker, sent in sent_by_worker.items()}
    batch: dict[int, list[int]] = {worker: [] for worker in sent_by_worker}
    since_ms = int((since - 1.0) * 1000)
    total = 0
    try:
        consumer.assign([TopicPartition(t, p, o if o >= 0 else OFFSET_BEGINNING) for (t, p), o in offsets.items()])
        deadline = time.monotonic() + timeout_s
        last_message = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last_message < idle_s:
            for message in consumer.consume(10_000, 0.2):
                if message.error() is not None:
                    continue
                last_message = time.monotonic()
                if message.timestamp()[1] < since_ms:
                    continue
                marker = parse_marker(message.value() or b"")
                if marker is not None and marker[0] in batch and marker[1] < sent_by_worker[marker[0]]:
                    batch[marker[0]].append(marker[1])
            for worker, sequences in batch.items():
                if sequences:
                    np.add.at(seen[worker], np.asarray(sequences, dtype=np.int64), 1)
                    total += len(sequences)
                    sequences.clear()
    except KafkaException as exc:
        raise LoadError(f"reading back from {bootstrap} failed: {exc}") from exc
    finally:
        consumer.close()
    distinct = sum(int(np.count_nonzero(counts)) for counts in seen.values())
    missing = sum(int(counts.size - np.count_nonzero(counts)) for counts in seen.values())
    return Verification(
        read_back=total, lost=max(acked - distinct, 0), duplicates=total - distinct, missing_sequences=missing
    )
