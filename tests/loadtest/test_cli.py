"""Command-line wiring: bad input fails fast with one line naming the field; security flags map to librdkafka."""

from __future__ import annotations

from pathlib import Path

import pytest

from iocsim.cli import main
from iocsim.loadtest.errors import ProfileError
from iocsim.loadtest.security import SecuritySettings


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ("stages:\n  - {kind: surge, rate: 10, duration: 5s}\n", "stages[0].kind"),
        ("stages:\n  - {kind: constant, rate: -10, duration: 5s}\n", "stages[0].rate"),
    ],
)
def test_bad_profile_fails_fast_naming_the_field(
    profile: str, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(profile)
    assert main(["load", "--profile", str(path), "--quiet"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith(f"iocsim load: error: {field}:")


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--rate", "10", "--shard", "2/2"], "--shard"),
        (["--rate", "10", "--processes", "0"], "--processes"),
        (["--rate", "10", "--threshold", "p99 < 3"], "--threshold"),
        (["--rate", "10", "--security-protocol", "SASL_SSL", "--sasl-mechanism", "GSSAPI"], "--sasl-mechanism"),
        (["--rate", "10", "--webhook", "http://127.0.0.1:9/"], "--webhook-secret"),
        (["--duration", "5s"], "--rate"),
    ],
)
def test_bad_flags_fail_naming_the_flag(argv: list[str], field: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", *argv, "--quiet"]) == 2
    assert capsys.readouterr().err.strip().startswith(f"iocsim load: error: {field}:")


def test_sasl_scram_over_tls_maps_to_librdkafka(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = (
        SecuritySettings(
            protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username="ioc",
            sasl_password="s3cret",
            ssl_cafile=str(ca),
        )
        .check()
        .client_config()
    )
    assert config == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "ioc",
        "sasl.password": "s3cret",
        "ssl.ca.location": str(ca),
        "ssl.endpoint.identification.algorithm": "https",
    }


def test_plain_sasl_without_tls_and_mutual_tls() -> None:
    plain = SecuritySettings(protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u", sasl_password="p")
    assert plain.check().client_config()["sasl.mechanism"] == "PLAIN"
    with pytest.raises(ProfileError) as caught:
        SecuritySettings(protocol="SSL", ssl_certfile="/nonexistent.pem").check()
    assert caught.value.field == "--ssl-certfile"
    with pytest.raises(ProfileError) as missing_user:
        SecuritySettings(protocol="SASL_SSL", sasl_mechanism="PLAIN").check()
    assert missing_user.value.field == "--sasl-username"


def test_record_then_replay_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "rec.npz"
    assert (
        main(
            ["record", "--scenario", "services", "--feeds", "services", "--events", "200", "--out", str(out), "--quiet"]
        )
        == 0
    )
    from iocsim.loadtest.pool import load

    pool = load(out)
    assert len(pool) == 200
    assert set(pool.feed) == {"services"}


def _report(p99_ms: float, tmp_path: Path, name: str) -> Path:
    import numpy as np

    from iocsim.loadtest.histograms import LatencyHistogram
    from iocsim.loadtest.profile import constant_profile
    from iocsim.loadtest.report import build_report, write_report
    from iocsim.loadtest.thresholds import parse_threshold

    histogram = LatencyHistogram()
    histogram.record_many(np.full(1000, p99_ms / 1000.0))
    report = build_report(
        started_at=1_700_000_000.0,
        finished_at=1_700_000_010.0,
        target={"kind": "kafka", "address": "127.0.0.1:9092", "client": "confluent-kafka"},
        profile=constant_profile(100, "10s").as_dict(),
        workers={"processes": 1, "shard": None},
        totals={"offered": 1000, "sent": 1000, "acked": 1000, "failed": 0, "read_back": None, "lost": None,
                "duplicates": None, "achieved_ratio": 1.0},
        harness={"behind": False, "max_behind_s": 0.0, "cpu_saturated": False, "notes": []},
        latency={"produce_ack": histogram},
        series=[],
        webhook=None,
        detection=None,
        thresholds=[parse_threshold("p99_produce_ms < 100")],
    )  # fmt: skip
    path = tmp_path / name
    write_report(report, path)
    return path


def test_load_compare_exits_1_on_a_regression(tmp_path: Path) -> None:
    fast, slow = _report(5.0, tmp_path, "fast.json"), _report(500.0, tmp_path, "slow.json")
    assert main(["load", "compare", str(fast), str(fast)]) == 0
    assert main(["load", "compare", str(fast), str(slow)]) == 1


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--rate", "10", "--feed", "radio"], "--feed"),
        (["--rate", "10", "--duration", "0s"], "--duration"),
        (["--rate", "10", "--duration", "soon"], "--duration"),
        (["--rate", "-3"], "--rate"),
        (["--rate", "10", "--scale", "0"], "--scale"),
    ],
)
def test_bad_rate_flags_name_the_flag(argv: list[str], field: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", *argv, "--quiet"]) == 2
    assert capsys.readouterr().err.strip().startswith(f"iocsim load: error: {field}:")
