"""Keyed state that survives a worker: a Faust table written once per batch, to an explicit partition.

Faust writes a table key to the changelog partition of the *current* event,
which is wrong for a batch that mixes partitions (every key would follow the
batch's last event). Writes here name their partition, and each stored value
remembers it (``{"p": partition, "s": state}``) so that after a rebalance a
worker can tell which keys belong to the partitions it now owns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import msgspec
from faust.serializers.codecs import Codec
from kafka.partitioner.default import murmur2


class KeyedState(Protocol):
    """Where a detector's or the alert lifecycle's per-key state is kept."""

    def get(self, key: str) -> tuple[int, dict[str, Any]] | None:
        """The (partition, state) stored under ``key``, if any."""
        ...

    def put(self, partition: int, key: str, state: dict[str, Any]) -> None: ...

    def owned(self, partitions: set[int]) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """Every (key, partition, state) stored for one of ``partitions``."""
        ...


def _unwrap(value: Any) -> tuple[int, dict[str, Any]] | None:
    if isinstance(value, dict) and isinstance(value.get("p"), int) and isinstance(value.get("s"), dict):
        return value["p"], value["s"]
    return None


class StateJson(Codec):
    """Changelog keys and values as JSON, written by msgspec; Faust's ``json`` codec reads them back at recovery.

    Every batch writes the state of each key it touched: a camera's is about
    6 kB of floats, which Faust's codec (the standard library's json) took
    170 µs to encode and msgspec takes 22 µs. States hold plain JSON (no
    infinities), so either codec reads what the other wrote.
    """

    def _dumps(self, obj: Any) -> bytes:
        return msgspec.json.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return msgspec.json.decode(s)


STATE_JSON = StateJson()


class TableState:
    """A Faust table (memory store, changelog-backed) seen as :class:`KeyedState`."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str) -> tuple[int, dict[str, Any]] | None:
        return _unwrap(self.table.data.get(key))

    def put(self, partition: int, key: str, state: dict[str, Any]) -> None:
        value = {"p": partition, "s": state}
        self.table.data[key] = value
        self.table.send_changelog(partition, key, value, key_serializer=STATE_JSON, value_serializer=STATE_JSON)

    def owned(self, partitions: set[int]) -> Iterator[tuple[str, int, dict[str, Any]]]:
        for key, value in list(self.table.data.items()):
            entry = _unwrap(value)
            if entry is not None and entry[0] in partitions:
                yield key, entry[0], entry[1]


class DictState:
    """In-process :class:`KeyedState` (benchmarks, and running detectors without a broker)."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[int, dict[str, Any]]] = {}

    def get(self, key: str) -> tuple[int, dict[str, Any]] | None:
        return self.data.get(key)

    def put(self, partition: int, key: str, state: dict[str, Any]) -> None:
        self.data[key] = (partition, state)

    def owned(self, partitions: set[int]) -> Iterator[tuple[str, int, dict[str, Any]]]:
        for key, (partition, state) in list(self.data.items()):
            if partition in partitions:
                yield key, partition, state


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as producers use) gives ``key``."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions
