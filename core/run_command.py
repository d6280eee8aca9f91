"""``iocsim run``: the all-in-one main job on one machine.

Embedded broker (or ``--brokers``), the simulation paced by the sim clock, a
worker with every detector and its /metrics endpoint, and a live terminal
view of feed rates, camera status and alerts as they fire and resolve. At the
end it scores the alerts against the injected anomalies.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from kafka import KafkaConsumer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from iocsim import contract
from iocsim.broker import BrokerAddress, connect, free_port
from iocsim.config import as_float, as_int, kafka_settings, load_config_file, pick
from iocsim.consumers.background import BackgroundDispatcher
from iocsim.consumers.dispatcher import DispatchSettings
from iocsim.consumers.endpoints import load_endpoints
from iocsim.consumers.scoring import render_text, score
from iocsim.producers.pacing import SimPacer
from iocsim.producers.publisher import Publisher
from iocsim.producers.simulate import Progress, publish_run
from iocsim.sim import simulation
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.scenario import Scenario
from iocsim.simulate_command import resolve_spec
from iocsim.streams.feed_metrics import camera_places
from iocsim.streams.registry import default_detectors, default_lifecycle_settings
from iocsim.streams.runner import BackgroundWorker
from iocsim.streams.settings import WorkerSettings

DEFAULT_SCENARIO = "every_kind"
DEFAULT_SPEED = 10.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="everything on one machine: broker, simulation, detection, metrics, live view",
        description="The all-in-one main job: starts the embedded broker (unless --brokers), publishes the "
        f"simulation (default scenario {DEFAULT_SCENARIO}, speed {DEFAULT_SPEED:g}), runs a worker with every "
        "detector and its /metrics endpoint, shows alerts, feed rates and camera status live, and scores the "
        "alerts against the injected anomalies at the end; with --endpoints (or IOCSIM_WEBHOOK_URL and "
        "IOCSIM_WEBHOOK_SECRET) it also delivers them to operator webhooks. Ctrl-C stops everything cleanly.",
    )
    p.add_argument("--scenario", help=f"shipped scenario name or YAML file (default {DEFAULT_SCENARIO})")
    p.add_argument("--profile", help="province profile name or YAML file (default: dien_bien)")
    p.add_argument("--seed", help="random seed (default: the scenario's)")
    p.add_argument("--duration", help="sim time to run, e.g. 30m, 2h (default: the scenario's)")
    p.add_argument("--speed", help=f"sim seconds per wall second (default {DEFAULT_SPEED:g}; 0 = as fast as possible)")
    p.add_argument(
        "--feeds", help="comma-separated subset of cameras,incidents,services (default: the scenario's, else all)"
    )
    p.add_argument("--cameras", help="comma-separated camera ids to simulate (default: all of the profile)")
    p.add_argument("--video", action="append", default=[], metavar="CAM_ID=PATH", help="camera fed from a video file")
    p.add_argument("--metrics-port", help="port of the worker's /metrics on 127.0.0.1 (default 9465)")
    p.add_argument("--endpoints", help="webhook endpoints YAML: also deliver alerts (env IOCSIM_ENDPOINTS)")
    p.add_argument("--linger", help="wall seconds to keep detecting after the simulation ends (default 10)")
    p.add_argument("--brokers", help="Kafka bootstrap servers host:port[,...] (env IOCSIM_BROKERS; default: embedded)")
    p.add_argument("--config", help="YAML config file (env IOCSIM_CONFIG)")
    p.add_argument("--quiet", action="store_true", help="no live view; alert transitions as plain lines")
    p.set_defaults(handler=run)


@dataclass
class RunView:
    """What the live view shows; written by the publishing loop and the alert reader."""

    sim_time: float = 0.0
    sent: int = 0
    behind: float = 0.0
    alerts: deque[contract.Alert] = field(default_factory=lambda: deque(maxlen=12))
    all_alerts: list[contract.Alert] = field(default_factory=list)
    firing: dict[str, contract.Alert] = field(default_factory=dict)
    camera_seen: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record_alert(self, alert: contract.Alert) -> None:
        with self.lock:
            self.alerts.append(alert)
            self.all_alerts.append(alert)
            if alert.payload.status == "firing":
                self.firing[alert.payload.fingerprint] = alert
            else:
                self.firing.pop(alert.payload.fingerprint, None)


class AlertReader(threading.Thread):
    """Follows ioc.alerts from the start of the run for the live view and the final score."""

    def __init__(self, address: BrokerAddress, view: RunView, on_alert: object = None) -> None:
        super().__init__(name="alert-reader", daemon=True)
        self.address = address
        self.view = view
        self.on_alert = on_alert
        self.stopping = threading.Event()

    def run(self) -> None:
        consumer = KafkaConsumer(
            contract.ALERTS,
            bootstrap_servers=self.address.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        try:
            while not self.stopping.is_set():
                for records in consumer.poll(timeout_ms=300).values():
                    for record in records:
                        try:
                            alert = contract.decode(contract.ALERTS, record.value)
                        except contract.ContractError:
                            continue
                        self.view.record_alert(alert)
                        if callable(self.on_alert):
                            self.on_alert(alert)
        finally:
            consumer.close()


def run(args: argparse.Namespace) -> int:
    file = load_config_file(args.config)
    if args.scenario is None and pick(None, "IOCSIM_SCENARIO", file, "scenario") is None:
        args.scenario = DEFAULT_SCENARIO
    if args.speed is None and pick(None, "IOCSIM_SPEED", file, "speed") is None:
        args.speed = str(DEFAULT_SPEED)
    spec, speed = resolve_spec(args, file)
    kafka = kafka_settings(args.brokers, file)
    metrics_port = as_int(
        pick(args.metrics_port, "IOCSIM_METRICS_PORT", file, "metrics_port", 9465), "--metrics-port", 1
    )
    linger = as_float(pick(args.linger, "IOCSIM_LINGER", file, "linger", 10.0), "--linger", 0.0)
    console = Console(stderr=True, soft_wrap=True)
    live_view = not args.quiet and sys.stderr.isatty()
    view = RunView(sim_time=spec.scenario.start)
    calendar = ProvinceCalendar(spec.profile.calendar)

    def print_alert(alert: contract.Alert) -> None:
        if not live_view:
            console.print(_alert_line(alert, calendar), highlight=False)

    with connect(kafka.brokers, kafka.partitions, replication_factor=kafka.replication_factor) as address:
        console.print(
            f"[bold]iocsim run[/]: scenario {spec.scenario.name} ({len(spec.scenario.anomalies)} anomalies), "
            f"feeds {', '.join(spec.feeds)}, seed {spec.seed}, speed {speed:g}, broker {address}, "
            f"metrics http://127.0.0.1:{metrics_port}/metrics"
        )
        beyond = anomalies_beyond(spec.scenario, calendar)
        if beyond:
            console.print(beyond, highlight=False)
        settings = WorkerSettings(
            brokers=address,
            app_id=f"iocsim-run-{int(time.time())}",
            web_port=free_port(),  # nothing outside this process talks to Faust's web server
            metrics_port=metrics_port,
            partitions=kafka.partitions,
            lifecycle=default_lifecycle_settings(),
            log_level="error",
            camera_places=camera_places(spec.profile),
        )
        reader = AlertReader(address, view, print_alert)
        endpoints = load_endpoints(pick(args.endpoints, "IOCSIM_ENDPOINTS", file, "endpoints"))
        dispatcher = (
            BackgroundDispatcher(DispatchSettings(brokers=address, endpoints=endpoints, metrics_port=None)).start()
            if endpoints
            else None
        )
        with BackgroundWorker(settings, default_detectors(spec.profile)):
            reader.start()
            publisher = Publisher(address, kafka)
            pacer = SimPacer(spec.scenario.start, speed)
            messages = _watch_cameras(simulation.events(spec), view)
            if live_view:
                with Live(console=console, refresh_per_second=4, transient=False) as live:

                    def update(p: Progress) -> None:
                        view.sim_time, view.sent, view.behind = p.sim_time, p.sent, p.behind_seconds
                        live.update(_render(view, spec, publisher, calendar))

                    summary = publish_run(messages, publisher, pacer, sim_end=spec.scenario.end, on_progress=update)
                    _linger(linger, lambda: live.update(_render(view, spec, publisher, calendar)))
            else:
                summary = publish_run(messages, publisher, pacer, sim_end=spec.scenario.end)
                _linger(linger, lambda: None)
            reader.stopping.set()
            reader.join(5)
        if dispatcher is not None:
            dispatcher.stop()
    console.print(
        f"published {summary.acked:,} messages in {summary.wall_seconds:.0f} s; alerts: {len(view.all_alerts)}"
    )
    truths = list(simulation.truth_feed(spec).events())
    console.print(render_text(score(truths, view.all_alerts), zone=calendar.zone), highlight=False)
    if beyond:
        console.print(beyond, highlight=False)
    return 0


def anomalies_beyond(scenario: Scenario, calendar: ProvinceCalendar) -> str | None:
    """A line saying which of the scenario's anomalies a shortened run (``--duration``) never reaches, if any."""
    later = sorted(a.start for a in scenario.anomalies if a.start >= scenario.end)
    if not later:
        return None
    needed = math.ceil((max(a.end for a in scenario.anomalies) - scenario.start) / 3600.0)
    return (
        f"{len(later)} of the scenario's {len(scenario.anomalies)} anomalies {'begins' if len(later) == 1 else 'begin'}"
        " after this run ends"
        f" (the next at {calendar.local(later[0]):%Y-%m-%d %H:%M %Z}, {(later[0] - scenario.start) / 3600:.1f} h in):"
        f" --duration {needed}h reaches them all"
    )


