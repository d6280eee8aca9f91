"""``iocsim worker``: run one stream-processing worker against a Kafka cluster.

Workers started with the same ``--app-id`` form one consumer group and share
the partitions; each needs its own ``--web-port`` and ``--metrics-port`` when
they run on one host.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from iocsim.config import ConfigFile, as_int, kafka_settings, load_config_file, pick
from iocsim.errors import ConfigError

if TYPE_CHECKING:
    from iocsim.streams.settings import WorkerSettings

DEFAULT_APP_ID = "iocsim-worker"
DEFAULT_WEB_PORT = 6066
DEFAULT_METRICS_PORT = 9465


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``worker`` command to the ``iocsim`` parser."""
    p = sub.add_parser(
        "worker",
        help="run a stream-processing worker (detectors, alerts, Prometheus metrics)",
        description="Consume the feeds from Kafka, set invalid messages aside on ioc.deadletter, run the detectors, "
        "publish alert transitions to ioc.alerts and serve Prometheus metrics (on loopback unless --metrics-host says "
        "otherwise). Workers sharing an --app-id share the partitions. Ctrl-C or SIGTERM stops it cleanly.",
    )
    p.add_argument("--brokers", help="Kafka bootstrap servers host:port[,...] (env IOCSIM_BROKERS; required)")
    p.add_argument("--app-id", help=f"consumer group and table prefix (env IOCSIM_APP_ID; default {DEFAULT_APP_ID})")
    p.add_argument(
        "--metrics-port",
        help=f"port of /metrics (env IOCSIM_METRICS_PORT; default {DEFAULT_METRICS_PORT})",
    )
    p.add_argument(
        "--metrics-host",
        help="address of /metrics (env IOCSIM_METRICS_HOST; default 127.0.0.1, 0.0.0.0 in containers)",
    )
    p.add_argument(
        "--web-port", help=f"port of Faust's web server on 127.0.0.1 (env IOCSIM_WEB_PORT; default {DEFAULT_WEB_PORT})"
    )
    p.add_argument(
        "--data-dir",
        help="Faust's directory (env IOCSIM_DATA_DIR; default $XDG_STATE_HOME/iocsim/APP_ID, "
        "else ~/.local/state/iocsim/APP_ID)",
    )
    p.add_argument("--profile", help="province profile whose detectors to run (env IOCSIM_PROFILE; default dien_bien)")
    p.add_argument("--config", help="YAML config file (env IOCSIM_CONFIG); worker settings under a 'worker' key")
    p.set_defaults(handler=run)


def resolve(args: argparse.Namespace, file: ConfigFile) -> WorkerSettings:
    """The worker settings asked for, from flags over ``IOCSIM_*`` environment over the config file."""
    from iocsim.broker import BrokerAddress
    from iocsim.streams.registry import default_lifecycle_settings
    from iocsim.streams.settings import WorkerSettings, default_data_dir

    kafka = kafka_settings(args.brokers, file)
    if not kafka.brokers:
        raise ConfigError(
            "--brokers",
            "required (or IOCSIM_BROKERS): the Kafka cluster the feeds are published to, e.g. the one `iocsim broker` "
            "prints",
        )
    section = file.get("worker") or {}
    if not isinstance(section, dict):
        raise ConfigError("worker", "must be a mapping of worker settings")
    worker_file = ConfigFile(section, file.path)
    app_id = str(pick(args.app_id, "IOCSIM_APP_ID", worker_file, "app_id", DEFAULT_APP_ID))
    data_dir = pick(args.data_dir, "IOCSIM_DATA_DIR", worker_file, "data_dir")
    return WorkerSettings(
        brokers=BrokerAddress.parse(kafka.brokers),
        app_id=app_id,
        data_dir=Path(str(data_dir)) if data_dir else default_data_dir(app_id),
        web_port=as_int(
            pick(args.web_port, "IOCSIM_WEB_PORT", worker_file, "web_port", DEFAULT_WEB_PORT), "--web-port", 1
        ),
        metrics_host=str(pick(args.metrics_host, "IOCSIM_METRICS_HOST", worker_file, "metrics_host", "127.0.0.1")),
        metrics_port=as_int(
            pick(args.metrics_port, "IOCSIM_METRICS_PORT", worker_file, "metrics_port", DEFAULT_METRICS_PORT),
            "--metrics-port",
            1,
        ),
        partitions=kafka.partitions,
        lifecycle=default_lifecycle_settings(),
        log_level="info" if getattr(args, "verbose", False) else "warning",
    )


def run(args: argparse.Namespace) -> int:
    from iocsim.broker import check_reachable, ensure_topics
    from iocsim.sim.profiles import DEFAULT_PROFILE, load_profile
    from iocsim.streams.errors import SettingsError
    from iocsim.streams.registry import default_detectors
    from iocsim.streams.runner import run_worker

    file = load_config_file(args.config)
    try:
        settings = resolve(args, file)
    except SettingsError as exc:
        raise ConfigError(f"--{exc.field.replace('_', '-')}", exc.reason) from exc
    profile = load_profile(str(pick(args.profile, "IOCSIM_PROFILE", file, "profile", DEFAULT_PROFILE)))
    check_reachable(settings.brokers)
    ensure_topics(settings.brokers, settings.partitions)
    from iocsim.streams.feed_metrics import camera_places

    detectors = default_detectors(profile)
    print(
        f"iocsim worker: {settings.app_id} on {settings.brokers}, {len(detectors)} detectors, "
        f"metrics http://{settings.metrics_host}:{settings.metrics_port}/metrics; Ctrl-C stops",
        file=sys.stderr,
    )
    run_worker(replace(settings, camera_places=camera_places(profile)), detectors)
    return 0
