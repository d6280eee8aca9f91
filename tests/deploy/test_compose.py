"""docker-compose.yml follows the Compose specification and only runs commands iocsim has, wired together.

Each iocsim service's command is parsed by iocsim's own parser and resolved into the settings the
process would run with (environment from the compose file, container paths mapped back to the
repository), so ports, bind addresses, endpoints and Prometheus targets are checked as iocsim sees them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from iocsim import dispatch_command, receiver_command, worker_command
from iocsim.cli import build_parser
from iocsim.config import DEFAULT_PARTITIONS, ConfigFile
from iocsim.contract import CAMERA_OBSERVATIONS
from iocsim.simulate_command import resolve_metrics

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def interpolate(value: Any) -> Any:
    """Compose's ``${NAME:-default}`` interpolation, with no variable set in the environment."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: m.group(2) or "", value)
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text()))
    return loaded


def iocsim_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if str(s.get("image", "")).startswith("iocsim")}


def bind_mounts(service: dict[str, Any]) -> Iterator[tuple[Path, PurePosixPath]]:
    """(path in the repository, path in the container) of every bind mount of a repository file."""
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            yield (ROOT / source).resolve(), PurePosixPath(target)


def host_path(service: dict[str, Any], container_path: str) -> Path:
    wanted = PurePosixPath(container_path)
    for source, target in bind_mounts(service):
        if wanted == target or target in wanted.parents:
            return source / wanted.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted from the repository")


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets a service's compose environment (and only it, among IOCSIM_* variables) for the test."""

    def apply(service: dict[str, Any]) -> None:
        for name in list(os.environ):
            if name.startswith("IOCSIM_"):
                monkeypatch.delenv(name)
        for name, value in (service.get("environment") or {}).items():
            monkeypatch.setenv(name, str(value))

    return apply


def parsed(service: dict[str, Any]) -> argparse.Namespace:
    return build_parser().parse_args(service["command"])


def test_compose_file_validates_against_the_compose_specification() -> None:
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert checker, "check-jsonschema (a dev dependency) is not installed"
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_iocsim_service_runs_an_existing_command(compose: dict[str, Any]) -> None:
    services = iocsim_services(compose)
    assert {"simulator", "worker", "dispatcher", "webhook-receiver"} <= services.keys()
    parser = build_parser()
    for service in services.values():
        parser.parse_args(service["command"])


