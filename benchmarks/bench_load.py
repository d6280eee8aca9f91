"""The load harness against raw producer loops: highest rate, latency it adds, memory over a soak.

    python benchmarks/bench_load.py [--seconds 3] [--soak-seconds 20]
    python benchmarks/bench_load.py --soak-seconds 1800 --soak-rate 20000   # the 30-minute soak

All loops send the same recorded messages (field reports and service events) to the same fresh embedded
broker in the same run. Harness: open-model sender, one process, offered 1.5 × the raw rate (so it sends
as fast as it can), latency bookkeeping on, with and without the sequence markers of ``--verify``;
confluent raw: ``produce`` in a loop, no callback, and the same loop with a delivery callback that
keeps each message's latency (what any per-message latency measurement costs in this client);
kafka-python raw: ``send`` in a loop. Rates count acknowledged messages over the time from the first
send to the last acknowledgement.
Latency added: the broker is paused for a known 1.0 s; the worst latency minus 1.0 s is what harness,
client and broker add on top of the stall. Memory: the harness process's RSS during a soak.
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
from confluent_kafka import Producer
from kafka import KafkaProducer

from iocsim.broker import EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS
from iocsim.loadtest.heap import find_malloc_trim
from iocsim.loadtest.pool import Pool, PoolSource, generate
from iocsim.loadtest.profile import constant_profile
from iocsim.loadtest.runner import START_DELAY_S, KafkaRunSettings, run_kafka


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _rss_after_trim() -> float:
    """RSS once glibc has handed its free heap pages back: what is left is memory still in use."""
    trim = find_malloc_trim()
    if trim is not None:
        trim(0)
    return _rss_mib()


def harness_rate(bootstrap: str, pool: Pool, seconds: float, offered: float, marked: bool = False) -> float:
    profile = constant_profile(offered, seconds)
    outcome = run_kafka(KafkaRunSettings(profile=profile, bootstrap=bootstrap, mark_sequence=marked), pool)
    return outcome.acked / (outcome.finished_at - outcome.started_at)


def confluent_rate(bootstrap: str, pool: Pool, count: int, with_reports: bool = False) -> float:
    """``with_reports``: a delivery callback keeps each message's latency, the least a latency-measuring loop does."""
    latencies: list[float] = []
    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "compression.type": "lz4",
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": 2_000_000,
        "queue.buffering.max.kbytes": 2_000_000,
    }
    if with_reports:
        config["on_delivery"] = lambda _err, msg: latencies.append(msg.latency())
    producer = Producer(config)
    topics, keys, values = pool.topics, pool.keys, pool.values
    n = len(values)
    began = time.perf_counter()
    for i in range(count):
        j = i % n
        while True:
            try:
                producer.produce(topics[j], values[j], keys[j])
                break
            except BufferError:
                producer.poll(0.001)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(60)
    return count / (time.perf_counter() - began)


def kafka_python_rate(bootstrap: str, pool: Pool, count: int) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type="lz4", linger_ms=5)
    topics, keys, values = pool.topics, pool.keys, pool.values
    n = len(values)
    began = time.perf_counter()
    for i in range(count):
        j = i % n
        producer.send(topics[j], value=values[j], key=keys[j])
    producer.flush(60)
    rate = count / (time.perf_counter() - began)
    producer.close()
    return rate


def added_latency(broker: EmbeddedBroker, pool: Pool) -> float:
    def stall() -> None:
        time.sleep(START_DELAY_S + 1.0)
        broker.pause()
        time.sleep(1.0)
        broker.resume()

    staller = threading.Thread(target=stall)
    staller.start()
    outcome = run_kafka(KafkaRunSettings(profile=constant_profile(2000, 3.0), bootstrap=broker.address.bootstrap), pool)
    staller.join()
    return outcome.produce.summary()["max_ms"] - 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each rate measurement")
    parser.add_argument("--soak-seconds", type=float, default=20.0)
    parser.add_argument("--soak-rate", type=float, default=5000.0)
    parser.add_argument("--repeat", type=int, default=3, help="rate measurements (the median ratio is reported)")
    parser.add_argument("--soak-only", action="store_true", help="skip the rate and added-latency measurements")
    args = parser.parse_args()
    pool = generate(PoolSource(scenario="services", feeds=("incidents", "services"), max_events=5000))
    if not args.soak_only:
        rates(pool, args.seconds, args.repeat)
    soak(pool, args.soak_seconds, args.soak_rate)


def rates(pool: Pool, seconds: float, repeat: int) -> None:
    with EmbeddedBroker() as broker:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        bootstrap = broker.address.bootstrap
        confluent_rate(bootstrap, pool, 20_000)  # warm the broker up
        ratios: list[tuple[float, float, float]] = []
        for attempt in range(1, repeat + 1):
            confluent = confluent_rate(bootstrap, pool, int(200_000 * seconds))
            reported = confluent_rate(bootstrap, pool, int(200_000 * seconds), with_reports=True)
            harness = harness_rate(bootstrap, pool, seconds, offered=1.5 * confluent)
            marked = harness_rate(bootstrap, pool, seconds, offered=1.5 * confluent, marked=True)
            ratios.append((harness / confluent, marked / confluent, harness / reported))
            print(
                f"[{attempt}/{repeat}] one process: harness {harness:,.0f}/s, with --verify markers {marked:,.0f}/s; "
                f"confluent-kafka raw {confluent:,.0f}/s, raw with a delivery callback {reported:,.0f}/s",
                flush=True,
            )
        harness_share, marked_share, reported_share = np.median(np.asarray(ratios), axis=0)
        print(
            f"median of {repeat}: harness {100 * harness_share:.0f} % of confluent-kafka raw "
            f"({100 * marked_share:.0f} % with --verify markers), {100 * reported_share:.0f} % of the raw loop "
            "with a delivery callback"
        )
        kafka_python = kafka_python_rate(bootstrap, pool, 30_000)
        print(f"kafka-python raw {kafka_python:,.0f}/s")
        print(f"latency added on top of a known 1.0 s broker stall (worst event): {added_latency(broker, pool):.1f} ms")


def soak(pool: Pool, seconds: float, rate: float) -> None:
    """RSS once a second during the run; the slope is fitted over all but the first quarter (warm-up)."""
    with EmbeddedBroker() as broker:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        before = _rss_mib()
        samples: list[float] = []
        sampler_stop = threading.Event()

        def sample() -> None:
            while not sampler_stop.wait(1.0):
                samples.append(_rss_mib())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        outcome = run_kafka(
            KafkaRunSettings(profile=constant_profile(rate, seconds), bootstrap=broker.address.bootstrap), pool
        )
        sampler_stop.set()
        quarter = max(len(samples) // 4, 1)
        tail = np.asarray(samples[quarter - 1 :])
        slope = np.polyfit(np.arange(tail.size) / 60.0, tail, 1)[0] if tail.size > 1 else 0.0
        trimmed = _rss_after_trim()
        print(
            f"soak {seconds:g} s at {rate:,.0f}/s ({outcome.acked:,} acked, {outcome.failed} failed): harness RSS "
            f"{before:.1f} MiB before, {samples[quarter - 1]:.1f} MiB after the first quarter, {samples[-1]:.1f} MiB "
            f"at the end, max {max(samples):.1f} MiB; slope after the first quarter {slope * 1024:+.1f} KiB/min; "
            f"after returning the C heap's free pages (malloc_trim) {trimmed:.1f} MiB"
        )


if __name__ == "__main__":
    main()
