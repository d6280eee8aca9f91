"""The JSON report of a real run validates against its published schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from iocsim.broker import BrokerAddress
from iocsim.cli import main
from iocsim.loadtest.histograms import LatencyHistogram
from iocsim.loadtest.report import schema

pytestmark = pytest.mark.broker


def test_report_of_a_run_validates(broker_address: BrokerAddress, recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code = main(
        [
            "load",
            "--replay",
            str(recording),
            "--brokers",
            broker_address.bootstrap,
            "--rate",
            "1000",
            "--duration",
            "2s",
            "--verify",
            "--threshold",
            "lost == 0",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    report = json.loads(out.read_text())
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(report)
    assert code == 0
    assert report["passed"] is True
    assert report["totals"]["lost"] == 0
    hdr = LatencyHistogram.decode(report["latency"]["produce_ack"]["hdr"])
    assert hdr.count == report["totals"]["acked"] == 2000
    assert len(report["series"]) >= 2


def test_schema_rejects_a_report_without_totals() -> None:
    validator = jsonschema.Draft202012Validator(schema())
    assert not validator.is_valid({"schema_version": 1})
