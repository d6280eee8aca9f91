"""Events per second through one stream-processing worker, against a bare aiokafka loop on the same topic.

    python benchmarks/bench_worker.py [--n 200000] [--batch 10000] [--repeat 1] [--skip-naive]

One embedded broker (Tansu) is started and ``--n`` camera observations are
published to ``ioc.camera.observations`` (6 partitions, uncompressed: aiokafka
reads lz4 only with cramjam installed). Then, on the same records, one after
another in this process:

- ``aiokafka getmany + decode``: the baseline, a bare consumer that decodes
  (and validates) every message with the contract and does nothing else;
- ``faust agent per message``: a plain agent iterating message by message,
  with Faust's json or raw value serializer, with and without a table write
  per message (``--n / 5`` records);
- ``worker, trivial detector``: the real worker (Faust app, consumer group,
  changelog tables, feeds read in bulk, decode, dead letters, feed metrics,
  the alert lifecycle, commits) running one detector that only counts, so
  the rate is the worker's own ceiling;
- ``worker, default detectors``: the same worker with the detectors
  ``iocsim worker`` runs, so the rate includes the camera detector's cost.

Rates are measured from the first processed record to the last (startup and
group assignment excluded), with the CPU time this process spent meanwhile
per record (the broker is another process). Rates are noisy on a shared
2-core machine, where a neighbour can stall the worker without using its
CPU: compare each row with the baseline measured in the same run
(``--repeat``), and the CPU per record across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import faust
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from iocsim.broker import BrokerAddress, EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS
from iocsim.contract import CAMERA_OBSERVATIONS, CameraMetrics, CameraObservation, Envelope, decode, encode
from iocsim.sim.profiles import DEFAULT_PROFILE, load_profile
from iocsim.streams.detector import Detector
from iocsim.streams.lifecycle import Signal
from iocsim.streams.registry import default_detectors, default_lifecycle_settings
from iocsim.streams.runner import BackgroundWorker, quiet_logs
from iocsim.streams.settings import WorkerSettings
from iocsim.streams.state import partition_of

TOPIC = CAMERA_OBSERVATIONS
PARTITIONS = DEFAULT_PARTITIONS[TOPIC]


class CountingDetector:
    """Trivial detector: counts observations and remembers the latest time per camera; never signals."""

    topic = TOPIC
    name = "counting"

    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        return {m.entity_id for m in messages}

    def load_state(self, key: str, state: dict[str, Any]) -> None:
        self.states[key] = dict(state)

    def export_state(self, key: str) -> dict[str, Any] | None:
        state = self.states.get(key)
        return None if state is None else dict(state)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        states = self.states
        for m in messages:
            state = states.get(m.entity_id)
            if state is None:
                state = states[m.entity_id] = {"n": 0, "last": 0.0}
            state["n"] += 1
            state["last"] = m.event_time
        return []

    def tick(self, event_time: float) -> list[Signal]:
        return []


def observations(n: int) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(n):
        camera = f"TC-{i % 61:02d}"
        message = CameraObservation(
            event_id=f"{camera}-{i}",
            entity_id=camera,
            district="tua-chua",
            commune="tua-chua/tua-chua",
            event_time=1.7e9 + (i // 61) * 10.0,
            payload=CameraMetrics(
                frames=5,
                motion_ratio=0.0123 + (i % 7) / 100,
                brightness=112.5 + i % 13,
                sharpness=812.25,
                displacement_px=0.12,
                displacement_response=0.91,
                blobs=2.4,
                snapshot_ref=f"snapshot://{camera}/{1700000000 + i * 10}",
            ),
        )
        out.append((camera.encode(), encode(message)))
    return out


async def produce(address: BrokerAddress, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=address.bootstrap, linger_ms=20)
    await producer.start()
    try:
        batches = {p: producer.create_batch() for p in range(PARTITIONS)}
        pending = []
        for key, value in records:
            partition = partition_of(key.decode(), PARTITIONS)
            if batches[partition].append(key=key, value=value, timestamp=None) is None:
                pending.append(await producer.send_batch(batches[partition], TOPIC, partition=partition))
                batches[partition] = producer.create_batch()
                batches[partition].append(key=key, value=value, timestamp=None)
        for partition, batch in batches.items():
            if batch.record_count():
                pending.append(await producer.send_batch(batch, TOPIC, partition=partition))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


Measured = tuple[float, float]
"""Events per second, and CPU microseconds of this process per event."""


async def baseline(address: BrokerAddress, n: int) -> Measured:
    consumer = AIOKafkaConsumer(bootstrap_servers=address.bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        seen, started, cpu = 0, 0.0, 0.0
        while seen < n:
            for records in (await consumer.getmany(timeout_ms=200, max_records=10_000)).values():
                if not started:
                    started, cpu = time.perf_counter(), time.process_time()
                for record in records:
                    decode(TOPIC, record.value)
                seen += len(records)
        return n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1e6
    finally:
        await consumer.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings(address: BrokerAddress, batch: int) -> WorkerSettings:
    return WorkerSettings(
        brokers=address,
        app_id=f"bench-{uuid.uuid4().hex[:8]}",
        web_port=free_port(),
        metrics_port=free_port(),
        batch_size=batch,
        session_timeout_seconds=6.0,
        lifecycle=default_lifecycle_settings(),
    )


def rate_of(progress: Callable[[], int], n: int, timeout: float) -> Measured:
    """Events/s (and CPU µs per event) from the first processed event to the n-th, sampling every 5 ms."""
    deadline = time.monotonic() + timeout
    while progress() == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("nothing processed")
        time.sleep(0.005)
    first_count, first_time, first_cpu = progress(), time.perf_counter(), time.process_time()
    while progress() < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {progress()} of {n} processed in {timeout:.0f} s")
        time.sleep(0.005)
    handled = n - first_count
    return handled / (time.perf_counter() - first_time), (time.process_time() - first_cpu) / handled * 1e6


def faust_worker(address: BrokerAddress, n: int, batch: int, detectors: Sequence[Detector]) -> Measured:
    with BackgroundWorker(settings(address, batch), detectors) as running:
        assert running.worker is not None
        probe = running.worker.probe
        return rate_of(lambda: probe.events, n, timeout=600)


NaiveApp = tuple[faust.App, Callable[[], int]]


def run_app_in_thread(build: Callable[[str], NaiveApp], n: int) -> Measured:
    """Start the app ``build`` returns on its own loop in a thread; rate until its progress reaches n."""
    holder: dict[str, Any] = {}
    ready = threading.Event()

    def thread() -> None:
        async def main() -> None:
            with tempfile.TemporaryDirectory(prefix="bench-naive-") as data_dir:
                await serve(data_dir)

        async def serve(data_dir: str) -> None:
            app, progress = build(data_dir)
            holder["progress"], holder["loop"], holder["stop"] = progress, asyncio.get_running_loop(), asyncio.Event()
            await app.start()
            ready.set()
            await holder["stop"].wait()
            await app.stop()

        asyncio.run(main())

    worker = threading.Thread(target=thread, daemon=True)
    worker.start()
    ready.wait(60)
    try:
        return rate_of(lambda: int(holder["progress"]()), n, timeout=600)
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        worker.join(30)


def naive_app(address: BrokerAddress, serializer: str, table_writes: bool, data_dir: str) -> NaiveApp:
    """A plain Faust agent, message by message; ``json`` makes Faust parse values before the contract does."""
    s = settings(address, 1)
    app = faust.App(
        s.app_id,
        broker=f"kafka://{address.bootstrap}",
        store="memory://",
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
        web_port=s.web_port,
        web_bind="127.0.0.1",
        key_serializer="raw",
        value_serializer=serializer,
        datadir=data_dir,
    )
    table = app.Table("naive", default=None, partitions=PARTITIONS)
    count = [0]

    async def agent(stream: Any) -> None:
        async for value in stream:
            parsed = msgspec.convert(value, CameraObservation) if serializer == "json" else decode(TOPIC, value)
            if table_writes:
                table[parsed.entity_id] = {"last": parsed.event_time}
            count[0] += 1

    app.agent(app.topic(TOPIC, partitions=PARTITIONS), name="naive")(agent)
    return app, lambda: count[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--batch", type=int, nargs="+", default=[10_000], help="worker batch sizes (records per fetch)")
    parser.add_argument("--repeat", type=int, default=1, help="measure the baseline and the workers this many times")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    quiet_logs("error")
    n = args.n
    profile = load_profile(DEFAULT_PROFILE)
    with EmbeddedBroker() as broker:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        t = time.perf_counter()
        asyncio.run(produce(broker.address, observations(n)))
        print(f"published {n:,} camera observations in {time.perf_counter() - t:.1f} s")
        for run in range(args.repeat):
            base = asyncio.run(baseline(broker.address, n))
            rows = [("aiokafka getmany + decode (baseline)", base)]
            base_rate = base[0]
            if not args.skip_naive and run == 0:
                for label, serializer, writes in (
                    ("json serializer", "json", False),
                    ("raw serializer", "raw", False),
                    ("raw, table write per message", "raw", True),
                ):

                    def build(data_dir: str, s: str = serializer, w: bool = writes) -> NaiveApp:
                        return naive_app(broker.address, s, w, data_dir)

                    rows.append((f"faust agent per message ({label})", run_app_in_thread(build, n // 5)))
            for batch in args.batch:
                counting = faust_worker(broker.address, n, batch, [CountingDetector()])
                rows.append((f"worker, trivial detector (batch {batch})", counting))
                real = faust_worker(broker.address, n, batch, default_detectors(profile))
                rows.append((f"worker, default detectors (batch {batch})", real))
            print(f"run {run + 1}: {'path':<50} {'events/s':>10} {'vs baseline':>12} {'CPU µs/event':>13}")
            for name, (rate, cpu) in rows:
                print(f"run {run + 1}: {name:<50} {rate:>10,.0f} {rate / base_rate:>11.2f}x {cpu:>13.1f}")


if __name__ == "__main__":
    main()
