"""``iocsim load`` (drive a target at a scheduled rate and report), ``iocsim load compare``, ``iocsim record``."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from iocsim.broker import connect
from iocsim.config import DEFAULT_PARTITIONS, as_float, as_int
from iocsim.errors import ConfigError

if TYPE_CHECKING:
    from iocsim.loadtest.histograms import LatencyHistogram
    from iocsim.loadtest.pool import Pool
    from iocsim.loadtest.profile import LoadProfile
    from iocsim.loadtest.runner import KafkaRunOutcome


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from iocsim.loadtest.compare import register_compare

    p = sub.add_parser(
        "load",
        help="load-test Kafka (or a webhook receiver) at a scheduled rate; report latency, loss, thresholds",
        description="Send simulated IOC traffic at the rates of a load profile (or --rate/--duration), measure "
        "acknowledgement latency from each event's intended send time (open model: a stalled target cannot hide), "
        "optionally read everything back (--verify) and a consumer group's lag (--group), and write JSON/HTML "
        "reports. Thresholds decide the exit code (0 pass, 1 fail). Without --brokers an embedded broker is used.",
    )
    what = p.add_argument_group("what to offer")
    what.add_argument("--profile", dest="load_profile", metavar="FILE", help="load profile YAML (stages, thresholds)")
    what.add_argument("--rate", help="constant events/s (instead of --profile)")
    what.add_argument("--duration", help="how long at --rate, e.g. 60s, 10m (default 30s)")
    what.add_argument("--feed", default="all", help="all (default), cameras, incidents or services")
    what.add_argument("--scale", help="multiply every rate (e.g. 20 for Điện Biên ×20)")
    what.add_argument("--scenario", help="scenario whose content (and anomalies, with ground truth) is sent")
    what.add_argument("--replay", metavar="FILE", help="send content recorded by `iocsim record` instead of generating")
    what.add_argument("--pool-size", help="events to pre-generate when not replaying (default 10000)")
    target = p.add_argument_group("target")
    target.add_argument("--brokers", help="Kafka bootstrap servers host:port[,...] (default: embedded broker)")
    target.add_argument("--security-protocol", default="PLAINTEXT", help="PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")
    target.add_argument("--sasl-mechanism", help="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    target.add_argument("--sasl-username")
    target.add_argument("--sasl-password")
    target.add_argument("--ssl-cafile", help="CA certificate (PEM) to verify the brokers")
    target.add_argument("--ssl-certfile", help="client certificate (PEM)")
    target.add_argument("--ssl-keyfile", help="client key (PEM)")
    target.add_argument("--ssl-key-password")
    target.add_argument("--webhook", metavar="URL", help="load-test this webhook receiver instead of Kafka")
    target.add_argument("--webhook-secret", help="Standard Webhooks secret (whsec_...) to sign requests")
    how = p.add_argument_group("how")
    how.add_argument("--processes", default="1", help="sender processes on this machine (default 1)")
    how.add_argument("--shard", help="i/N: this machine sends slice i of N (run the same command on N machines)")
    how.add_argument("--verify", action="store_true", help="read every message back: count lost and duplicates")
    how.add_argument("--group", metavar="NAME", help="measure end-to-end latency to this consumer group's commits")
    how.add_argument(
        "--with-pipeline",
        action="store_true",
        help="run iocsim's own detection worker on the target during the load and report time to detect",
    )
    how.add_argument("--detect-wait", default="30", help="seconds to wait for alerts after sending (default 30)")
    how.add_argument("--threshold", action="append", default=[], metavar="EXPR", help="e.g. 'lost == 0' (repeatable)")
    how.add_argument("--json", dest="json_out", metavar="FILE", help="write the JSON report here")
    how.add_argument("--html", dest="html_out", metavar="FILE", help="write the HTML report (and PNGs beside it)")
    how.add_argument("--metrics-port", help="serve the harness's Prometheus metrics on this port (loopback)")
    how.add_argument("--quiet", action="store_true", help="no live progress")
    p.set_defaults(handler=_cmd_load)
    compare_sub = p.add_subparsers(dest="load_command", metavar="{compare,merge}")
    register_compare(compare_sub)
    m = compare_sub.add_parser(
        "merge",
        help="merge the JSON reports of the shards of one run (--shard i/N on N machines) into one",
        description="Add the shards' counts, merge their latency histograms exactly and judge the thresholds again; "
        "exit 1 if a threshold fails on the merged numbers.",
    )
    m.add_argument("reports", nargs="+", type=Path, help="JSON reports, one per shard")
    m.add_argument("--json", dest="json_out", metavar="FILE", required=True, help="write the merged report here")
    m.add_argument("--html", dest="html_out", metavar="FILE", help="also write the HTML report")

    r = sub.add_parser(
        "record",
        help="pre-generate load-test content from a scenario into a file for `iocsim load --replay`",
        description="Run the sim models (cameras render and analyse frames: slow) once and save the encoded "
        "messages with their ground truth, so load runs replay them at any rate.",
    )
    r.add_argument("--scenario", help="scenario to draw content from (default: a clean run)")
    r.add_argument("--duration", help="sim time to cover at most, e.g. 2h (default: the scenario's)")
    r.add_argument("--events", default="100000", help="most feed messages to keep (default 100000)")
    r.add_argument("--feeds", help="comma-separated subset of cameras,incidents,services (default: all)")
    r.add_argument("--seed", help="random seed (default: the scenario's)")
    r.add_argument("--out", required=True, help="file to write (.npz)")
    r.add_argument("--quiet", action="store_true", help="no progress")
    r.set_defaults(handler=_cmd_record)


def _cmd_record(args: argparse.Namespace) -> int:
    from iocsim.loadtest import pool as pools
    from iocsim.sim.simulation import FEEDS, parse_feeds

    feeds = parse_feeds(args.feeds) if args.feeds else FEEDS
    source = pools.PoolSource(
        scenario=args.scenario,
        seed=as_int(args.seed, "--seed", minimum=0) if args.seed is not None else None,
        feeds=feeds,
        max_events=as_int(args.events, "--events", minimum=1),
        duration_s=_duration(args.duration, "--duration") if args.duration else None,
    )
    console = Console(stderr=True)
    started = time.monotonic()
    pool = pools.generate(source, on_progress=None if args.quiet else _record_progress(console, source.max_events))
    pools.save(pool, Path(args.out))
    console.print(
        f"recorded {len(pool):,} messages ({len(pool.truth)} anomalies with ground truth) from scenario "
        f"{pool.meta['scenario']} to {args.out} in {time.monotonic() - started:.1f} s"
    )
    return 0


def _record_progress(console: Console, total: int) -> Any:
    last = [0.0]

    def report(done: int) -> None:
        if time.monotonic() - last[0] >= 2.0:
            last[0] = time.monotonic()
            console.print(f"  {done:,} / {total:,} messages generated", highlight=False)

    return report


def _duration(text: str, field: str) -> float:
    from iocsim.sim.scenario import parse_duration

    return parse_duration(text, field)


def _merge(args: argparse.Namespace) -> int:
    from iocsim.loadtest.compare import load_report
    from iocsim.loadtest.merge_reports import merge_reports

    report = merge_reports([load_report(path) for path in args.reports])
    _finish(args, report, Console(stderr=True, soft_wrap=True))
    return 0 if report["passed"] else 1


def _profile(args: argparse.Namespace) -> Any:
    from iocsim.loadtest.profile import constant_profile, load_profile_file

    if args.load_profile and args.rate:
        raise ConfigError("--rate", "give either --profile or --rate/--duration, not both")
    if args.load_profile:
        profile = load_profile_file(args.load_profile)
        if args.scale:
            profile = profile.with_scale(as_float(args.scale, "--scale") * profile.scale)
        return profile
    if not args.rate:
        raise ConfigError("--rate", "give --profile FILE or --rate N (events/s)")
    rate = as_float(args.rate, "--rate", minimum=0.0)
    scale = as_float(args.scale, "--scale") if args.scale else 1.0
    return constant_profile(rate, args.duration or "30s", args.feed, scale)


def _shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    index, sep, total = text.partition("/")
    if not sep or not index.isdigit() or not total.isdigit() or not 0 <= int(index) < int(total):
        raise ConfigError("--shard", f"{text!r} is not i/N with 0 <= i < N")
    return int(index), int(total)


def security_from_args(args: argparse.Namespace) -> Any:
    from iocsim.loadtest.security import SecuritySettings

    return SecuritySettings(
        protocol=args.security_protocol,
        sasl_mechanism=args.sasl_mechanism,
        sasl_username=args.sasl_username,
        sasl_password=args.sasl_password,
        ssl_cafile=args.ssl_cafile,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        ssl_key_password=args.ssl_key_password,
    ).check()


def _cmd_load(args: argparse.Namespace) -> int:
    if getattr(args, "load_command", None) == "compare":
        from iocsim.loadtest.compare import run_compare

        return run_compare(args)
    if getattr(args, "load_command", None) == "merge":
        return _merge(args)
    from iocsim.loadtest.thresholds import parse_threshold

    profile = _profile(args)
    thresholds = [parse_threshold(t, "thresholds") for t in profile.thresholds]
    thresholds += [parse_threshold(t) for t in args.threshold]
    processes = as_int(args.processes, "--processes", minimum=1)
    shard = _shard(args.shard)
    metrics_port = as_int(args.metrics_port, "--metrics-port", minimum=0) if args.metrics_port else None
    console = Console(stderr=True, soft_wrap=True)
    if args.webhook:
        if not args.webhook_secret:
            raise ConfigError("--webhook-secret", "required with --webhook (the receiver verifies signatures)")
        report = _webhook_report(args, profile, thresholds, console)  # type: ignore[no-untyped-call]
    else:
        security = security_from_args(args)
        report = _kafka_report(  # type: ignore[no-untyped-call]
            args, profile, thresholds, processes, shard, security, metrics_port, console
        )
    _finish(args, report, console)
    return 0 if report["passed"] else 1


def _kafka_report(args, profile, thresholds, processes, shard, security, metrics_port, console):  # type: ignore[no-untyped-def]
    from iocsim.loadtest.report import build_report
    from iocsim.loadtest.runner import KafkaRunSettings, run_kafka
    from iocsim.loadtest.verify import read_back, start_offsets

    pool = _pool(args, profile, console)
    pool.check_feeds(tuple(f for f in profile.feeds if f != "all"))
    client_config = security.client_config() if args.security_protocol != "PLAINTEXT" else {}
    with _metrics(metrics_port, console) as metrics, connect(args.brokers, DEFAULT_PARTITIONS) as address:
        bootstrap = address.bootstrap
        console.print(
            f"[bold]iocsim load[/]: profile {profile.name} ({profile.duration_s:g} s, ×{profile.scale:g}), "
            f"{len(pool):,} messages of content ({pool.meta.get('scenario')}), target {bootstrap}"
            f"{' (embedded)' if not args.brokers else ''}, {processes} process(es)"
            f"{f', shard {args.shard}' if shard else ''}"
        )
        topics = sorted(set(pool.topics))
        offsets = start_offsets(bootstrap, topics, client_config) if args.verify else {}
        settings = KafkaRunSettings(
            profile=profile,
            bootstrap=bootstrap,
            client_config=client_config,
            processes=processes,
            shard=shard,
            group=args.group,
            mark_sequence=args.verify,
        )
        status_view = _status_view(console, args.quiet, metrics)
        if args.with_pipeline:
            from iocsim.loadtest.detection import pipeline

            if processes != 1 or shard is not None:
                raise ConfigError("--with-pipeline", "needs --processes 1 and no --shard")
            console.print("starting the detection pipeline (waits for its partitions)…")
            with pipeline(bootstrap, str(pool.meta.get("province", "dien_bien"))):
                outcome = run_kafka(settings, pool, on_status=status_view)
                detection, detect = _detection(args, bootstrap, client_config, pool, profile, outcome, console)
        else:
            outcome = run_kafka(settings, pool, on_status=status_view)
            detection, detect = None, None
        verification = None
        if args.verify:
            console.print("reading back every message to check loss and duplicates…")
            verification = read_back(
                bootstrap, offsets, outcome.sent_by_worker, outcome.acked, outcome.started_at, client_config
            )
    notes = list(outcome.notes)
    if outcome.sent < outcome.offered:
        notes.append(f"{outcome.offered - outcome.sent:,} offered events were never sent")
    if outcome.errors:
        notes.append("errors: " + ", ".join(f"{kind} × {n}" for kind, n in outcome.errors.most_common()))
    if outcome.e2e is not None:
        notes.append("end-to-end latency resolution is the group-offset poll interval (about 100 ms)")
    from iocsim.loadtest.capacity import knee_note

    knee = knee_note(profile, outcome.series.rows(), thresholds)
    if knee is not None:
        notes.append(knee)
    if detection is None:
        notes.append("time to detect under load is not measured by this run (detection: null; see --with-pipeline)")
    totals = {
        "offered": outcome.offered,
        "sent": outcome.sent,
        "acked": outcome.acked,
        "failed": outcome.failed,
        "read_back": verification.read_back if verification else None,
        "lost": verification.lost if verification else None,
        "duplicates": verification.duplicates if verification else None,
        "achieved_ratio": round(outcome.acked / outcome.offered, 6) if outcome.offered else 0.0,
    }
    return build_report(
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        target={"kind": "kafka", "address": bootstrap, "client": "confluent-kafka"},
        profile=profile.as_dict(),
        workers={"processes": processes, "shard": args.shard},
        totals=totals,
        harness={
            "behind": outcome.behind,
            "max_behind_s": round(outcome.max_behind_s, 4),
            "cpu_saturated": outcome.cpu_saturated,
            "notes": notes,
        },
        latency={"produce_ack": outcome.produce, "e2e_group": outcome.e2e, "detect": detect},
        series=outcome.series.rows(),
        webhook=None,
        detection=detection,
        thresholds=thresholds,
    )


def _detection(
    args: argparse.Namespace,
    bootstrap: str,
    client_config: Mapping[str, str],
    pool: Pool,
    profile: LoadProfile,
    outcome: KafkaRunOutcome,
    console: Console,
) -> tuple[dict[str, Any], LatencyHistogram | None]:
    from iocsim.loadtest.detection import detection_report, onsets, read_alerts
    from iocsim.loadtest.schedule import Schedule

    found = onsets(pool, Schedule(profile))
    if not found:
        console.print("[yellow]the content holds no anomalies: nothing to detect (use --scenario)[/]")
        return {}, None
    wait = as_float(args.detect_wait, "--detect-wait", minimum=0.0)
    console.print(f"waiting up to {wait:g} s for alerts on {len(found)} injected anomalies…")
    deadline = time.monotonic() + wait
    while True:
        alerts = read_alerts(bootstrap, outcome.started_at, client_config, idle_s=1.0)
        block, histogram = detection_report(found, alerts, outcome.started_at)
        injected = sum(kind["injected"] for kind in block.values())
        detected = sum(kind["detected"] for kind in block.values())
        if detected >= injected or time.monotonic() >= deadline:
            return block, histogram
        time.sleep(2.0)


def _webhook_report(args, profile, thresholds, console):  # type: ignore[no-untyped-def]
    from iocsim.loadtest.report import build_report
    from iocsim.loadtest.sender import BEHIND_TOLERANCE_S
    from iocsim.loadtest.webhook_run import run_webhook

    console.print(f"[bold]iocsim load[/]: profile {profile.name} ({profile.duration_s:g} s) → webhook {args.webhook}")
    outcome = run_webhook(profile, args.webhook, args.webhook_secret)
    return build_report(
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        target={"kind": "webhook", "address": args.webhook, "client": "aiohttp"},
        profile=profile.as_dict(),
        workers={"processes": 1, "shard": None},
        totals={
            "offered": outcome.offered,
            "sent": outcome.sent,
            "acked": outcome.ok,
            "failed": outcome.sent - outcome.ok,
            "read_back": None,
            "lost": None,
            "duplicates": None,
            "achieved_ratio": round(outcome.ok / outcome.offered, 6) if outcome.offered else 0.0,
        },
        harness={
            "behind": outcome.max_behind_s >= BEHIND_TOLERANCE_S,
            "max_behind_s": round(outcome.max_behind_s, 4),
            "cpu_saturated": False,
            "notes": [],
        },
        latency={"webhook": outcome.histogram},
        series=outcome.series.rows(),
        webhook={"codes": outcome.codes, "verified": outcome.codes.get("204", 0) + outcome.codes.get("200", 0)},
        detection=None,
        thresholds=thresholds,
    )


def _pool(args: argparse.Namespace, profile: Any, console: Console) -> Any:
    from iocsim.loadtest import pool as pools
    from iocsim.sim.simulation import FEEDS

    if args.replay:
        return pools.load(args.replay)
    feeds = tuple(f for f in profile.feeds if f != "all") or FEEDS
    if "all" in profile.feeds:
        feeds = FEEDS
    source = pools.PoolSource(
        scenario=args.scenario or profile.scenario,
        seed=profile.seed,
        feeds=feeds,
        max_events=as_int(args.pool_size or pools.DEFAULT_POOL_EVENTS, "--pool-size", minimum=1),
    )
    console.print(f"generating {source.max_events:,} messages of content (use `iocsim record` + --replay to reuse)…")
    return pools.generate(source, on_progress=None if args.quiet else _record_progress(console, source.max_events))


@contextlib.contextmanager
def _metrics(port: int | None, console: Console) -> Iterator[Any]:
    """The harness's Prometheus metrics, served on loopback for the length of the run (None without a port)."""
    if port is None:
        yield None
        return
    from prometheus_client import CollectorRegistry

    from iocsim.loadtest.metrics import HarnessMetrics

    metrics = HarnessMetrics(CollectorRegistry())
    try:
        server, _ = metrics.serve("127.0.0.1", port)
    except OSError as exc:
        raise ConfigError("--metrics-port", f"cannot listen on 127.0.0.1:{port}: {exc}") from exc
    console.print(f"harness metrics on http://127.0.0.1:{server.server_port}/metrics")
    try:
        yield metrics
    finally:
        server.shutdown()
        server.server_close()


