"""Events per second published by each feed, against a bare kafka-python send loop in the same run.

    python benchmarks/bench_producers.py [--minutes 60] [--cameras 61]

For each feed: the rate at which the model generates events; the rate at
which the publisher (contract encoding, keys, delivery callbacks, acks=all)
sends those events and gets every acknowledgement; and the baseline: the same
encoded bytes, pre-built, sent by a bare ``KafkaProducer.send`` loop with the
same producer settings, then flushed. The overhead is publish time / bare
time on the same broker in the same run (1.0 = nothing beyond Kafka);
end-to-end is generation and publishing together. The camera feed's cost is
its OpenCV analysis: ``bench_cameras.py`` compares it with a bare cv2 loop.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from kafka import KafkaProducer

from iocsim.broker import EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS, KafkaSettings
from iocsim.contract import encode, encode_key, topic_of
from iocsim.producers.pacing import SimPacer
from iocsim.producers.publisher import Publisher
from iocsim.producers.simulate import publish_run
from iocsim.sim import simulation
from iocsim.sim.cameras.feed import CameraSettings
from iocsim.sim.profiles import load_profile
from iocsim.sim.scenario import clean_scenario

MONDAY_MORNING = dt.datetime(2025, 5, 12, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _bare_loop(bootstrap: str, settings: KafkaSettings, records: list[tuple[str, bytes, bytes]]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        compression_type=settings.compression,
        linger_ms=settings.linger_ms,
        batch_size=settings.batch_bytes,
        enable_idempotence=False,
    )
    started = time.perf_counter()
    for topic, key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camera-minutes", type=float, default=10.0, help="sim minutes of the camera feed")
    parser.add_argument("--cameras", type=int, default=61, help="number of cameras for the camera feed")
    parser.add_argument("--days", type=float, default=28.0, help="sim days of the report and service feeds")
    args = parser.parse_args()
    profile = load_profile()
    settings = KafkaSettings()
    camera_ids = tuple(c.id for c in profile.cameras[: args.cameras])
    durations = {"cameras": args.camera_minutes * 60, "incidents": args.days * 86400, "services": args.days * 86400}
    print(f"clean runs from Monday 12 May 2025 08:00; {len(camera_ids)} cameras")
    print(f"{'feed':<10} {'events':>9} {'generate/s':>11} {'publish/s':>10} {'bare send/s':>11} {'overhead':>8}")
    with EmbeddedBroker() as broker:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        for feed in simulation.FEEDS:
            scenario = clean_scenario(durations[feed], MONDAY_MORNING)
            spec = simulation.SimulationSpec(
                profile=profile,
                scenario=scenario,
                seed=1,
                feeds=(feed,),
                cameras=CameraSettings(camera_ids=camera_ids),
            )
            started = time.perf_counter()
            messages = list(simulation.events(spec))
            generate = time.perf_counter() - started
            records = [(topic_of(m), encode_key(m), encode(m)) for m in messages]
            bare = _bare_loop(broker.address.bootstrap, settings, records)
            publisher = Publisher(broker.address, settings)
            started = time.perf_counter()
            summary = publish_run(messages, publisher, SimPacer(scenario.start, 0), sim_end=scenario.end)
            publish = time.perf_counter() - started
            n = summary.acked
            assert n == len(records), f"{feed}: {n} of {len(records)} acknowledged"
            print(
                f"{feed:<10} {n:>9,} {n / generate:>11,.0f} {n / publish:>10,.0f} {n / bare:>11,.0f}"
                f" {publish / bare:>7.2f}x"
            )


if __name__ == "__main__":
    main()
