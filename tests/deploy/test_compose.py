"""docker-compose.yml follows the Compose specification and only runs commands iocsim has."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from iocsim.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def test_compose_file_validates_against_the_compose_specification() -> None:
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert checker, "check-jsonschema (a dev dependency) is not installed"
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_iocsim_service_runs_an_existing_command() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    parser = build_parser()
    commands = [
        service["command"] for service in compose["services"].values() if service.get("image", "").startswith("iocsim")
    ]
    assert commands, "no iocsim service in docker-compose.yml"
    for command in commands:
        parser.parse_args(command)


def test_kafka_runs_in_kraft_mode_with_three_replicas() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    brokers = {name: s for name, s in compose["services"].items() if name.startswith("kafka-")}
    assert len(brokers) == 3
    for service in brokers.values():
        env = service["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3
