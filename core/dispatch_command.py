"""``iocsim dispatch``: deliver alert transitions from ``ioc.alerts`` to operator webhooks and Grafana.

Endpoints come from ``--endpoints FILE`` (see ``examples/endpoints.yaml``)
and/or ``IOCSIM_WEBHOOK_URL`` + ``IOCSIM_WEBHOOK_SECRET``; settings otherwise
follow flags > ``IOCSIM_*`` environment > the ``dispatch`` section of the
config file. Everything is validated before anything connects.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from iocsim.config import ConfigFile, as_float, as_int, kafka_settings, load_config_file, pick
from iocsim.errors import ConfigError

if TYPE_CHECKING:
    from iocsim.consumers.dispatcher import DispatchSettings

DEFAULT_GROUP = "iocsim-dispatch"
DEFAULT_METRICS_PORT = 9466


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dispatch`` command to the ``iocsim`` parser."""
    p = sub.add_parser(
        "dispatch",
        help="deliver alerts to operator webhooks (signed, retried, dead-lettered) and Grafana annotations",
        description="Read alert transitions from Kafka and POST each to every endpoint whose filter matches, signed "
        "per the Standard Webhooks spec, in native or Alertmanager format. Failed deliveries are retried with "
        "backoff, then written to ioc.deadletter; offsets are committed only once every transition up to them is "
        "delivered or dead-lettered. Ctrl-C or SIGTERM stops it cleanly.",
    )
    p.add_argument("--brokers", help="Kafka bootstrap servers host:port[,...] (env IOCSIM_BROKERS; required)")
    p.add_argument("--endpoints", help="YAML file of webhook endpoints (env IOCSIM_ENDPOINTS)")
    p.add_argument("--group", help=f"consumer group prefix, one group per endpoint (default {DEFAULT_GROUP})")
    p.add_argument("--topic", help="alerts topic to read (default ioc.alerts)")
    p.add_argument(
        "--from",
        dest="offset_reset",
        choices=("earliest", "latest"),
        help="where a new endpoint starts reading: every alert still on the topic, or only new ones (default earliest)",
    )
    p.add_argument(
        "--metrics-port",
        help=f"port of /metrics, 0 = off (env IOCSIM_DISPATCH_METRICS_PORT; default {DEFAULT_METRICS_PORT})",
    )
    p.add_argument(
        "--metrics-host",
        help="address of /metrics (env IOCSIM_DISPATCH_METRICS_HOST; default 127.0.0.1, 0.0.0.0 in containers)",
    )
    p.add_argument("--grafana-url", help="annotate alerts in this Grafana (env IOCSIM_GRAFANA_URL)")
    p.add_argument("--grafana-token", help="Grafana service-account token (env IOCSIM_GRAFANA_TOKEN)")
    p.add_argument("--grafana-dashboard", help="dashboard UID to attach annotations to (default: organisation-wide)")
    p.add_argument("--grafana-panel", help="panel id within --grafana-dashboard")
    p.add_argument(
        "--grafana-clock",
        choices=("wall", "sim"),
        help="place annotations at publish (wall) time or at the alert's sim time (default wall)",
    )
    p.add_argument("--session-timeout", help="consumer group session timeout in seconds (default 10)")
    p.add_argument("--seed", help="seed of the retry jitter (default: random)")
    p.add_argument("--config", help="YAML config file (env IOCSIM_CONFIG); settings under a 'dispatch' key")
    p.set_defaults(handler=run)


