from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from kafka.admin import KafkaAdminClient

from iocsim.broker import BrokerAddress, EmbeddedBroker, check_reachable, ensure_topics
from iocsim.config import DEFAULT_PARTITIONS
from iocsim.errors import BrokerError, ConfigError

IOCSIM = [sys.executable, "-m", "iocsim.cli"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_session_broker_has_every_topic_with_its_partitions(broker_address: BrokerAddress) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker_address.bootstrap)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(DEFAULT_PARTITIONS))}
    finally:
        admin.close()
    assert described == dict(DEFAULT_PARTITIONS)


def test_ensure_topics_is_idempotent(broker_address: BrokerAddress) -> None:
    assert ensure_topics(broker_address, DEFAULT_PARTITIONS) == []


def test_embedded_broker_stops_without_orphan() -> None:
    broker = EmbeddedBroker()
    broker.start()
    pid = broker.pid
    assert pid is not None and _alive(pid)
    check_reachable(broker.address)
    broker.stop()
    assert _wait_gone(pid)


def test_broker_dies_with_a_killed_parent() -> None:
    code = (
        "from iocsim.broker import EmbeddedBroker; import time; b = EmbeddedBroker(); b.start(); "
        "print(b.pid, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert _wait_gone(child), "the broker outlived its parent"


def test_unreachable_broker_is_one_line_error() -> None:
    with pytest.raises(BrokerError, match=r"127\.0\.0\.1:9"):
        check_reachable(BrokerAddress.parse("127.0.0.1:9"), timeout=2)


def test_unreachable_brokers_flag_exits_nonzero_with_one_line() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [*IOCSIM, "simulate", "--brokers", "127.0.0.1:9", "--duration", "1m", "--speed", "0", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "127.0.0.1:9" in lines[0] and "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("text", ["", "localhost", "host:port", "h:0", ":9092", "a:1,b"])
def test_bad_broker_addresses_name_the_flag(text: str) -> None:
    with pytest.raises(ConfigError, match="--brokers"):
        BrokerAddress.parse(text)


def test_broker_command_runs_in_foreground_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen([*IOCSIM, "broker", "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    match = re.search(r"on (127\.0\.0\.1:\d+) \(pid (\d+)", first)
    assert match, first
    address, pid = BrokerAddress.parse(match.group(1)), int(match.group(2))
    check_reachable(address)
    admin = KafkaAdminClient(bootstrap_servers=address.bootstrap)
    assert set(DEFAULT_PARTITIONS) <= set(admin.list_topics())
    admin.close()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) in (0, 130)
    assert _wait_gone(pid)
