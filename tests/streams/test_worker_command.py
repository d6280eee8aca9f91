from __future__ import annotations

import argparse
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from iocsim.broker import BrokerAddress
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.broker
@pytest.mark.slow
def test_the_command_serves_metrics_and_stops_cleanly_on_ctrl_c(broker_address: BrokerAddress, tmp_path: Path) -> None:
    """The process an operator starts: it says where its metrics are, serves them, and exits 0 on SIGINT."""
    metrics_port = _free_port()
    command = ["worker", "--brokers", str(broker_address), "--app-id", f"cli-{uuid.uuid4().hex[:8]}"]
    command += ["--web-port", str(_free_port()), "--metrics-port", str(metrics_port)]
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "iocsim.cli", *command], stderr=subprocess.PIPE, text=True, env=env
    )
    lines: queue.Queue[str] = queue.Queue()
    assert worker.stderr is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in worker.stderr], daemon=True)
    reader.start()
    try:
        first_line = lines.get(timeout=60)
        assert f"metrics http://127.0.0.1:{metrics_port}/metrics" in first_line, first_line
        deadline, page = time.monotonic() + 60.0, ""
        while "iocsim_events_processed_total" not in page and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.5)
        assert "iocsim_events_processed_total" in page
        worker.send_signal(signal.SIGINT)
        assert worker.wait(60) == 0
        reader.join(10)
        rest = "".join(lines.get_nowait() for _ in range(lines.qsize()))
        assert "Traceback" not in rest, rest
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
