"""Time to detect under load: our pipeline runs on the broker while the harness sends a scenario's content."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from iocsim.cli import main
from iocsim.loadtest.detection import onsets
from iocsim.loadtest.pool import Pool, PoolSource, generate, save
from iocsim.loadtest.profile import constant_profile
from iocsim.loadtest.schedule import Schedule


@pytest.fixture(scope="module")
def incident_content(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pool, Path]:
    pool = generate(PoolSource(scenario="incidents", feeds=("incidents",), max_events=5000))
    path = tmp_path_factory.mktemp("detect") / "incidents.npz"
    save(pool, path)
    return pool, path


def test_onsets_are_the_due_times_of_each_anomalys_first_event(incident_content: tuple[Pool, Path]) -> None:
    pool, _ = incident_content
    found = onsets(pool, Schedule(constant_profile(100, "5s")))
    assert sorted(o.truth.payload.kind for o in found) == ["category_surge", "incident_burst"]
    for onset in found:
        first = int(np.searchsorted(pool.event_time, onset.truth.payload.start))
        assert onset.due_s == pytest.approx(first / 100.0)


@pytest.mark.broker
@pytest.mark.slow
def test_injected_anomalies_are_detected_under_load(incident_content: tuple[Pool, Path], tmp_path: Path) -> None:
    _, path = incident_content
    out = tmp_path / "report.json"
    code = main(
        [
            "load", "--replay", str(path), "--rate", "100", "--duration", "3s", "--with-pipeline",
            "--detect-wait", "25", "--threshold", "detect_p90_s < 20", "--json", str(out), "--quiet",
        ]
    )  # fmt: skip
    report = json.loads(out.read_text())
    for kind in report["detection"].values():
        assert (kind["injected"], kind["detected"]) == (1, 1)
        assert 0 <= kind["ttd_p50_s"] < 20
    assert set(report["detection"]) == {"category_surge", "incident_burst"}
    assert report["latency"]["detect"]["count"] == 2
    assert code == 0
