"""Settings of one stream-processing worker, resolved once and passed explicitly.

The broker timings come from how consumer groups behave on the embedded broker
(Tansu): a new group is assigned after half the session timeout, so Faust's
60 s default would keep a fresh worker idle for 30 s; 10 s with a 1 s heartbeat
keeps startup and takeover short without false evictions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from iocsim import contract
from iocsim.broker import BrokerAddress
from iocsim.config import DEFAULT_PARTITIONS
from iocsim.streams.errors import SettingsError
from iocsim.streams.lifecycle import LifecycleSettings

INPUT_TOPICS: tuple[str, ...] = (
    contract.CAMERA_OBSERVATIONS,
    contract.INCIDENT_REPORTS,
    contract.SERVICE_EVENTS,
    contract.TRUTH,
)

DETECTED_TOPICS: tuple[str, ...] = (*INPUT_TOPICS, contract.ALERTS)
"""Topics a detector may read: the feeds, and the alerts (re-keyed by district, see :mod:`alert_routing`)."""

FEEDS: Mapping[str, str] = {
    contract.CAMERA_OBSERVATIONS: "cameras",
    contract.INCIDENT_REPORTS: "incidents",
    contract.SERVICE_EVENTS: "services",
    contract.TRUTH: "truth",
    contract.ALERTS: "alerts",
}

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def default_data_dir(app_id: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where a long-running worker keeps Faust's directory: the XDG state directory, never the current one."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(state) / "iocsim" / app_id


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs; workers sharing ``app_id`` share the partitions (one consumer group).

    ``camera_offline_after_seconds`` (assumption: 6 camera intervals of 10 s)
    is how long a camera may stay silent, in event time, before the
    ``iocsim_cameras`` gauge counts it offline. ``batch_size`` bounds the
    records one fetch hands to the pipelines; ``commit_interval_seconds`` how
    often handled offsets are committed (a stop or rebalance commits too).
    ``data_dir`` is Faust's directory; ``None`` gives each run a temporary one,
    removed when the worker stops (its tables live in memory and changelogs).
    ``camera_places`` (latitude, longitude per camera id) put the cameras on
    the wall's map; ``None`` takes those of the default profile.
    """

    brokers: BrokerAddress
    app_id: str = "iocsim-worker"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9465
    batch_size: int = 10_000
    batch_within_seconds: float = 0.1
    commit_interval_seconds: float = 1.0
    tick_interval_seconds: float = 1.0
    session_timeout_seconds: float = 10.0
    heartbeat_interval_seconds: float = 1.0
    partitions: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PARTITIONS))
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    camera_offline_after_seconds: float = 60.0
    log_level: str = "warning"
    stop_timeout_seconds: float = 15.0
    data_dir: Path | None = None
    camera_places: Mapping[str, tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        if not self.app_id or not self.app_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise SettingsError("app_id", f"{self.app_id!r} must be letters, digits, '-', '_' or '.'")
        for name in ("web_port", "metrics_port"):
            port = getattr(self, name)
            if not 0 < port < 65536:
                raise SettingsError(name, f"{port} is not a port number")
        if self.web_port == self.metrics_port:
            raise SettingsError("metrics_port", f"must differ from web_port ({self.web_port})")
        if self.batch_size < 1:
            raise SettingsError("batch_size", "must be >= 1")
        for name in (
            "batch_within_seconds",
            "commit_interval_seconds",
            "tick_interval_seconds",
            "camera_offline_after_seconds",
            "stop_timeout_seconds",
        ):
            if not getattr(self, name) > 0:
                raise SettingsError(name, "must be > 0")
        if not 0 < self.heartbeat_interval_seconds < self.session_timeout_seconds / 2:
            raise SettingsError("heartbeat_interval_seconds", "must be > 0 and below half the session timeout")
        for topic in (*INPUT_TOPICS, contract.ALERTS, contract.DEADLETTER):
            count = self.partitions.get(topic)
            if count is None or count < 1:
                raise SettingsError(f"partitions.{topic}", "must be given and >= 1")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError("log_level", f"{self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")

    @property
    def routed_alerts_topic(self) -> str:
        """The internal topic alerts are re-keyed by district on, for the detectors of ``ioc.alerts``."""
        return f"{self.app_id}-alerts-by-district"
