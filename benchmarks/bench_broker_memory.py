"""How much memory the embedded broker holds per message, to say how long it can run.

    python benchmarks/bench_broker_memory.py [--messages 1000000]

Publishes camera observations (the largest feed by volume: 61 cameras, one
observation each per 10 s, about 527,000 a day) to a fresh embedded broker
and reads the broker's resident memory (VmRSS) before and after.
"""

from __future__ import annotations

import argparse
import time

from iocsim.broker import EmbeddedBroker, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS, KafkaSettings
from iocsim.contract import CameraMetrics, CameraObservation
from iocsim.producers.publisher import Publisher


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    n = parser.parse_args().messages
    with EmbeddedBroker() as broker:
        ensure_topics(broker.address, DEFAULT_PARTITIONS)
        assert broker.pid is not None
        time.sleep(1)
        before = _rss_mib(broker.pid)
        publisher = Publisher(broker.address, KafkaSettings())
        size = 0
        for i in range(n):
            camera = f"TC-{i % 61:02d}"
            message = CameraObservation(
                event_id=f"cam-{camera}-{i // 61}",
                entity_id=camera,
                district="tua-chua",
                commune="tua-chua/tua-chua",
                event_time=1.7e9 + (i // 61) * 10.0,
                payload=CameraMetrics(
                    frames=5,
                    motion_ratio=0.0123,
                    brightness=112.5 + i % 50,
                    sharpness=3812.25 + i % 97,
                    displacement_px=0.0412,
                    displacement_response=0.9134,
                    blobs=2.4,
                    snapshot_ref=f"snapshot://{camera}/{1700000000 + (i // 61) * 10}",
                ),
            )
            publisher.send(message)
        publisher.close()
        size = sum(publisher.counts.acked_bytes.values())
        time.sleep(2)
        after = _rss_mib(broker.pid)
    per_million = (after - before) / n * 1e6
    per_day = 61 * 8640
    print(f"{n:,} camera observations ({size / n:.0f} bytes each before compression)")
    print(f"broker RSS {before:.0f} MiB -> {after:.0f} MiB: {per_million:.0f} MiB per million messages")
    print(f"default camera feed: {per_day:,} messages/day -> {per_million * per_day / 1e6:.0f} MiB/day")


if __name__ == "__main__":
    main()
