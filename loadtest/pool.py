"""Content for a load run: messages pre-generated from the sim models, held in memory or in a recorded file.

Generating a camera observation takes milliseconds (it renders and analyses frames), so content is made
before the run and cycled through during it: the rate is never limited by generation. The pool keeps each
message encoded per the contract, with ground truth for the anomalies it contains. ``iocsim record`` saves
one to a file (numpy ``.npz``: compact, loads in a blink, no pickling) that ``--replay`` sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from iocsim import contract
from iocsim.loadtest.errors import LoadError, ProfileError
from iocsim.sim import simulation
from iocsim.sim.profiles import DEFAULT_PROFILE, load_profile
from iocsim.sim.scenario import clean_scenario, load_scenario

FEED_OF_TOPIC = {
    contract.CAMERA_OBSERVATIONS: "cameras",
    contract.INCIDENT_REPORTS: "incidents",
    contract.SERVICE_EVENTS: "services",
}
DEFAULT_POOL_EVENTS = 10_000
_FORMAT = "iocsim-load-pool/1"


@dataclass(frozen=True)
class PoolSource:
    """Which simulation to draw content from."""

    scenario: str | None = None
    seed: int | None = None
    province: str = DEFAULT_PROFILE
    feeds: tuple[str, ...] = simulation.FEEDS
    max_events: int = DEFAULT_POOL_EVENTS
    duration_s: float | None = None


@dataclass
class Pool:
    """Encoded messages (the merged feeds in event-time order, then any top-up of sparse feeds) and ground truth."""

    topics: list[str]
    keys: list[bytes | None]
    values: list[bytes]
    event_time: np.ndarray
    feed: list[str]
    truth: list[bytes] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.values)

    def indices_of(self, feed: str) -> np.ndarray:
        """Pool positions carrying ``feed`` (``all``: every position)."""
        if feed == "all":
            return np.arange(len(self), dtype=np.int64)
        return np.flatnonzero(np.asarray(self.feed) == feed)

    def truth_events(self) -> list[contract.TruthEvent]:
        return [contract.decode(contract.TRUTH, raw) for raw in self.truth]

    def check_feeds(self, feeds: tuple[str, ...]) -> None:
        for name in feeds:
            if self.indices_of(name).size == 0:
                raise ProfileError("feed", f"the content pool holds no {name} events (recorded with other feeds?)")


def generate(source: PoolSource, on_progress: Callable[[int], None] | None = None) -> Pool:
    """Run the sim models until ``max_events`` feed messages (or the scenario's end) and keep them encoded."""
    scenario = load_scenario(source.scenario) if source.scenario else clean_scenario(30 * 86400.0)
    if source.duration_s is not None:
        scenario = scenario.with_duration(source.duration_s)
    seed = source.seed if source.seed is not None else (scenario.seed if scenario.seed is not None else 1)
    spec = simulation.SimulationSpec(
        profile=load_profile(scenario.profile or source.province), scenario=scenario, seed=seed, feeds=source.feeds
    )
    pool = Pool([], [], [], np.zeros(0), [])
    truths: list[contract.TruthEvent] = []
    times: list[float] = []
    for message in simulation.events(spec):
        if isinstance(message, contract.TruthEvent):
            truths.append(message)
            continue
        if len(pool.values) >= source.max_events:
            break
        _append(pool, times, message)
        if on_progress is not None and len(times) % 500 == 0:
            on_progress(len(times))
    if not times:
        raise LoadError("the simulation produced no feed messages for the content pool")
    covered_until = times[-1]
    _top_up_sparse_feeds(pool, times, spec, source, covered_until)
    pool.event_time = np.asarray(times, dtype=np.float64)
    pool.truth = [contract.encode(t) for t in truths if t.payload.start <= covered_until]
    pool.meta = {
        "scenario": scenario.name,
        "seed": seed,
        "province": spec.profile.id,
        "feeds": list(source.feeds),
        "sim_start": float(times[0]),
        "sim_end": float(covered_until),
    }
    return pool


def _append(pool: Pool, times: list[float], message: contract.Envelope) -> None:
    topic = contract.topic_of(message)
    pool.topics.append(topic)
    pool.keys.append(contract.encode_key(message))
    pool.values.append(contract.encode(message))
    pool.feed.append(FEED_OF_TOPIC[topic])
    times.append(message.event_time)


def _top_up_sparse_feeds(
    pool: Pool, times: list[float], spec: simulation.SimulationSpec, source: PoolSource, covered_until: float
) -> None:
    """Give every feed some content of its own, continuing its simulation past the pool's end.

    Cameras make most of a province's messages, so the first ``max_events`` of the merged feeds hold only a
    handful of field reports or queue events; a stage offering one of those feeds would cycle through them.
    The extra messages come after the merged run, in that feed's own time order (the ``all`` mix keeps the
    simulation's proportions over the merged part, which comes first).
    """
    wanted = min(1_000, source.max_events // (2 * max(len(source.feeds), 1)))
    for feed in source.feeds:
        have = sum(1 for f in pool.feed if f == feed)
        if have >= wanted:
            continue
        for message in simulation.events(replace(spec, feeds=(feed,))):
            if isinstance(message, contract.TruthEvent) or message.event_time <= covered_until:
                continue
            _append(pool, times, message)
            have += 1
            if have >= wanted:
                break


def save(pool: Pool, path: Path) -> None:
    topic_names = sorted(set(pool.topics))
    topic_index = {name: i for i, name in enumerate(topic_names)}
    keys_blob, keys_offsets = _pack([k or b"" for k in pool.keys])
    values_blob, values_offsets = _pack(pool.values)
    truth_blob, truth_offsets = _pack(pool.truth)
    header = {"format": _FORMAT, "topics": topic_names, "meta": pool.meta}
    with open(path, "wb") as out:
        np.savez_compressed(
            out,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            topic=np.asarray([topic_index[t] for t in pool.topics], dtype=np.uint8),
            keyless=np.asarray([k is None for k in pool.keys], dtype=bool),
            keys_blob=keys_blob,
            keys_offsets=keys_offsets,
            values_blob=values_blob,
            values_offsets=values_offsets,
            truth_blob=truth_blob,
            truth_offsets=truth_offsets,
            event_time=pool.event_time,
        )


def load(path: str | Path) -> Pool:
    file = Path(path)
    if not file.is_file():
        raise ProfileError("--replay", f"no such file: {path}")
    try:
        with np.load(file, allow_pickle=False) as data:
            header = json.loads(data["header"].tobytes())
            if header.get("format") != _FORMAT:
                raise ProfileError("--replay", f"{path} is not an iocsim load recording ({header.get('format')!r})")
            names = header["topics"]
            topics = [names[i] for i in data["topic"].tolist()]
            keys: list[bytes | None] = list(_unpack(data["keys_blob"], data["keys_offsets"]))
            for i in np.flatnonzero(data["keyless"]):
                keys[int(i)] = None
            return Pool(
                topics=topics,
                keys=keys,
                values=_unpack(data["values_blob"], data["values_offsets"]),
                event_time=np.asarray(data["event_time"], dtype=np.float64),
                feed=[FEED_OF_TOPIC[t] for t in topics],
                truth=_unpack(data["truth_blob"], data["truth_offsets"]),
                meta=dict(header.get("meta", {})),
            )
    except (OSError, ValueError, KeyError) as exc:
        raise ProfileError("--replay", f"{path} cannot be read as a recording: {exc}") from exc


def _pack(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum([len(item) for item in items], out=offsets[1:])
    return np.frombuffer(b"".join(items), dtype=np.uint8), offsets


def _unpack(blob: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    raw = blob.tobytes()
    bounds = offsets.tolist()
    return [raw[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
