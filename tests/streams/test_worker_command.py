from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from iocsim.config import load_config_file
from iocsim.errors import ConfigError
from iocsim.worker_command import register, resolve


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="iocsim")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["worker", *argv])


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "IOCSIM_BROKERS",
        "IOCSIM_APP_ID",
        "IOCSIM_WEB_PORT",
        "IOCSIM_METRICS_PORT",
        "IOCSIM_CONFIG",
        "IOCSIM_DATA_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


def test_brokers_are_required_with_a_clear_error() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(parse(), load_config_file(None))
    assert caught.value.field == "--brokers" and "IOCSIM_BROKERS" in caught.value.reason


def test_flags_over_environment_over_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "iocsim.yaml"
    config.write_text("brokers: 127.0.0.1:9\nworker: {app_id: from-file, web_port: 7001, metrics_port: 7002}\n")
    monkeypatch.setenv("IOCSIM_METRICS_PORT", "7102")
    settings = resolve(parse("--web-port", "7201", "--config", str(config)), load_config_file(str(config)))
    assert settings.brokers.bootstrap == "127.0.0.1:9"
    assert (settings.app_id, settings.web_port, settings.metrics_port) == ("from-file", 7201, 7102)
    assert settings.session_timeout_seconds == 10.0 and settings.heartbeat_interval_seconds == 1.0


def test_ports_must_differ_and_be_numbers() -> None:
    with pytest.raises(ConfigError, match="--web-port"):
        resolve(parse("--brokers", "h:1", "--web-port", "x"), load_config_file(None))
    with pytest.raises(ConfigError, match="metrics_port"):
        resolve(parse("--brokers", "h:1", "--web-port", "7000", "--metrics-port", "7000"), load_config_file(None))


def test_faust_data_dir_defaults_to_the_state_directory_not_the_current_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = resolve(parse("--brokers", "h:1", "--app-id", "w1"), load_config_file(None))
    assert settings.data_dir == tmp_path / "state" / "iocsim" / "w1"
    given = resolve(parse("--brokers", "h:1", "--data-dir", str(tmp_path / "d")), load_config_file(None))
    assert given.data_dir == tmp_path / "d"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    fallback = resolve(parse("--brokers", "h:1"), load_config_file(None))
    assert fallback.data_dir == tmp_path / "home" / ".local" / "state" / "iocsim" / "iocsim-worker"