def resolve(args: argparse.Namespace, file: ConfigFile) -> tuple[DispatchSettings, Mapping[str, int]]:
    """The dispatcher settings and topic partition counts; raises a ConfigError naming the field at fault."""
    from iocsim.broker import BrokerAddress
    from iocsim.consumers.annotations import GrafanaSettings
    from iocsim.consumers.dispatcher import DispatchSettings
    from iocsim.consumers.endpoints import load_endpoints
    from iocsim.contract import ALERTS

    kafka = kafka_settings(args.brokers, file)
    if not kafka.brokers:
        raise ConfigError("--brokers", "required (or IOCSIM_BROKERS): the Kafka cluster the alerts are published to")
    section = file.get("dispatch") or {}
    if not isinstance(section, dict):
        raise ConfigError("dispatch", "must be a mapping of dispatcher settings")
    own = ConfigFile(section, file.path)
    endpoints = load_endpoints(pick(args.endpoints, "IOCSIM_ENDPOINTS", own, "endpoints"))
    grafana = None
    grafana_url = pick(args.grafana_url, "IOCSIM_GRAFANA_URL", own, "grafana_url")
    if grafana_url:
        panel = pick(args.grafana_panel, "IOCSIM_GRAFANA_PANEL", own, "grafana_panel")
        grafana = GrafanaSettings(
            url=str(grafana_url),
            token=str(pick(args.grafana_token, "IOCSIM_GRAFANA_TOKEN", own, "grafana_token", "")),
            dashboard_uid=pick(args.grafana_dashboard, "IOCSIM_GRAFANA_DASHBOARD", own, "grafana_dashboard"),
            panel_id=None if panel is None else as_int(panel, "--grafana-panel", 1),
            clock=str(pick(args.grafana_clock, "IOCSIM_GRAFANA_CLOCK", own, "grafana_clock", "wall")),  # type: ignore[arg-type]
        )
    metrics_port = as_int(
        pick(args.metrics_port, "IOCSIM_DISPATCH_METRICS_PORT", own, "metrics_port", DEFAULT_METRICS_PORT),
        "--metrics-port",
        0,
    )
    seed = pick(args.seed, "IOCSIM_DISPATCH_SEED", own, "seed")
    offset_reset = str(pick(args.offset_reset, "IOCSIM_DISPATCH_FROM", own, "from", "earliest"))
    if offset_reset not in ("earliest", "latest"):
        raise ConfigError("--from", f"{offset_reset!r} is not earliest or latest")
    settings = DispatchSettings(
        brokers=BrokerAddress.parse(kafka.brokers),
        endpoints=endpoints,
        grafana=grafana,
        topic=str(pick(args.topic, "IOCSIM_DISPATCH_TOPIC", own, "topic", ALERTS)),
        group_id=str(pick(args.group, "IOCSIM_DISPATCH_GROUP", own, "group", DEFAULT_GROUP)),
        offset_reset=offset_reset,  # type: ignore[arg-type]
        session_timeout=as_float(
            pick(args.session_timeout, "IOCSIM_DISPATCH_SESSION_TIMEOUT", own, "session_timeout", 10.0),
            "--session-timeout",
            3.0,
        ),
        metrics_host=str(pick(args.metrics_host, "IOCSIM_DISPATCH_METRICS_HOST", own, "metrics_host", "127.0.0.1")),
        metrics_port=metrics_port or None,
        seed=None if seed is None else as_int(seed, "--seed", 0),
    )
    return settings, kafka.partitions


def run(args: argparse.Namespace) -> int:
    from iocsim.broker import check_reachable, ensure_topics
    from iocsim.consumers.dispatcher import run_until_signalled

    settings, partitions = resolve(args, load_config_file(args.config))
    check_reachable(settings.brokers)
    ensure_topics(settings.brokers, partitions)
    _log_to_stderr()
    sinks = [f"{e.name} ({e.format}) -> {e.url}" for e in settings.endpoints]
    if settings.grafana is not None:
        sinks.append(f"{settings.grafana.name} annotations -> {settings.grafana.url}")
    print(f"iocsim dispatch: {settings.topic} on {settings.brokers} to {'; '.join(sinks)}", file=sys.stderr, flush=True)
    if settings.metrics_port:
        print(f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics", file=sys.stderr, flush=True)
    asyncio.run(run_until_signalled(settings))
    return 0


def _log_to_stderr() -> None:
    """Warnings of the dispatcher (dead letters, failed commits) reach the operator even without -v."""
    logger = logging.getLogger("iocsim.consumers")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO if logging.getLogger().level <= logging.INFO else logging.WARNING)
        logger.propagate = False
