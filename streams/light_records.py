"""Feed records handed over as aiokafka parsed them, not rebuilt one by one as ``ConsumerRecord`` objects.

aiokafka parses a fetched record batch in C, then builds a Python
``ConsumerRecord`` (eleven fields, sizes and headers worked out) for every
record. A worker needs only the offset, key, value and timestamp, which the
parsed record already has: handing that over saved 1.0-2.1 µs of the
worker's 17-19 µs of CPU per camera observation (``benchmarks/bench_worker.py``).

Only the fetcher of this worker's own consumer is changed, and only for the
topics read in bulk; Faust's own reads (table changelogs, the alerts agent)
still get ``ConsumerRecord`` objects. It leans on three aiokafka internals:
``Fetcher._records`` (each partition's fetched result, stored as it arrives),
``FetchResult._partition_records`` and ``PartitionRecords._consumer_record``
(looked up per record). Without them, records stay ``ConsumerRecord``
objects, which is slower but gives the same results;
``tests/streams/test_light_records.py`` fails so that it is noticed.
"""

from __future__ import annotations

import collections
from collections.abc import Collection, Mapping
from typing import Any

from aiokafka.consumer.fetcher import PartitionRecords


def _as_parsed(tp: Any, record: Any) -> Any:
    return record


class _LightResults(collections.OrderedDict[Any, Any]):
    """The fetcher's store of fetched results; results of ``topics`` hand over their records as parsed."""

    def __init__(self, topics: frozenset[str], results: Mapping[Any, Any]) -> None:
        self.topics = topics
        super().__init__(results)

    def __setitem__(self, tp: Any, result: Any) -> None:
        if tp.topic in self.topics:
            records = getattr(result, "_partition_records", None)
            if records is not None:
                records._consumer_record = _as_parsed
        super().__setitem__(tp, result)


def lighten(fetcher: Any, topics: Collection[str]) -> bool:
    """Have ``fetcher`` hand over the records of ``topics`` as parsed; whether it could (see module docstring).

    Call it from the fetcher's own event loop: results are stored there.
    """
    results = getattr(fetcher, "_records", None)
    if isinstance(results, _LightResults):
        return True
    if type(results) is not collections.OrderedDict or not hasattr(PartitionRecords, "_consumer_record"):
        return False
    fetcher._records = _LightResults(frozenset(topics), results)
    return True
