"""Histograms from separate processes merge exactly; a two-process run adds up."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from iocsim.broker import BrokerAddress
from iocsim.cli import main
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.pool import Pool
from iocsim.loadtest.profile import constant_profile
from iocsim.loadtest.report import schema
from iocsim.loadtest.runner import KafkaRunSettings, run_kafka


def test_merged_histograms_equal_the_histogram_of_all_samples() -> None:
    rng = np.random.default_rng(3)
    samples = np.concatenate([rng.lognormal(-5, 1.5, 50_000), [0.0, 1e-7, 2.5, 4000.0]])
    everything = LatencyHistogram()
    everything.record_many(samples)
    parts = []
    for piece in np.array_split(samples, 2):
        part = LatencyHistogram()
        part.record_many(piece)
        parts.append(LatencyHistogram.decode(part.encode()))
    merged = LatencyHistogram()
    for part in parts:
        merged.merge(part)
    assert merged == everything
    assert merged.summary() == everything.summary()


def test_bulk_recording_equals_one_by_one() -> None:
    samples = np.random.default_rng(5).exponential(0.02, 5000)
    bulk, single = LatencyHistogram(), LatencyHistogram()
    bulk.record_many(samples)
    for value in samples:
        single.record(float(value))
    assert bulk == single


@pytest.mark.broker
@pytest.mark.slow
def test_two_processes_offer_the_profile_together(broker_address: BrokerAddress, small_pool: Pool) -> None:
    settings = KafkaRunSettings(profile=constant_profile(2000, "3s"), bootstrap=broker_address.bootstrap, processes=2)
    outcome = run_kafka(settings, small_pool)
    assert outcome.offered == outcome.sent == outcome.acked == 6000
    assert sorted(outcome.sent_by_worker) == [0, 1]
    assert outcome.sent_by_worker[0] == outcome.sent_by_worker[1] == 3000
    assert outcome.produce.count == 6000
    assert sum(row["offered"] for row in outcome.series.rows()) == 6000


@pytest.mark.broker
@pytest.mark.slow
def test_shard_reports_merge_into_one(broker_address: BrokerAddress, recording: Path, tmp_path: Path) -> None:
    outs = []
    for shard in ("0/2", "1/2"):
        out = tmp_path / f"shard{shard[0]}.json"
        argv = ["load", "--replay", str(recording), "--brokers", broker_address.bootstrap, "--rate", "2000"]
        argv += ["--duration", "2s", "--shard", shard, "--verify", "--threshold", "lost == 0", "--json", str(out)]
        assert main([*argv, "--quiet"]) == 0
        outs.append(out)
    merged_path = tmp_path / "merged.json"
    assert main(["load", "merge", *map(str, outs), "--json", str(merged_path)]) == 0
    shards = [json.loads(out.read_text()) for out in outs]
    merged = json.loads(merged_path.read_text())
    jsonschema.Draft202012Validator(schema()).validate(merged)
    assert [s["totals"]["offered"] for s in shards] == [2000, 2000]
    assert merged["totals"]["offered"] == merged["totals"]["acked"] == 4000
    assert merged["totals"]["lost"] == 0 and merged["totals"]["duplicates"] == 0
    expected = LatencyHistogram()
    for shard_report in shards:
        expected.merge(LatencyHistogram.decode(shard_report["latency"]["produce_ack"]["hdr"]))
    assert LatencyHistogram.decode(merged["latency"]["produce_ack"]["hdr"]) == expected
    assert merged["latency"]["produce_ack"]["count"] == 4000
    assert sum(row["offered"] for row in merged["series"]) == 4000
