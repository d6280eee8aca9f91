"""Counter closures and demand surges at one-stop-shop offices.

Two rules on one office's ticket stream, kept apart so that each injected
kind is scored fairly: ``services.counter_closure`` says *staffing fell*
(no counter open during office hours, or far fewer than usual while people
wait), ``services.queue`` says *demand rose* (tickets issued far above the
learned rate for the hour while counters are at their usual level). A long
queue alone is not taken as either: closures and surges both make one, and
so does an ordinary Monday morning.

Tickets are counted in sliding windows of wall time ending at the newest
ticket, and compared with the count the learned rates expect over the
window's opening time. Rates are learned late (once a ticket has
left every window), so a surge cannot teach the detector that it is
normal before it is judged; tickets of a surge are not learned at all.
Back-office completions are not read: their counters field says nothing
about the counters.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iocsim.contract import ServiceEvent
from iocsim.sim.profiles import Profile
from iocsim.streams.detectors.service_base import EntityState, SeenIds, ServiceDetector, count_between
from iocsim.streams.detectors.service_priors import counter_prior
from iocsim.streams.detectors.service_rates import HourGrid, RateModel
from iocsim.streams.detectors.service_settings import ServiceDetectorSettings
from iocsim.streams.detectors.service_stats import nb_sf, upper_threshold
from iocsim.streams.detectors.signal_gate import SignalGate, never_as_null, null_as_never, state_part
from iocsim.streams.errors import StateError
from iocsim.streams.lifecycle import Signal

CLOSURE_RULE = "services.counter_closure"
SURGE_RULE = "services.queue"


@dataclass(frozen=True)
class _Window:
    """One window's test: p-value, tickets counted, expected count and its shape, length."""

    p_value: float
    count: int
    mean: float
    shape: float
    seconds: float


@dataclass(kw_only=True)
class QueueState(EntityState):
    """One office: its counters now and usually, its recent tickets, its learned rates and verdicts."""

    model: RateModel
    latest: float = float("-inf")
    counters: int = -1
    queue: int = 0
    normal: float = 0.0
    readings: int = 0
    arrivals: list[float] = field(default_factory=list)
    skip: list[tuple[float, float]] = field(default_factory=list)
    closed: bool = False
    surge_since: float | None = None
    checked: float = float("-inf")
    closure_gate: SignalGate = field(default_factory=SignalGate)
    surge_gate: SignalGate = field(default_factory=SignalGate)


