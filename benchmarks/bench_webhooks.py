"""Alert webhook delivery: throughput and p99 latency of the dispatcher against a bare aiohttp loop, same run.

    python benchmarks/bench_webhooks.py [--alerts 10000] [--rate 1000] [--seconds 10] [--concurrency 16]

Two minimal aiohttp receivers (each its own process, answering 204 and
noting when each ``webhook-id`` arrived) stand at the far end, one for the
dispatcher and one for the baseline, so the receiver is not what is measured.

1. Throughput: ``--alerts`` transitions already on the topic; the dispatcher
   (consumer group, one lane, ``--concurrency`` requests in flight, signing,
   commits) against a bare loop of ``--concurrency`` aiohttp workers posting
   the same bodies with the same signing. Rate = transitions / time between the
   receiver's first and last acceptance.
2. Latency at ``--rate`` alerts/s for ``--seconds``: a separate process
   publishes on a fixed schedule; latency is receiver acceptance minus the
   scheduled publish time (open model: a late publisher counts against us).
   The baseline posts at the same schedule directly, with no Kafka in between.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp
import numpy as np

from iocsim.broker import BrokerAddress, EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS
from iocsim.consumers.dispatcher import Dispatcher, DispatchSettings
from iocsim.consumers.endpoints import Endpoint
from iocsim.consumers.payloads import native_body
from iocsim.consumers.signing import generate_secret, parse_secret, signed_headers, webhook_id
from iocsim.contract import Alert, AlertDetails, Evidence

SECRET = generate_secret()
KEY = parse_secret(SECRET)

RECEIVER = """
import asyncio, json, signal, sys, time
from aiohttp import web
seen = []
async def handle(request):
    await request.read()
    seen.append((time.time(), request.headers["webhook-id"]))
    return web.Response(status=204)
async def main():
    app = web.Application()
    app.router.add_post("/alerts", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(sys.argv[1])).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    with open(sys.argv[2], "w") as out:
        json.dump(seen, out)
asyncio.run(main())
"""

PUBLISHER = """
import sys, time
from kafka import KafkaProducer
sys.path.insert(0, {here!r})
from bench_webhooks import alert
from iocsim.contract import encode, encode_key
bootstrap, topic, run = sys.argv[1], sys.argv[2], sys.argv[6]
start, rate, count = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
for i in range(count):
    due = start + i / rate
    pause = due - time.time()
    if pause > 0:
        time.sleep(pause)
    a = alert(i, run)
    producer.send(topic, key=encode_key(a), value=encode(a))
producer.flush()
"""


def alert(n: int, run: str) -> Alert:
    """Transition ``n`` of a run; the entity id carries ``n`` so latency can be matched to its schedule."""
    fingerprint = f"{run[:6]}{n:010d}"
    start = 1_746_996_000.0 + n
    return Alert(
        event_id=f"{fingerprint}-{start:.3f}-firing",
        entity_id=f"bench-{n}",
        district="muong-ang",
        event_time=start,
        payload=AlertDetails(
            fingerprint=fingerprint,
            rule="crowd_rule",
            kind="crowd",
            status="firing",
            severity="critical",
            starts_at=start,
            summary=f"crowd at bench-{n}",
            evidence=Evidence(observed=31.0, baseline=6.5, threshold=20.0, event_time=start),
        ),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ReceiverProcess:
    def __init__(self, record: Path) -> None:
        self.port = free_port()
        self.record = record
        self.process = subprocess.Popen([sys.executable, "-c", RECEIVER, str(self.port), str(record)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("receiver did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def stop(self) -> list[tuple[float, str]]:
        """Stop it; (arrival time, webhook-id) of every request it got."""
        self.process.terminate()
        self.process.wait(30)
        return [(at, msg_id) for at, msg_id in json.loads(self.record.read_text(encoding="utf-8"))]


async def bare_loop(url: str, bodies: list[tuple[str, bytes]], concurrency: int, due: list[float] | None) -> None:
    """The baseline: ``concurrency`` aiohttp workers sign and POST each body, as soon as it is due."""
    queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def worker() -> None:
            while (item := await queue.get()) is not None:
                msg_id, body = item
                headers = signed_headers(KEY, msg_id, int(time.time()), body)
                headers["Content-Type"] = "application/json"
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()

        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        for i, item in enumerate(bodies):
            if due is not None and (pause := due[i] - time.time()) > 0:
                await asyncio.sleep(pause)
            queue.put_nowait(item)
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)


async def dispatch_until(settings: DispatchSettings, receiver: ReceiverProcess, count: int, timeout: float) -> None:
    """Run a dispatcher until ``count`` deliveries (or ``timeout``)."""
    dispatcher = Dispatcher(settings)
    task = asyncio.create_task(dispatcher.run())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and sum(lane.delivered for lane in dispatcher.lanes) < count:
        await asyncio.sleep(0.1)
    dispatcher.stop()
    await task


def rate_of(arrivals: list[tuple[float, str]]) -> float:
    times = sorted(at for at, _ in arrivals)
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def latencies(arrivals: list[tuple[float, str]], due: dict[str, float]) -> np.ndarray:
    """Seconds from each transition's scheduled publish time to its first arrival."""
    first: dict[str, float] = {}
    for at, msg_id in arrivals:
        first.setdefault(msg_id, at)
    return np.array([at - due[msg_id] for msg_id, at in first.items() if msg_id in due])


def settings_for(address: BrokerAddress, topic: str, url: str, concurrency: int) -> DispatchSettings:
    endpoint = Endpoint(name="bench", url=url, key=KEY, concurrency=concurrency, queue_size=max(1000, concurrency))
    return DispatchSettings(
        brokers=address, endpoints=(endpoint,), topic=topic, group_id=f"bench-{uuid.uuid4().hex[:6]}", session_timeout=6
    )


