"""The worker's per-topic processing, without a broker: routing of state, batching of writes, ownership."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from iocsim.contract import CAMERA_OBSERVATIONS, CameraMetrics, CameraObservation, Envelope, Evidence, encode
from iocsim.streams.feed_metrics import FeedMetrics
from iocsim.streams.lifecycle import LifecycleSettings, Signal, fingerprint
from iocsim.streams.metrics import WorkerMetrics
from iocsim.streams.pipeline import TopicPipeline
from iocsim.streams.state import DictState, partition_of

PARTITIONS = 6


@dataclass(frozen=True)
class Record:
    offset: int
    key: bytes | None
    value: bytes | None


class CountingState(DictState):
    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    def put(self, partition: int, key: str, state: dict[str, Any]) -> None:
        self.puts += 1
        super().put(partition, key, state)


class Dark:
    """Active when brightness < 20; silent cameras raise a signal on tick."""

    topic = CAMERA_OBSERVATIONS

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.forgotten: list[str] = []

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        return {m.entity_id for m in messages}

    def load_state(self, key: str, state: dict[str, Any]) -> None:
        self.last[key] = state["last"]

    def export_state(self, key: str) -> dict[str, Any] | None:
        return {"last": self.last[key]} if key in self.last else None

    def forget(self, key: str) -> None:
        self.forgotten.append(key)
        self.last.pop(key, None)

    def signal(self, entity: str, t: float, active: bool) -> Signal:
        evidence = Evidence(observed=0.0, baseline=0.0, threshold=20.0, event_time=t)
        return Signal("dark", "camera_covered", entity, "d", None, active, t, "warning", evidence)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        out = []
        for m in messages:
            assert isinstance(m, CameraObservation)
            self.last[m.entity_id] = max(self.last.get(m.entity_id, 0.0), m.event_time)
            out.append(self.signal(m.entity_id, m.event_time, m.payload.brightness < 20))
        return out

    def tick(self, event_time: float) -> list[Signal]:
        return [self.signal(k, event_time, True) for k, t in self.last.items() if event_time - t > 100]


def obs(cam: str, t: float, brightness: float = 100.0) -> CameraObservation:
    payload = CameraMetrics(
        frames=5,
        motion_ratio=0,
        brightness=brightness,
        sharpness=1,
        displacement_px=0,
        displacement_response=1,
        blobs=0,
    )
    return CameraObservation(event_id=f"{cam}-{t}", entity_id=cam, district="d", event_time=t, payload=payload)


def records(messages: Sequence[CameraObservation | bytes], first_offset: int = 0) -> list[Record]:
    return [Record(first_offset + i, b"k", m if isinstance(m, bytes) else encode(m)) for i, m in enumerate(messages)]


def pipeline(detector: Dark, state: DictState, alerts: DictState) -> TopicPipeline:
    metrics = WorkerMetrics(CollectorRegistry())
    return TopicPipeline(
        CAMERA_OBSERVATIONS,
        PARTITIONS,
        [(detector, state)],
        alerts,
        LifecycleSettings(),
        metrics,
        FeedMetrics(metrics, 60),
    )


def cameras_in(partition: int, count: int) -> list[str]:
    found: list[str] = []
    n = 0
    while len(found) < count:
        if partition_of(f"cam-{n}", PARTITIONS) == partition:
            found.append(f"cam-{n}")
        n += 1
    return found


def test_state_written_once_per_key_per_batch_to_its_partition() -> None:
    state, alerts = CountingState(), CountingState()
    p = pipeline(Dark(), state, alerts)
    p.adopt(set(range(PARTITIONS)))
    outcome = p.process(3, records([obs("cam-a", t) for t in range(100)] + [obs("cam-b", 5.0)]), 0.0, 0.0)
    assert outcome.alerts == [] and outcome.dead_letters == []
    assert state.puts == 2 and state.data["cam-a"] == (3, {"last": 99.0})
    assert alerts.puts == 2
    assert p.stream_time == 99.0 and p.next_offsets == {3: 101}


def test_alert_state_follows_the_entity_partition_and_dead_letters_come_out() -> None:
    state, alerts = DictState(), DictState()
    p = pipeline(Dark(), state, alerts)
    p.adopt(set(range(PARTITIONS)))
    outcome = p.process(1, records([b"{oops", obs("cam-z", 10, brightness=3)]), 0.0, 0.0)
    assert [d.payload.offset for d in outcome.dead_letters] == [0]
    assert [a.payload.status for a in outcome.alerts] == ["firing"]
    key = fingerprint("dark", "cam-z")
    assert alerts.data[key][0] == partition_of("cam-z", PARTITIONS)


def test_restarted_pipeline_resumes_from_the_tables_without_firing_twice() -> None:
    state, alerts = DictState(), DictState()
    first = pipeline(Dark(), state, alerts)
    first.adopt(set(range(PARTITIONS)))
    fired = first.process(0, records([obs("cam-a", 10, 3), obs("cam-a", 20, 3)]), 0.0, 0.0).alerts
    assert [a.payload.status for a in fired] == ["firing"]
    detector = Dark()
    second = pipeline(detector, state, alerts)
    second.adopt(set(range(PARTITIONS)))
    assert detector.last == {"cam-a": 20.0}
    replayed = second.process(0, records([obs("cam-a", 10, 3), obs("cam-a", 20, 3), obs("cam-a", 30, 3)]), 0.0, 0.0)
    assert replayed.alerts == []
    resolved = second.process(0, records([obs("cam-a", 40)], 3), 0.0, 0.0).alerts
    assert [a.payload.status for a in resolved] == ["resolved"]


def test_tick_speaks_only_for_owned_partitions_and_release_forgets() -> None:
    mine, theirs = cameras_in(0, 1)[0], cameras_in(1, 1)[0]
    detector = Dark()
    p = pipeline(detector, DictState(), DictState())
    p.adopt({0, 1})
    p.process(0, records([obs(mine, 0)]), 0.0, 0.0)
    p.process(1, records([obs(theirs, 0)]), 0.0, 0.0)
    p.release({1})
    assert detector.forgotten == [theirs]
    p.process(0, records([obs("cam-other", 500)], 1), 0.0, 0.0)
    silent = p.tick()
    assert [(a.entity_id, a.payload.status) for a in silent] == [(mine, "firing")]
    assert p.owned == {0}


def test_silence_waits_for_partitions_with_a_backlog() -> None:
    slow, fast = cameras_in(0, 1)[0], cameras_in(1, 1)[0]
    p = pipeline(Dark(), DictState(), DictState())
    p.adopt({0, 1})
    p.process(0, records([obs(slow, 0)]), 0.0, 0.0)
    p.process(1, records([obs(fast, 0), obs(fast, 500)]), 0.0, 0.0)
    assert p.watermark({0}) == 0.0 and p.watermark(set()) == 500.0
    assert p.tick({0}) == []
    assert [a.entity_id for a in p.tick(set())] == [slow]


def test_a_key_keeps_its_home_partition() -> None:
    state, alerts = DictState(), DictState()
    p = pipeline(Dark(), state, alerts)
    p.adopt(set(range(PARTITIONS)))
    p.process(2, records([obs("cam-a", 10)]), 0.0, 0.0)
    p.process(4, records([obs("cam-a", 20)]), 0.0, 0.0)
    assert state.data["cam-a"] == (2, {"last": 20.0})
    restarted = pipeline(Dark(), state, alerts)
    restarted.process(5, records([obs("cam-a", 30)]), 0.0, 0.0)
    assert state.data["cam-a"] == (2, {"last": 30.0})


def test_alerts_live_where_their_entity_arrives_whatever_the_partitioner() -> None:
    camera = cameras_in(0, 1)[0]
    alerts = DictState()
    p = pipeline(Dark(), DictState(), alerts)
    p.adopt({3})
    keyed = [Record(0, camera.encode(), encode(obs(camera, 10, brightness=2)))]
    assert [a.payload.status for a in p.process(3, keyed, 0.0, 0.0).alerts] == ["firing"]
    assert alerts.data[fingerprint("dark", camera)][0] == 3
    assert p.home_of(camera) == 3
    quiet = cameras_in(1, 1)[0]
    p.process(3, [Record(1, quiet.encode(), encode(obs(quiet, 10)))], 0.0, 0.0)
    p.process(3, [Record(2, b"other", encode(obs("cam-other", 500)))], 0.0, 0.0)
    assert [(a.entity_id, a.payload.status) for a in p.tick()] == [(quiet, "firing")]