def test_kafka_runs_in_kraft_mode_with_three_replicas(compose: dict[str, Any]) -> None:
    brokers = {name: s for name, s in compose["services"].items() if name.startswith("kafka-")}
    assert len(brokers) == 3
    for service in brokers.values():
        env = service["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3


def test_every_file_mounted_from_the_repository_exists(compose: dict[str, Any]) -> None:
    mounts = [(name, source) for name, s in compose["services"].items() for source, _ in bind_mounts(s)]
    assert mounts, "no bind mount at all"
    missing = [f"{name}: {source}" for name, source in mounts if not source.exists()]
    assert missing == []


def test_every_long_running_service_restarts_and_reports_its_health(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_metrics_listen_on_every_interface_and_prometheus_scrapes_those_ports(
    compose: dict[str, Any], service_env: Any
) -> None:
    services = compose["services"]
    metrics: dict[str, tuple[str, int]] = {}

    service_env(services["simulator"])
    metrics["simulator"] = resolve_metrics(parsed(services["simulator"]))

    service_env(services["worker"])
    worker = worker_command.resolve(parsed(services["worker"]), ConfigFile())
    metrics["worker"] = (worker.metrics_host, worker.metrics_port)

    dispatcher_service = services["dispatcher"]
    service_env(dispatcher_service)
    args = parsed(dispatcher_service)
    args.endpoints = str(host_path(dispatcher_service, args.endpoints))
    dispatcher, _ = dispatch_command.resolve(args, ConfigFile())
    assert dispatcher.metrics_port is not None
    metrics["dispatcher"] = (dispatcher.metrics_host, dispatcher.metrics_port)

    assert {name: host for name, (host, _) in metrics.items()} == dict.fromkeys(metrics, "0.0.0.0")
    for name, (_, port) in metrics.items():
        assert f"127.0.0.1:{port}/metrics" in " ".join(services[name]["healthcheck"]["test"]), name

    scraped = scrape_targets()
    assert scraped["iocsim-simulator"] == [("simulator", metrics["simulator"][1])]
    assert scraped["iocsim-worker"] == [("worker", metrics["worker"][1])]
    assert scraped["iocsim-dispatcher"] == [("dispatcher", metrics["dispatcher"][1])]


def scrape_targets() -> dict[str, list[tuple[str, int]]]:
    """(service name, port) per scrape job of deploy/prometheus/prometheus.yml, static or found by DNS."""
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs: dict[str, list[tuple[str, int]]] = {}
    for job in config["scrape_configs"]:
        found = jobs.setdefault(job["job_name"], [])
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                found.append((host, int(port)))
        for dns in job.get("dns_sd_configs", []):
            assert dns["type"] == "A"
            found.extend((name, int(dns["port"])) for name in dns["names"])
    return jobs


def test_every_prometheus_target_is_a_compose_service(compose: dict[str, Any]) -> None:
    for job, targets in scrape_targets().items():
        for host, _ in targets:
            assert host == "localhost" or host in compose["services"], f"{job}: {host} is no compose service"


def test_workers_scale_as_one_consumer_group_over_replicated_topics(compose: dict[str, Any], service_env: Any) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker, "fixed names or host ports stop --scale"
    assert worker["deploy"]["replicas"] >= 2
    service_env(worker)
    settings = worker_command.resolve(parsed(worker), ConfigFile())
    assert settings.app_id == "iocsim-worker"
    assert worker["environment"]["TOPIC_REPLICATION_FACTOR"] == worker["environment"]["IOCSIM_REPLICATION_FACTOR"]
    assert worker["environment"]["IOCSIM_REPLICATION_FACTOR"] == 3
    assert DEFAULT_PARTITIONS[CAMERA_OBSERVATIONS] >= worker["deploy"]["replicas"]


def test_topics_exist_before_workers_and_dispatcher_start(compose: dict[str, Any]) -> None:
    for name in ("worker", "dispatcher"):
        assert compose["services"][name]["depends_on"]["simulator"] == {"condition": "service_healthy"}, name
    assert "--metrics-port" in compose["services"]["simulator"]["command"]


def test_the_dispatcher_delivers_to_the_reference_receiver_with_a_shared_secret(
    compose: dict[str, Any], service_env: Any
) -> None:
    services = compose["services"]
    receiver_service = services["webhook-receiver"]
    service_env(receiver_service)
    receiver, generated = receiver_command.resolve(parsed(receiver_service))
    assert generated is None, "the receiver would make up its own secret"
    assert receiver.host == "0.0.0.0"

    dispatcher_service = services["dispatcher"]
    service_env(dispatcher_service)
    args = parsed(dispatcher_service)
    args.endpoints = str(host_path(dispatcher_service, args.endpoints))
    dispatcher, _ = dispatch_command.resolve(args, ConfigFile())
    (endpoint,) = dispatcher.endpoints
    assert endpoint.url.startswith(f"http://webhook-receiver:{receiver.port}/")
    assert endpoint.key == receiver.key


def test_grafana_is_an_anonymous_wall_opening_on_the_overview(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    env = grafana["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true" and env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    home = host_path(grafana, env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home == ROOT / "dashboards" / "json" / "vi" / "iocsim-overview.json"
    assert home.exists(), f"home dashboard {home} not generated (iocsim dashboards build)"
    provisioning = {str(target) for _, target in bind_mounts(grafana)}
    assert {"/etc/grafana/provisioning/datasources", "/etc/grafana/provisioning/dashboards"} <= provisioning
    assert "3000:3000" in grafana["ports"] and "9090:9090" in compose["services"]["prometheus"]["ports"]


def test_grafana_provisioning_points_at_mounted_dashboards_and_the_prometheus_service(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    providers = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/iocsim.yaml").read_text())
    (provider,) = providers["providers"]
    assert host_path(grafana, provider["options"]["path"]) == ROOT / "dashboards" / "json" / "vi"
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text())
    (datasource,) = datasources["datasources"]
    prometheus = compose["services"]["prometheus"]
    assert datasource["url"] == "http://prometheus:9090"
    assert "9090:9090" in prometheus["ports"]
    assert host_path(prometheus, "/etc/prometheus/prometheus.yml") == PROMETHEUS
