"""``iocsim simulate``: resolve settings, connect, publish the run with a progress display and a summary."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from iocsim.broker import connect
from iocsim.config import ConfigFile, as_float, as_int, kafka_settings, load_config_file, pick
from iocsim.errors import ConfigError
from iocsim.producers.metrics import ProducerMetrics, serve_metrics
from iocsim.producers.pacing import SimPacer
from iocsim.producers.publisher import Publisher
from iocsim.producers.simulate import Progress as RunProgress
from iocsim.producers.simulate import RunSummary, publish_run
from iocsim.sim import simulation
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.cameras.video import parse_video_option
from iocsim.sim.errors import SimError
from iocsim.sim.profiles import DEFAULT_PROFILE, load_profile
from iocsim.sim.scenario import Scenario, clean_scenario, load_scenario, parse_duration

DEFAULT_DURATION = 3600.0


def resolve_spec(args: argparse.Namespace, file: ConfigFile) -> tuple[simulation.SimulationSpec, float]:
    """The simulation and speed asked for, from flags over environment over config file."""
    scenario_name = pick(args.scenario, "IOCSIM_SCENARIO", file, "scenario")
    scenario: Scenario | None = load_scenario(str(scenario_name)) if scenario_name else None
    duration_text = pick(args.duration, "IOCSIM_DURATION", file, "duration")
    if scenario is None:
        seconds = parse_duration(duration_text, "--duration") if duration_text is not None else DEFAULT_DURATION
        scenario = clean_scenario(seconds)
    elif duration_text is not None:
        scenario = scenario.with_duration(parse_duration(duration_text, "--duration"))
    if scenario.duration <= 0:
        raise SimError("--duration", "must be positive")
    profile_name = pick(args.profile, "IOCSIM_PROFILE", file, "profile") or scenario.profile or DEFAULT_PROFILE
    profile = load_profile(str(profile_name))
    default_seed = scenario.seed if scenario.seed is not None else 1
    seed = as_int(pick(args.seed, "IOCSIM_SEED", file, "seed", default_seed), "--seed", minimum=0)
    speed = as_float(pick(args.speed, "IOCSIM_SPEED", file, "speed", 1.0), "--speed", minimum=0.0)
    feeds_text = pick(args.feeds, "IOCSIM_FEEDS", file, "feeds")
    feeds = simulation.parse_feeds(str(feeds_text)) if feeds_text else scenario.feeds or simulation.FEEDS
    videos = dict(parse_video_option(option) for option in args.video)
    spec = simulation.SimulationSpec(profile=profile, scenario=scenario, seed=seed, feeds=feeds, videos=videos)
    cameras_text = pick(args.cameras, "IOCSIM_CAMERAS", file, "cameras")
    if cameras_text:
        ids = tuple(c.strip() for c in str(cameras_text).split(",") if c.strip())
        unknown = [c for c in ids if c not in profile.camera_by_id]
        if unknown:
            raise SimError("--cameras", f"unknown camera ids {unknown} in profile {profile.id}")
        spec = replace(spec, cameras=replace(spec.cameras, camera_ids=ids))
    return spec, speed


def resolve_metrics(args: argparse.Namespace) -> tuple[str, int]:
    """Where to serve the simulator's /metrics: flags over environment; port 0 means no endpoint."""
    port_text = args.metrics_port or os.environ.get("IOCSIM_SIMULATE_METRICS_PORT") or 0
    port = as_int(port_text, "--metrics-port", minimum=0)
    if port > 65535:
        raise ConfigError("--metrics-port", f"{port} is not a port number")
    host = args.metrics_host or os.environ.get("IOCSIM_SIMULATE_METRICS_HOST") or "127.0.0.1"
    return str(host), port