def _status_view(console: Console, quiet: bool, metrics: Any) -> Any:
    """Feed the harness metrics on every progress report; print a line a second unless quiet."""
    from iocsim.loadtest.sender import BEHIND_TOLERANCE_S

    counted: dict[tuple[int, str], tuple[int, int, int]] = {}
    failed_before: dict[int, int] = {}
    shown = {"at": 0.0, "elapsed": 0.0, "offered": 0, "acked": 0}

    def show(status: Any, progress: Any) -> None:
        if metrics is not None and progress is not None:
            metrics.observe_latencies("produce_ack", progress.new_latencies)
            metrics.set_behind(status.behind_s)
            for feed, now in progress.feed_counts.items():
                before = counted.get((progress.worker, feed), (0, 0, 0))
                offered, sent, acked = (max(n - b, 0) for n, b in zip(now, before, strict=True))
                metrics.count(feed, offered=offered, sent=sent, acked=acked)
                counted[(progress.worker, feed)] = now
            metrics.error("delivery", max(progress.failed - failed_before.get(progress.worker, 0), 0))
            failed_before[progress.worker] = progress.failed
        now = time.monotonic()
        if quiet or now - shown["at"] < 1.0:
            return
        span = max(status.elapsed_s - shown["elapsed"], 1e-3)
        offered_rate = (status.offered - shown["offered"]) / span
        achieved_rate = (status.acked - shown["acked"]) / span
        shown.update(at=now, elapsed=status.elapsed_s, offered=status.offered, acked=status.acked)
        hist = status.histogram
        behind = f"  [yellow]behind {status.behind_s:.2f} s[/]" if status.behind_s >= BEHIND_TOLERANCE_S else ""
        errors = f"  [red]failed {status.failed:,}[/]" if status.failed else ""
        console.print(
            f"  {status.elapsed_s:6.1f} s  offered {offered_rate:>9,.0f}/s  achieved {achieved_rate:>9,.0f}/s  "
            f"sent {status.sent:>11,}  acked {status.acked:>11,}  p50 {hist.percentile_ms(50):7.1f} ms  "
            f"p99 {hist.percentile_ms(99):7.1f} ms{errors}{behind}",
            highlight=False,
        )

    return show


