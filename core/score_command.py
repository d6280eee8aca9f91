"""``iocsim score``: alerts on ioc.alerts against the ground truth on ioc.truth, per anomaly kind."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from iocsim import contract
from iocsim.broker import BrokerAddress, check_reachable
from iocsim.config import as_float, load_config_file, pick
from iocsim.consumers.scoring import DEFAULT_GRACE_SECONDS, render_text, score
from iocsim.consumers.topic_reader import read_topics
from iocsim.errors import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "score",
        help="score alerts against the injected anomalies (precision, recall, F1, time to detect)",
        description="Read ioc.truth and ioc.alerts from the beginning and report, per anomaly kind, precision, "
        "recall, F1 and time to detect (median, p90), then the anomalies missed and the false alarms, as text or "
        "JSON (the JSON lists every anomaly with its outcome). Works for alerts written by any detector that "
        "follows the contract.",
    )
    p.add_argument("--brokers", help="Kafka bootstrap servers host:port[,...] (env IOCSIM_BROKERS; required)")
    p.add_argument(
        "--grace", help=f"seconds after an anomaly's end an alert still counts (default {DEFAULT_GRACE_SECONDS:.0f})"
    )
    p.add_argument("--json", dest="json_out", metavar="FILE", help="also write the score as JSON ('-' for stdout)")
    p.add_argument("--config", help="YAML config file (env IOCSIM_CONFIG)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    file = load_config_file(args.config)
    brokers = pick(args.brokers, "IOCSIM_BROKERS", file, "brokers")
    if not brokers:
        raise ConfigError("--brokers", "required: the cluster holding ioc.truth and ioc.alerts")
    grace = as_float(pick(args.grace, "IOCSIM_SCORE_GRACE", file, "score_grace", DEFAULT_GRACE_SECONDS), "--grace", 0.0)
    address = BrokerAddress.parse(str(brokers))
    check_reachable(address)
    contents = read_topics(address, [contract.TRUTH, contract.ALERTS])
    result = score(contents.messages[contract.TRUTH], contents.messages[contract.ALERTS], grace)
    if args.json_out == "-":
        json.dump(result.as_dict(), sys.stdout, indent=2)
        print()
    else:
        print(render_text(result))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    for topic, count in contents.invalid.items():
        print(f"note: {count} invalid messages on {topic} were ignored", file=sys.stderr)
    return 0
