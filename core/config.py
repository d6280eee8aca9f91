"""Typed configuration: command-line flags over ``IOCSIM_*`` environment over a YAML file.

Everything a command needs is resolved here once, into frozen objects that are
passed explicitly; nothing reads the environment later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from iocsim import contract
from iocsim.errors import ConfigError

DEFAULT_PARTITIONS: Mapping[str, int] = {
    contract.CAMERA_OBSERVATIONS: 6,
    contract.INCIDENT_REPORTS: 3,
    contract.SERVICE_EVENTS: 3,
    contract.TRUTH: 1,
    contract.ALERTS: 3,
    contract.DEADLETTER: 1,
}

COMPRESSION_TYPES = ("none", "gzip", "lz4", "zstd", "snappy")


@dataclass(frozen=True)
class KafkaSettings:
    """Where and how to publish. ``brokers`` None means the embedded broker."""

    brokers: str | None = None
    partitions: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PARTITIONS))
    compression: str = "lz4"
    replication_factor: int = 1
    linger_ms: int = 20
    batch_bytes: int = 256 * 1024
    max_pending: int = 100_000


@dataclass(frozen=True)
class ConfigFile:
    """The parsed YAML config file (``--config`` or ``IOCSIM_CONFIG``); empty when none is given."""

    values: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def load_config_file(path: str | None) -> ConfigFile:
    path = path or os.environ.get("IOCSIM_CONFIG")
    if not path:
        return ConfigFile()
    file = Path(path)
    if not file.is_file():
        raise ConfigError("--config", f"no such file: {path}")
    try:
        values = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("--config", f"{path} is not valid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(values, dict):
        raise ConfigError("--config", f"{path} must hold a mapping of settings")
    return ConfigFile(values, path)


def pick(flag: Any, env: str, file: ConfigFile, key: str, default: Any = None) -> Any:
    """Flag if given, else the ``IOCSIM_*`` variable, else the config file, else the default."""
    if flag is not None:
        return flag
    if env in os.environ and os.environ[env] != "":
        return os.environ[env]
    return file.get(key, default)


def as_int(value: Any, name: str, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(name, f"{value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {number}")
    return number


def as_float(value: Any, name: str, minimum: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, f"{value!r} is not a number") from None
    if number != number or (minimum is not None and number < minimum):
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    return number


def kafka_settings(brokers_flag: str | None, file: ConfigFile) -> KafkaSettings:
    brokers = pick(brokers_flag, "IOCSIM_BROKERS", file, "brokers")
    partitions = dict(DEFAULT_PARTITIONS)
    for topic, count in (file.get("partitions") or {}).items():
        if topic not in contract.TOPICS:
            raise ConfigError(
                f"partitions.{topic}", f"unknown topic; the contract defines {', '.join(contract.TOPICS)}"
            )
        partitions[topic] = as_int(count, f"partitions.{topic}", minimum=1)
    compression = str(pick(None, "IOCSIM_COMPRESSION", file, "compression", "lz4"))
    if compression not in COMPRESSION_TYPES:
        raise ConfigError("compression", f"{compression!r} is not one of {', '.join(COMPRESSION_TYPES)}")
    replication = as_int(
        pick(None, "IOCSIM_REPLICATION_FACTOR", file, "replication_factor", 1), "replication_factor", minimum=1
    )
    return KafkaSettings(
        brokers=str(brokers) if brokers else None,
        partitions=partitions,
        compression=compression,
        replication_factor=replication,
    )
