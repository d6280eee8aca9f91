"""The load harness against raw producer loops: highest rate, latency it adds, memory over a soak.

    python benchmarks/bench_load.py [--seconds 3] [--soak-seconds 20]
    python benchmarks/bench_load.py --soak-seconds 1800 --soak-rate 20000   # the 30-minute soak

All loops send the same recorded messages (field reports and service events) to the same fresh embedded
broker in the same run. Harness: open-model sender, one process, offered 1.5 × the raw rate (so it sends
as fast as it can); confluent raw: ``produce`` in a loop, no callback; kafka-python raw: ``send`` in a
loop. Rates count acknowledged messages over the time from the first send to the last acknowledgement.
Latency added: the broker is paused for a known 1.0 s; the worst latency minus 1.0 s is what harness,
client and broker add on top of the stall. Memory: the harness process's RSS during a soak.
"""

from __future__ import annotations

import argparse
import threading
import time

from confluent_kafka import Producer
from kafka import KafkaProducer

from iocsim.broker import EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS
from iocsim.loadtest.pool import Pool, PoolSource, generate
from iocsim.loadtest.profile import constant_profile
from iocsim.loadtest.runner import START_DELAY_S, KafkaRunSettings, run_kafka


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def harness_rate(bootstrap: str, pool: Pool, seconds: float, offered: float) -> float:
    outcome = run_kafka(KafkaRunSettings(profile=constant_profile(offered, seconds), bootstrap=bootstrap), pool)
    return outcome.acked / (outcome.finished_at - outcome.started_at)


def confluent_rate(bootstrap: str, pool: Pool, count: int) -> float:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "compression.type": "lz4",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_000_000,
        }
    )
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
    args = parser.parse_args()
    pool = generate(PoolSource(scenario="services", feeds=("incidents", "services"), max_events=5000))
    with EmbeddedBroker() as broker:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        bootstrap = broker.address.bootstrap
        confluent_rate(bootstrap, pool, 20_000)  # warm the broker up
        confluent = confluent_rate(bootstrap, pool, int(200_000 * args.seconds))
        harness = harness_rate(bootstrap, pool, args.seconds, offered=1.5 * confluent)
        kafka_python = kafka_python_rate(bootstrap, pool, 30_000)
        print(
            f"highest rate, one process: harness {harness:,.0f}/s, confluent-kafka raw {confluent:,.0f}/s "
            f"({100 * harness / confluent:.0f} %), kafka-python raw {kafka_python:,.0f}/s"
        )
        print(f"latency added on top of a known 1.0 s broker stall (worst event): {added_latency(broker, pool):.1f} ms")
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
        profile = constant_profile(args.soak_rate, args.soak_seconds)
        run_kafka(KafkaRunSettings(profile=profile, bootstrap=broker.address.bootstrap), pool)
        sampler_stop.set()
        quarter = max(len(samples) // 4, 1)
        print(
            f"soak {args.soak_seconds:g} s at {args.soak_rate:,.0f}/s: harness RSS {before:.0f} MiB before, "
            f"{samples[quarter - 1]:.0f} MiB after the first quarter, {samples[-1]:.0f} MiB at the end"
        )


if __name__ == "__main__":
    main()