def _watch_cameras(messages, view: RunView):  # type: ignore[no-untyped-def]
    for message in messages:
        if isinstance(message, contract.CameraObservation):
            view.camera_seen[message.entity_id] = message.event_time
        yield message


def _linger(seconds: float, refresh) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        refresh()
        time.sleep(0.25)


def _alert_line(alert: contract.Alert, calendar: ProvinceCalendar) -> str:
    d = alert.payload
    at = calendar.local(alert.event_time).strftime("%m-%d %H:%M:%S")
    return f"{at} {d.status:<8} {d.severity:<8} {d.kind:<20} {alert.entity_id:<24} {d.summary}"


def _render(view: RunView, spec: simulation.SimulationSpec, publisher: Publisher, calendar: ProvinceCalendar) -> Group:
    scenario = spec.scenario
    done = 100 * (view.sim_time - scenario.start) / scenario.duration
    behind = f"  [yellow]{view.behind:.0f} s behind schedule[/]" if view.behind > 2 else ""
    header = (
        f"[bold]{calendar.local(view.sim_time):%Y-%m-%d %H:%M:%S %Z}[/]  {done:5.1f}% of {scenario.name}  "
        f"{view.sent:,} messages sent{behind}"
    )
    feeds = Table(title="messages acknowledged", title_justify="left", expand=False)
    feeds.add_column("topic")
    feeds.add_column("count", justify="right")
    for topic, count in sorted(publisher.counts.acked.items()):
        feeds.add_row(topic, f"{count:,}")
    cameras = Table(title="cameras (reporting in the last minute / all)", title_justify="left")
    cameras.add_column("district")
    cameras.add_column("online", justify="right")
    total: Counter[str] = Counter()
    online: Counter[str] = Counter()
    for camera in spec.profile.cameras:
        if spec.cameras.camera_ids and camera.id not in spec.cameras.camera_ids:
            continue
        total[camera.district] += 1
        if view.sim_time - view.camera_seen.get(camera.id, -1e18) <= 60:
            online[camera.district] += 1
    for district in sorted(total):
        cameras.add_row(spec.profile.district_by_id[district].name, f"{online[district]}/{total[district]}")
    alerts = Table(title=f"alerts ({len(view.firing)} firing)", title_justify="left")
    for column in ("time", "status", "severity", "kind", "entity", "summary"):
        alerts.add_column(column)
    with view.lock:
        recent = list(view.alerts)
    for alert in reversed(recent):
        d = alert.payload
        colour = "red" if d.status == "firing" else "green"
        alerts.add_row(
            calendar.local(alert.event_time).strftime("%H:%M:%S"),
            f"[{colour}]{d.status}[/]",
            d.severity,
            d.kind,
            alert.entity_id,
            d.summary[:60],
        )
    return Group(header, feeds, cameras, alerts)
