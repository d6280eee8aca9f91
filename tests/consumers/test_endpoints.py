"""Endpoint configuration: valid YAML and environment load; anything wrong stops at start, naming the field."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from iocsim.consumers.endpoints import AlertFilter, load_endpoints
from iocsim.consumers.errors import EndpointConfigError
from iocsim.contract import Alert

AlertFactory = Callable[..., Alert]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "endpoints.yaml"


def write(tmp_path: Path, endpoints: list[dict[str, object]], **top: object) -> Path:
    path = tmp_path / "endpoints.yaml"
    path.write_text(yaml.safe_dump({**top, "endpoints": endpoints}), encoding="utf-8")
    return path


def good(**changes: object) -> dict[str, object]:
    return {"name": "ops", "url": "http://127.0.0.1:9000/hook", "secret": SECRET, **changes}


def test_the_shipped_example_loads() -> None:
    endpoints = load_endpoints(EXAMPLE, {"OPS_ROOM_WEBHOOK_SECRET": SECRET})
    assert [e.name for e in endpoints] == ["ops-room", "camera-oncall"]
    oncall = endpoints[1]
    assert oncall.format == "alertmanager" and oncall.filter.min_severity == "critical"
    assert oncall.filter.districts == frozenset({"dien-bien-phu", "muong-lay"})
    assert endpoints[0].retry.max_age == 1800.0 and endpoints[0].retry.backoff_max == 120.0
    assert SECRET not in repr(endpoints)


def test_environment_adds_a_single_endpoint(tmp_path: Path) -> None:
    env = {"IOCSIM_WEBHOOK_URL": "https://ops.example.org/hook", "IOCSIM_WEBHOOK_SECRET": SECRET}
    (only,) = load_endpoints(None, env)
    assert (only.name, only.url, only.format) == ("default", "https://ops.example.org/hook", "native")
    both = load_endpoints(write(tmp_path, [good()]), env)
    assert [e.name for e in both] == ["ops", "default"]


@pytest.mark.parametrize(
    ("endpoints", "message"),
    [
        ([good(), good(name="two", secret=None)], "endpoints[1].secret: missing"),
        ([good(secret="hunter2")], "endpoints[0].secret: must look like whsec_<base64>"),
        ([good(secret="whsec_c2hvcnQ=")], "endpoints[0].secret: decodes to 5 bytes"),
        ([good(url="ftp://example.org/x")], "endpoints[0].url: 'ftp://example.org/x' is not an http(s) URL"),
        ([good(url="http://")], "endpoints[0].url:"),
        ([good(url=None)], "endpoints[0].url: missing"),
        ([good(format="slack")], "endpoints[0].format: 'slack' is not one of native, alertmanager"),
        ([good(filter={"severity": "urgent"})], "endpoints[0].filter.severity: 'urgent' is not one of"),
        ([good(filter={"kinds": ["crowd", "fire"]})], "endpoints[0].filter.kinds: unknown ['fire']"),
        ([good(filter={"districts": ["hanoi"]})], "endpoints[0].filter.districts: unknown ['hanoi']"),
        ([good(filter={"severity": "info", "kind": ["crowd"]})], "endpoints[0].filter.kind: unknown setting"),
        ([good(retries=3)], "endpoints[0].retries: unknown setting"),
        ([good(timeout="soon")], "endpoints[0].timeout: 'soon' is not a duration"),
        ([good(max_attempts=0)], "endpoints[0].max_attempts: must be between 1 and 1000"),
        ([good(concurrency=8, queue_size=4)], "endpoints[0].queue_size: must be at least concurrency"),
        ([good(), good()], "endpoints[1].name: endpoint name 'ops' is used twice"),
        ([good(name="ops room")], "endpoints[0].name: 'ops room' must be"),
        ([good(secret_env="NOT_SET_ANYWHERE", secret=None)], "endpoints[0].secret_env: environment variable"),
    ],
)
def test_invalid_endpoint_names_the_field(tmp_path: Path, endpoints: list[dict[str, object]], message: str) -> None:
    path = write(tmp_path, [{k: v for k, v in e.items() if v is not None} for e in endpoints])
    with pytest.raises(EndpointConfigError) as caught:
        load_endpoints(path, {})
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_environment_secret_is_checked(tmp_path: Path) -> None:
    with pytest.raises(EndpointConfigError, match=r"^IOCSIM_WEBHOOK_SECRET: missing"):
        load_endpoints(None, {"IOCSIM_WEBHOOK_URL": "http://127.0.0.1:9000/"})
    with pytest.raises(EndpointConfigError, match=r"^IOCSIM_WEBHOOK_URL: missing"):
        load_endpoints(None, {"IOCSIM_WEBHOOK_SECRET": SECRET})


def test_filter_matches_severity_at_least_kinds_and_districts(alert_factory: AlertFactory) -> None:
    f = AlertFilter(min_severity="warning", kinds=frozenset({"crowd"}), districts=frozenset({"muong-ang"}))
    assert f.matches(alert_factory(1, severity="warning")) and f.matches(alert_factory(1, severity="critical"))
    assert not f.matches(alert_factory(1, severity="info"))
    assert not f.matches(alert_factory(1, kind="camera_offline"))
    assert not f.matches(alert_factory(1, district="tua-chua"))
    assert AlertFilter().matches(alert_factory(1, severity="info", kind="portal_outage", district="province"))


def test_dispatch_command_stops_before_connecting_with_a_one_line_error(tmp_path: Path) -> None:
    path = write(tmp_path, [good(), good(name="pager", secret=None)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOCSIM_")}
    done = subprocess.run(
        [sys.executable, "-m", "iocsim.cli", "dispatch", "--brokers", "127.0.0.1:1", "--endpoints", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "iocsim dispatch: error: endpoints[1].secret: missing"
