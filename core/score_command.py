"""``iocsim score``: alerts on ioc.alerts against the ground truth on ioc.truth, per anomaly kind."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from iocsim import contract
from iocsim.broker import BrokerAddress, check_reachable
from iocsim.config import as_float, as_int, load_config_file, pick
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
        "follows the contract: --alerts-topic reads them where that detector publishes them, --rules keeps "
        "its own when others share the topic.",
    )
    p.add_argument("--brokers", help="Kafka bootstrap servers host:port[,...] (env IOCSIM_BROKERS; required)")
    p.add_argument(
        "--grace", help=f"seconds after an anomaly's end an alert still counts (default {DEFAULT_GRACE_SECONDS:.0f})"
    )
    p.add_argument(
        "--alerts-topic",
        help="topic holding the alerts to score, as the contract's Alert messages "
        f"(env IOCSIM_SCORE_ALERTS_TOPIC; default {contract.ALERTS})",
    )
    p.add_argument(
        "--rules",
        help="score only alerts whose rule starts with one of these comma-separated prefixes, e.g. 'cameras.,acme.' "
        "(env IOCSIM_SCORE_RULES)",
    )
    p.add_argument("--listed", help="missed anomalies and false alarms listed in the text (default 10; 0: none)")
    p.add_argument("--json", dest="json_out", metavar="FILE", help="also write the score as JSON ('-' for stdout)")
    p.add_argument("--config", help="YAML config file (env IOCSIM_CONFIG)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    file = load_config_file(args.config)
    brokers = pick(args.brokers, "IOCSIM_BROKERS", file, "brokers")
    if not brokers:
        raise ConfigError("--brokers", "required: the cluster holding ioc.truth and ioc.alerts")
    grace = as_float(pick(args.grace, "IOCSIM_SCORE_GRACE", file, "score_grace", DEFAULT_GRACE_SECONDS), "--grace", 0.0)
    alerts_topic = str(
        pick(args.alerts_topic, "IOCSIM_SCORE_ALERTS_TOPIC", file, "score_alerts_topic", contract.ALERTS)
    )
    if alerts_topic in contract.TOPICS and alerts_topic != contract.ALERTS:
        raise ConfigError("--alerts-topic", f"{alerts_topic} carries {contract.TOPICS[alerts_topic].message.__name__}s")
    rules = _prefixes(pick(args.rules, "IOCSIM_SCORE_RULES", file, "score_rules"))
    listed = as_int(args.listed if args.listed is not None else 10, "--listed", 0)
    address = BrokerAddress.parse(str(brokers))
    check_reachable(address)
    contents = read_topics(address, [contract.TRUTH, alerts_topic], schemas={alerts_topic: contract.ALERTS})
    for topic in contents.missing:
        flag = "--brokers" if topic == contract.TRUTH else "--alerts-topic"
        raise ConfigError(flag, f"topic {topic} does not exist on {address}")
    alerts = contents.messages[alerts_topic]
    if rules:
        alerts = [a for a in alerts if a.payload.rule.startswith(rules)]
    result = score(contents.messages[contract.TRUTH], alerts, grace)
    if args.json_out == "-":
        json.dump(result.as_dict(), sys.stdout, indent=2)
        print()
    else:
        print(render_text(result, listed))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    for topic, count in contents.invalid.items():
        print(f"note: {count} invalid messages on {topic} were ignored", file=sys.stderr)
    return 0


def _prefixes(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    prefixes = tuple(p.strip() for p in str(value).split(",") if p.strip())
    if not prefixes:
        raise ConfigError("--rules", f"{value!r} names no rule prefix")
    return prefixes
