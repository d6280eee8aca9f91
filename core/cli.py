"""The ``iocsim`` command: the composition root that wires configuration, broker, feeds and sinks."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from iocsim import __version__, dashboards_command, dispatch_command, load_command, receiver_command
from iocsim.errors import IocsimError
from iocsim.run_command import register as register_run
from iocsim.score_command import register as register_score
from iocsim.worker_command import register as register_worker


def _simulate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="publish the simulated feeds to Kafka",
        description="Simulate the IOC's feeds (cameras, field reports, public-service queues) and publish them, "
        "with ground truth for every injected anomaly, to Kafka. Without --brokers an embedded broker is started.",
    )
    p.add_argument("--scenario", help="shipped scenario name or YAML file (default: a clean run with no anomalies)")
    p.add_argument("--profile", help="province profile name or YAML file (default: dien_bien)")
    p.add_argument("--seed", type=str, help="random seed (default: the scenario's, else 1)")
    p.add_argument("--duration", help="sim time to run, e.g. 30m, 6h, 365d (default: the scenario's, else 1h)")
    p.add_argument("--speed", help="sim seconds per wall second: 1 real time, 60, 0 = as fast as possible (default 1)")
    p.add_argument(
        "--feeds", help="comma-separated subset of cameras,incidents,services (default: the scenario's, else all)"
    )
    p.add_argument("--cameras", help="comma-separated camera ids to simulate (default: all of the profile)")
    p.add_argument(
        "--video",
        action="append",
        default=[],
        metavar="CAM_ID=PATH",
        help="feed a camera from a real video file (repeatable)",
    )
    p.add_argument(
        "--metrics-port",
        help="serve published/failed counts per feed at /metrics on this port (env IOCSIM_SIMULATE_METRICS_PORT; "
        "default: off)",
    )
    p.add_argument(
        "--metrics-host",
        help="address of /metrics (env IOCSIM_SIMULATE_METRICS_HOST; default 127.0.0.1, 0.0.0.0 in containers)",
    )
    _common(p)
    p.set_defaults(handler=_cmd_simulate)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--brokers", help="Kafka bootstrap servers host:port[,...] (env IOCSIM_BROKERS; default: embedded)")
    p.add_argument("--config", help="YAML config file (env IOCSIM_CONFIG)")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iocsim",
        description="Event-stream simulator of a smart operations centre (IOC), modelled on Điện Biên province.",
    )
    parser.add_argument("--version", action="version", version=f"iocsim {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the Kafka clients do")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _simulate_parser(sub)
    register_worker(sub)
    register_run(sub)
    register_score(sub)
    dispatch_command.register(sub)
    receiver_command.register(sub)
    dashboards_command.register(sub)
    load_command.register(sub)

    b = sub.add_parser(
        "broker",
        help="run the embedded Kafka-compatible broker in the foreground",
        description="Run the embedded broker (Tansu, memory storage) alone, with the contract's topics created, "
        "for setups where simulator, workers and dispatcher run as separate processes. Ctrl-C stops it.",
    )
    b.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    b.add_argument("--port", type=int, default=9092, help="port (default 9092; 0 = any free port)")
    b.add_argument("--config", help="YAML config file (partition counts)")
    b.set_defaults(handler=_cmd_broker)

    c = sub.add_parser(
        "contract",
        help="print or write the AsyncAPI description of every topic and schema",
        description="Print the machine-readable (AsyncAPI 3.0) description of every topic and message schema.",
    )
    c.add_argument("--out", help="write to this file instead of standard output")
    c.set_defaults(handler=_cmd_contract)
    return parser


def _cmd_contract(args: argparse.Namespace) -> int:
    from iocsim.asyncapi import render

    text = render()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_broker(args: argparse.Namespace) -> int:
    from iocsim.broker import EmbeddedBroker, ensure_topics
    from iocsim.config import kafka_settings, load_config_file

    settings = kafka_settings(None, load_config_file(args.config))
    if not 0 <= args.port < 65536:
        raise IocsimError(f"--port: {args.port} is not a port number")
    with EmbeddedBroker(host=args.host, port=args.port) as broker:
        created = ensure_topics(broker.address, settings.partitions)
        print(f"iocsim broker: Kafka protocol on {broker.address} (pid {broker.pid}, memory storage)", flush=True)
        print(
            f"topics: {', '.join(f'{t}[{settings.partitions[t]}]' for t in settings.partitions)}"
            f"{'' if created else ' (already there)'}",
            flush=True,
        )
        print("use --brokers " + str(broker.address) + " in other iocsim commands; Ctrl-C to stop", flush=True)
        while broker.pid is not None:
            time.sleep(0.5)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from iocsim.simulate_command import simulate

    return simulate(args)


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        code: int = args.handler(args)
        return code
    except IocsimError as exc:
        print(f"iocsim {args.command}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, _config_errors()) else 1
    except KeyboardInterrupt:
        print(f"iocsim {args.command}: interrupted", file=sys.stderr)
        return 130


def _config_errors() -> tuple[type[Exception], ...]:
    from iocsim.errors import ConfigError

    return (ConfigError,)


if __name__ == "__main__":
    raise SystemExit(main())