def publisher_args(
    here: str, address: BrokerAddress, topic: str, start: float, rate: float, count: int, run: str
) -> list[str]:
    return [
        sys.executable,
        "-c",
        PUBLISHER.format(here=here),
        address.bootstrap,
        topic,
        str(start),
        str(rate),
        str(count),
        run,
    ]


@dataclass(frozen=True)
class Round:
    """One throughput round: rates, and CPU seconds of this process per request (less noisy than rates)."""

    mine: float
    bare: float
    mine_cpu: float
    bare_cpu: float


def throughput(address: BrokerAddress, work: Path, here: str, count: int, concurrency: int) -> Round:
    """The dispatcher drains ``count`` transitions already on a topic; the bare loop posts the same bodies."""
    run = uuid.uuid4().hex[:6]
    topic = f"bench.alerts.{run}"
    ensure_topics(address, {topic: 3})
    subprocess.run(publisher_args(here, address, topic, 0.0, 1e9, count, run), check=True)
    mine, bare = ReceiverProcess(work / f"t-mine-{run}.json"), ReceiverProcess(work / f"t-bare-{run}.json")
    cpu = time.process_time()
    asyncio.run(dispatch_until(settings_for(address, topic, mine.url, concurrency), mine, count, 600))
    mine_cpu = (time.process_time() - cpu) / count
    bodies = [(webhook_id(a.event_id), native_body(a)) for a in (alert(n, run) for n in range(count))]
    cpu = time.process_time()
    asyncio.run(bare_loop(bare.url, bodies, concurrency, None))
    bare_cpu = (time.process_time() - cpu) / count
    return Round(rate_of(mine.stop()), rate_of(bare.stop()), mine_cpu, bare_cpu)


def latency(
    address: BrokerAddress, work: Path, here: str, rate: float, count: int, concurrency: int
) -> tuple[np.ndarray, np.ndarray]:
    run = uuid.uuid4().hex[:6]
    topic = f"bench.alerts.{run}"
    ensure_topics(address, {topic: 3})
    mine, bare = ReceiverProcess(work / "l-mine.json"), ReceiverProcess(work / "l-bare.json")

    async def dispatched() -> float:
        dispatcher = Dispatcher(settings_for(address, topic, mine.url, concurrency))
        task = asyncio.create_task(dispatcher.run())
        await dispatcher.wait_assigned(30)
        start = time.time() + 1.0
        publisher = await asyncio.create_subprocess_exec(*publisher_args(here, address, topic, start, rate, count, run))
        await publisher.wait()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(lane.delivered for lane in dispatcher.lanes) < count:
            await asyncio.sleep(0.1)
        dispatcher.stop()
        await task
        return start

    start = asyncio.run(dispatched())
    due_mine = {webhook_id(alert(n, run).event_id): start + n / rate for n in range(count)}
    other = run[::-1]
    bodies = [(webhook_id(a.event_id), native_body(a)) for a in (alert(n, other) for n in range(count))]
    start = time.time() + 0.5
    due = [start + n / rate for n in range(count)]
    asyncio.run(bare_loop(bare.url, bodies, concurrency, due))
    due_bare = {msg_id: at for (msg_id, _), at in zip(bodies, due, strict=True)}
    return latencies(mine.stop(), due_mine), latencies(bare.stop(), due_bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000, help="transitions for the throughput run")
    parser.add_argument("--rate", type=float, default=1000.0, help="alerts per second for the latency run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (dispatcher and baseline)")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds (the best of each side is kept)")
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parent)
    count = int(args.rate * args.seconds)
    with TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        rounds = [
            throughput(broker.address, Path(tmp), here, args.alerts, args.concurrency) for _ in range(args.rounds)
        ]
        t_mine, t_bare = max(r.mine for r in rounds), max(r.bare for r in rounds)
        c_mine, c_bare = min(r.mine_cpu for r in rounds), min(r.bare_cpu for r in rounds)
        l_mine, l_bare = latency(broker.address, Path(tmp), here, args.rate, count, args.concurrency)

    print(f"throughput, {args.alerts:,} transitions, {args.concurrency} in flight, best of {args.rounds} rounds:")
    print(f"  dispatcher (Kafka -> sign -> POST -> commit): {t_mine:8,.0f} deliveries/s")
    print(f"  bare aiohttp loop (sign -> POST):             {t_bare:8,.0f} requests/s")
    each = ", ".join(f"{r.mine:,.0f}/{r.bare:,.0f}" for r in rounds)
    print(f"  ratio dispatcher / bare: {t_mine / t_bare:.2f}  (rounds: {each})")
    print(
        f"  CPU of this process per request: dispatcher {c_mine * 1e6:,.0f} us, bare {c_bare * 1e6:,.0f} us "
        f"(ratio {c_mine / c_bare:.2f}; includes the group join and idle polling)"
    )
    print(f"latency at {args.rate:,.0f} alerts/s for {args.seconds:g} s (scheduled publish -> arrival at receiver):")
    for name, values in (("dispatcher", l_mine), ("bare loop", l_bare)):
        p50, p99, worst = np.percentile(values, [50, 99, 100]) * 1000 if len(values) else (float("nan"),) * 3
        print(
            f"  {name:10s}: {len(values):,}/{count:,} arrived, "
            f"p50 {p50:7.1f} ms, p99 {p99:7.1f} ms, max {worst:7.1f} ms"
        )
    if len(l_mine) and len(l_bare):
        print(f"  p99 ratio dispatcher / bare: {np.percentile(l_mine, 99) / np.percentile(l_bare, 99):.1f}")


if __name__ == "__main__":
    main()