class QueueDetector(ServiceDetector[QueueState]):
    """Closure and surge rules per office (state per office id)."""

    name = "service-queues"

    def __init__(self, profile: Profile, settings: ServiceDetectorSettings | None = None) -> None:
        super().__init__(profile, settings)
        self.queue = self.settings.queue
        self.grid = HourGrid(self.calendar, open_only=True)

    def reads(self, event: ServiceEvent) -> bool:
        return event.payload.channel == "counter" and event.payload.kind != "dossier_completed"

    def _prior(self, key: str) -> list[float]:
        return counter_prior(self.profile, key, self.queue.hour_weights, self.queue.walkins_per_dossier)

    def new_state(self, event: ServiceEvent) -> QueueState:
        model = RateModel.fresh(self.grid, self._prior(event.entity_id), self.queue.rates, event.event_time)
        return QueueState(district=event.district, model=model)

    def handle(self, key: str, state: QueueState, event: ServiceEvent) -> list[Signal]:
        t, payload = event.event_time, event.payload
        if payload.kind == "ticket_issued":
            if t < state.model.until:
                if not _inside(t, state.skip):
                    state.model.count(self.grid, t)
            else:
                bisect.insort(state.arrivals, t)
        if t < state.latest:
            return []
        state.latest = t
        state.counters, state.queue = payload.counters_open, payload.queue_length
        state.closed = self._closed(state, t)
        if not state.closed and self.grid.is_open(t):
            state.readings += 1
            state.normal += (state.counters - state.normal) / min(state.readings, self.queue.counters_memory)
        signals = self._closure_signal(key, state, t)
        if payload.kind == "ticket_issued":
            signals.extend(self._judge_surge(key, state, t))
        self._fold(state)
        return signals

    def check(self, key: str, state: QueueState, now: float) -> list[Signal]:
        if now <= state.latest or now - state.checked < self.settings.tick_seconds:
            return []
        state.checked = now
        if not (state.closure_gate.wants(now) or state.surge_gate.wants(now)):
            return []
        if state.closed and not self.grid.is_open(now):
            state.closed = False
        signals = self._closure_signal(key, state, now)
        signals.extend(self._judge_surge(key, state, now))
        return signals

    def _usual(self, state: QueueState) -> float | None:
        return state.normal if state.readings >= self.queue.min_counter_readings else None

    def _closed(self, state: QueueState, t: float) -> bool:
        if state.counters < 0 or not self.grid.is_open(t):
            return False
        usual = self._usual(state)
        if state.counters == 0:
            return usual is None or usual >= 0.5
        return (
            usual is not None and state.counters <= self.queue.closure_fraction * usual and state.queue > state.counters
        )

    def _closure_signal(self, key: str, state: QueueState, t: float) -> list[Signal]:
        s = self.settings
        if not state.closure_gate.offer(t, state.closed, s.heartbeat_seconds, s.quiet_seconds):
            return []
        usual = self._usual(state)
        baseline = state.normal if state.readings else float(state.counters)
        threshold = math.floor(self.queue.closure_fraction * usual) if usual is not None else 0.0
        summary = (
            f"{key}: {state.counters} counters open where {baseline:.1f} usually are, {state.queue} waiting"
            if state.closed
            else f"{key}: counters back to {state.counters}"
        )
        evidence = (float(state.counters), baseline, float(threshold))
        return [
            self.signal(
                CLOSURE_RULE, "counter_closure", "critical", key, state.district, state.closed, t, evidence, summary
            )
        ]

    def _judge_surge(self, key: str, state: QueueState, t: float) -> list[Signal]:
        q = self.queue
        active = state.surge_since is not None
        level, ratio = (q.release_level, q.release_ratio) if active else (q.level, q.surge_ratio)
        alarm, window = self._window_test(state, t, level, ratio)
        if active and not alarm:
            state.skip.append((state.surge_since if state.surge_since is not None else t, t))
            state.surge_since = None
        elif not active and alarm and self._staffed(state) and self._warm(state):
            state.surge_since = t - window.seconds
        active = state.surge_since is not None
        s = self.settings
        if not state.surge_gate.offer(t, active, s.heartbeat_seconds, s.quiet_seconds):
            return []
        threshold = max(q.min_count, math.ceil(ratio * window.mean), upper_threshold(window.mean, window.shape, level))
        evidence = (float(window.count), window.mean, float(threshold))
        summary = (
            f"{key}: {window.count} tickets in {window.seconds / 60:.0f} min where {window.mean:.1f} were expected"
        )
        return [self.signal(SURGE_RULE, "queue_surge", "warning", key, state.district, active, t, evidence, summary)]

    def _warm(self, state: QueueState) -> bool:
        """Whether the office has been watched long enough to know its usual hours."""
        return sum(state.model.pooled_e) >= self.queue.warm_up_hours

    def _staffed(self, state: QueueState) -> bool:
        usual = self._usual(state)
        return not state.closed and (usual is None or state.counters > self.queue.closure_fraction * usual)

    def _window_test(self, state: QueueState, t: float, level: float, ratio: float) -> tuple[bool, _Window]:
        """Whether any window ending at ``t`` holds improbably many tickets, and the most telling window."""
        best = _Window(1.0, 0, 0.0, math.inf, self.queue.windows_seconds[0])
        for seconds in self.queue.windows_seconds:
            n = count_between(state.arrivals, t - seconds, t)
            if n < self.queue.min_count:
                continue
            mean, shape = state.model.expect(self.grid.pieces(t - seconds, t))
            if mean <= 0.0 or n < ratio * mean:
                continue
            p_value = nb_sf(n, mean, shape)
            if p_value < best.p_value:
                best = _Window(p_value, n, mean, shape, seconds)
        return best.p_value < level, best

    def _fold(self, state: QueueState) -> None:
        """Learn from tickets that have left every window (not those of a surge)."""
        horizon = state.latest - self.queue.longest
        if horizon <= state.model.until:
            return
        skip = list(state.skip)
        if state.surge_since is not None:
            skip.append((state.surge_since, math.inf))
        cut = bisect.bisect_left(state.arrivals, horizon)
        learned = [a for a in state.arrivals[:cut] if not _inside(a, skip)]
        del state.arrivals[:cut]
        state.model.learn(self.grid, horizon, learned, skip)
        state.skip = [(a, b) for a, b in state.skip if b > state.model.until]

    def state_to_dict(self, state: QueueState) -> dict[str, Any]:
        return {
            "district": state.district,
            "ids": state.ids.to_list(),
            "model": state.model.to_dict(),
            "latest": never_as_null(state.latest),
            "counters": state.counters,
            "queue": state.queue,
            "normal": state.normal,
            "readings": state.readings,
            "arrivals": list(state.arrivals),
            "skip": [list(s) for s in state.skip],
            "closed": state.closed,
            "surge_since": state.surge_since,
            "checked": never_as_null(state.checked),
            "gates": [state.closure_gate.to_list(), state.surge_gate.to_list()],
        }

    def state_from_dict(self, key: str, data: Mapping[str, Any]) -> QueueState:
        model = RateModel.from_dict(
            f"{key}.model", state_part(data, key, "model"), self.grid, self._prior(key), self.queue.rates
        )
        try:
            gates = state_part(data, key, "gates")
            since = state_part(data, key, "surge_since")
            return QueueState(
                district=str(state_part(data, key, "district")),
                ids=SeenIds.from_list(f"{key}.ids", state_part(data, key, "ids")),
                model=model,
                latest=null_as_never(state_part(data, key, "latest")),
                counters=int(state_part(data, key, "counters")),
                queue=int(state_part(data, key, "queue")),
                normal=float(state_part(data, key, "normal")),
                readings=int(state_part(data, key, "readings")),
                arrivals=sorted(float(a) for a in state_part(data, key, "arrivals")),
                skip=[(float(a), float(b)) for a, b in state_part(data, key, "skip")],
                closed=bool(state_part(data, key, "closed")),
                surge_since=None if since is None else float(since),
                checked=null_as_never(state_part(data, key, "checked")),
                closure_gate=SignalGate.from_list(f"{key}.gates", gates[0]),
                surge_gate=SignalGate.from_list(f"{key}.gates", gates[1]),
            )
        except (TypeError, ValueError, IndexError) as exc:
            raise StateError(key, f"unreadable queue state: {exc}") from exc


def _inside(t: float, intervals: list[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in intervals)