def simulate(args: argparse.Namespace) -> int:
    file = load_config_file(args.config)
    spec, speed = resolve_spec(args, file)
    kafka = kafka_settings(args.brokers, file)
    metrics_host, metrics_port = resolve_metrics(args)
    console = Console(stderr=True, soft_wrap=True)
    scenario = spec.scenario
    start_local = ProvinceCalendar(spec.profile.calendar).local(scenario.start)
    with connect(kafka.brokers, kafka.partitions, replication_factor=kafka.replication_factor) as address:
        console.print(
            f"[bold]iocsim simulate[/]: profile {spec.profile.id}, scenario {scenario.name} "
            f"({len(scenario.anomalies)} anomalies), seed {spec.seed}, from {start_local:%Y-%m-%d %H:%M %Z} for "
            f"{scenario.duration / 3600:.2f} h at speed {speed:g}, feeds {', '.join(spec.feeds)}"
        )
        console.print(f"broker: {address}{' (embedded)' if not kafka.brokers else ''}")
        publisher = Publisher(address, kafka)
        pacer = SimPacer(scenario.start, speed)
        messages = simulation.events(spec)
        observe: Callable[[], None] = _nothing
        metrics_server = None
        if metrics_port:
            metrics = ProducerMetrics(CollectorRegistry(), spec.feeds)
            metrics_server, _ = serve_metrics(metrics.registry, metrics_host, metrics_port)
            console.print(f"metrics: http://{metrics_host}:{metrics_port}/metrics")
            observe = partial(metrics.observe, publisher.counts)

        try:
            if args.quiet or not sys.stderr.isatty():
                plain = _plain_progress(console, scenario)

                def report(p: RunProgress) -> None:
                    observe()
                    plain(p)

                summary = publish_run(messages, publisher, pacer, sim_end=scenario.end, on_progress=report)
            else:
                summary = _with_progress_bar(messages, publisher, pacer, scenario, console, observe)
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()
    _print_summary(console, summary)
    return 0


def _plain_progress(console: Console, scenario: Scenario):  # type: ignore[no-untyped-def]
    last = [0.0]

    def report(p: RunProgress) -> None:
        now = time.monotonic()
        if now - last[0] >= 5.0 or p.sim_time >= scenario.end:
            last[0] = now
            done = 100 * (p.sim_time - scenario.start) / scenario.duration
            console.print(f"  {done:5.1f}% of sim time, {p.sent:,} messages sent", highlight=False)

    return report


def _nothing() -> None:
    pass


def _with_progress_bar(messages, publisher, pacer, scenario, console, observe) -> RunSummary:  # type: ignore[no-untyped-def]
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[sent]:>10,} msgs"),
        TextColumn("{task.fields[lag]}"),
        TimeElapsedColumn(),
    )
    last = [0.0]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("sim time", total=scenario.duration, sent=0, lag="")

        def report(p: RunProgress) -> None:
            observe()
            now = time.monotonic()
            if now - last[0] < 0.2 and p.sim_time < scenario.end:
                return
            last[0] = now
            lag = f"[yellow]{p.behind_seconds:.1f} s behind[/]" if p.behind_seconds > 1 else ""
            bar.update(task, completed=p.sim_time - scenario.start, sent=p.sent, lag=lag)

        return publish_run(messages, publisher, pacer, sim_end=scenario.end, on_progress=report)


def _print_summary(console: Console, summary: RunSummary) -> None:
    counts = summary.counts
    table = Table(title="sent to Kafka", title_justify="left")
    for column in ("topic", "acknowledged", "failed", "bytes"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for topic in sorted(counts.sent):
        table.add_row(topic, f"{counts.acked[topic]:,}", f"{counts.failed[topic]:,}", f"{counts.acked_bytes[topic]:,}")
    console.print(table)
    rate = summary.acked / summary.wall_seconds if summary.wall_seconds > 0 else 0.0
    console.print(
        f"{summary.acked:,} messages covering {(summary.sim_end - summary.sim_start) / 3600:.2f} sim-hours "
        f"in {summary.wall_seconds:.1f} s ({rate:,.0f} msg/s)"
    )
