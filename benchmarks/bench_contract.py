"""Encoding and decoding speed of the contract against the standard library on the same messages.

    python benchmarks/bench_contract.py [--n 200000]

Baselines in the same run: ``json.dumps`` of the equivalent dict (encode) and
``json.loads`` with no validation (decode). The contract validates while it
decodes, so the decode ratio compares validated decoding with unvalidated
parsing.
"""

from __future__ import annotations

import argparse
import json
import time

import msgspec

from iocsim.contract import CAMERA_OBSERVATIONS, CameraMetrics, CameraObservation, decode, encode


def _messages(n: int) -> list[CameraObservation]:
    return [
        CameraObservation(
            event_id=f"cam-TC-{i % 61:02d}-{i}",
            entity_id=f"TC-{i % 61:02d}",
            district="tua-chua",
            commune="tua-chua/tua-chua",
            event_time=1.7e9 + i * 10.0,
            payload=CameraMetrics(
                frames=5,
                motion_ratio=0.0123 + (i % 7) / 100,
                brightness=112.5 + i % 13,
                sharpness=812.25,
                displacement_px=0.12,
                displacement_response=0.91,
                blobs=2.4,
                snapshot_ref=f"snapshot://TC-{i % 61:02d}/{1700000000 + i * 10}",
            ),
        )
        for i in range(n)
    ]


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    n = parser.parse_args().n
    messages = _messages(n)
    as_dicts = [msgspec.to_builtins(m) for m in messages]

    t = time.perf_counter()
    baseline_bytes = [json.dumps(d, separators=(",", ":")).encode() for d in as_dicts]
    stdlib_encode = time.perf_counter() - t
    t = time.perf_counter()
    ours = [encode(m) for m in messages]
    contract_encode = time.perf_counter() - t

    t = time.perf_counter()
    for raw in baseline_bytes:
        json.loads(raw)
    stdlib_decode = time.perf_counter() - t
    t = time.perf_counter()
    for raw in ours:
        decode(CAMERA_OBSERVATIONS, raw)
    contract_decode = time.perf_counter() - t

    print(f"messages: {n:,}, {sum(map(len, ours)) / n:.0f} bytes each")
    print(
        f"encode  contract {_rate(n, contract_encode):>12,.0f}/s   json.dumps {_rate(n, stdlib_encode):>12,.0f}/s"
        f"   speed-up x{stdlib_encode / contract_encode:.1f}"
    )
    print(
        f"decode  contract {_rate(n, contract_decode):>12,.0f}/s   json.loads {_rate(n, stdlib_decode):>12,.0f}/s"
        f"   speed-up x{stdlib_decode / contract_decode:.1f} (contract validates, json.loads does not)"
    )


if __name__ == "__main__":
    main()