def _finish(args: argparse.Namespace, report: dict[str, Any], console: Console) -> None:
    from iocsim.loadtest.report import write_report

    totals, harness = report["totals"], report["harness"]
    produce = report["latency"].get("produce_ack") or report["latency"].get("webhook") or {}
    console.print(
        f"offered {totals['offered']:,}, sent {totals['sent']:,}, acknowledged {totals['acked']:,}, "
        f"failed {totals['failed']:,}, achieved ratio {totals['achieved_ratio']:.4f}"
        + (
            f", read back {totals['read_back']:,}, lost {totals['lost']}, duplicates {totals['duplicates']}"
            if totals["read_back"] is not None
            else ""
        )
    )
    if produce:
        console.print(
            f"latency from intended send time: p50 {produce['p50_ms']:.1f} ms, p99 {produce['p99_ms']:.1f} ms, "
            f"p99.9 {produce['p999_ms']:.1f} ms, max {produce['max_ms']:.1f} ms"
        )
    if harness["behind"]:
        console.print(f"[yellow]behind schedule[/] by up to {harness['max_behind_s']:.2f} s")
    for note in harness["notes"]:
        console.print(f"  note: {note}", highlight=False)
    for row in report["thresholds"]:
        verdict = "[green]pass[/]" if row["passed"] else "[red]FAIL[/]"
        console.print(f"  threshold {row['expression']}: {verdict} (value {row['value']})")
    if args.json_out:
        write_report(report, Path(args.json_out))
        console.print(f"JSON report: {args.json_out}")
    if args.html_out:
        from iocsim.loadtest.html_report import render_html

        out = Path(args.html_out)
        render_html(report, out, out.parent / f"{out.stem}_plots")
        console.print(f"HTML report: {args.html_out}")
    sys.stderr.flush()
