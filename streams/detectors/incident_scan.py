"""A Poisson scan over sliding windows of new reports, per state key and category.

Each new report is counted in windows ending at its key's latest event time;
each count is compared with the expected count of its window by its exact
Poisson tail. An alarm starts only on a report (counts only grow then) and
ends on a report or a tick once no window is improbable any more, judged at
a looser level than the one that started it (hysteresis against flapping).

A report is learned from only once it has left the longest window, and
never if an alarm of its category covered it: otherwise the first reports
of a surge would raise the expectation the rest are judged against, and a
burst would teach the detector that bursts are normal.

Replays are harmless: a report whose event id is in the retained window, or
that is older than the retention, is taken as already seen.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from iocsim.contract import (
    INCIDENT_CATEGORIES,
    INCIDENT_REPORTS,
    AlertKind,
    Envelope,
    Evidence,
    IncidentReport,
    Severity,
)
from iocsim.sim.profiles import Profile
from iocsim.streams.detectors.batch_ticks import BatchTicks
from iocsim.streams.detectors.incident_rates import (
    CATEGORY_INDEX,
    FloatArray,
    LearnedRates,
    ProfilePrior,
    RateModel,
    WeekHours,
)
from iocsim.streams.detectors.incident_settings import IncidentDetectorSettings, ScanSettings
from iocsim.streams.detectors.incident_stats import WindowTest, judge_window, most_telling
from iocsim.streams.detectors.keyed_states import KeyedStates
from iocsim.streams.detectors.signal_gate import SignalGate, state_part
from iocsim.streams.errors import StateError
from iocsim.streams.lifecycle import Signal

Seen = tuple[float, str, int, str]
"""A retained report: (event time, event id, category index, commune id)."""
_LAST = "\U0010ffff"  # sorts after any event id, so (t, _LAST) follows every report at t


@dataclass
class ScanState:
    """What one key remembers: recent reports, alarming categories, learned rates, last signal."""

    district: str
    clock: float
    learned: LearnedRates
    recent: list[Seen] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    alarms: set[int] = field(default_factory=set)
    focus: int = 0
    gate: SignalGate = field(default_factory=SignalGate)

    def between(self, start: float, end: float) -> list[Seen]:
        """The retained reports with ``start < t <= end``."""
        lo = bisect.bisect_right(self.recent, (start, _LAST))
        hi = bisect.bisect_right(self.recent, (end, _LAST))
        return self.recent[lo:hi]

    def to_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "clock": self.clock,
            "recent": [
                [event_id, t, INCIDENT_CATEGORIES[k], commune, int(event_id in self.pending)]
                for t, event_id, k, commune in self.recent
            ],
            "alarms": [INCIDENT_CATEGORIES[k] for k in sorted(self.alarms)],
            "focus": INCIDENT_CATEGORIES[self.focus],
            "learned": self.learned.to_dict(),
            "gate": self.gate.to_list(),
        }

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> ScanState:
        try:
            rows = state_part(data, key, "recent")
            recent = sorted(
                (float(t), str(event_id), _category(key, name), str(commune)) for event_id, t, name, commune, _ in rows
            )
            state = cls(
                district=str(state_part(data, key, "district")),
                clock=float(state_part(data, key, "clock")),
                learned=LearnedRates.from_dict(f"{key}.learned", state_part(data, key, "learned")),
                recent=recent,
                ids={seen[1] for seen in recent},
                pending={str(row[0]) for row in rows if int(row[4])},
                alarms={_category(key, name) for name in state_part(data, key, "alarms")},
                focus=_category(key, state_part(data, key, "focus")),
                gate=SignalGate.from_list(f"{key}.gate", state_part(data, key, "gate")),
            )
        except (TypeError, ValueError) as exc:
            raise StateError(key, str(exc)) from exc
        return state


def _category(key: str, name: Any) -> int:
    if name not in CATEGORY_INDEX:
        raise StateError(key, f"unknown category {name!r}")
    return CATEGORY_INDEX[name]


class ScanDetector(KeyedStates[ScanState]):
    """Shared machinery of the burst (per commune) and surge (per district) detectors."""

    topic = INCIDENT_REPORTS
    rule: str = ""
    kind: AlertKind = "incident_burst"
    counted: str = ""
    """What the counts leave out, for the alert summary."""

    def __init__(self, profile: Profile, settings: IncidentDetectorSettings, scan: ScanSettings) -> None:
        self.settings = settings
        self.scan = scan
        self.prior = ProfilePrior(profile, settings.learning)
        self.model = RateModel(settings.learning, WeekHours(profile.calendar.timezone))
        self._states: dict[str, ScanState] = {}
        self._ticks = BatchTicks(self.settings.tick_seconds)

    # --- what a subclass says ------------------------------------------------

    def key_of(self, report: IncidentReport) -> str | None:
        raise NotImplementedError

    def base(self, key: str) -> FloatArray:
        raise NotImplementedError

    def count(self, state: ScanState, category: int, start: float, end: float) -> int:
        """How many reports of ``category`` in (start, end] count against the key's expectation."""
        raise NotImplementedError

    def severity(self, category: int) -> Severity:
        return "warning"

    def place(self, key: str, state: ScanState) -> tuple[str, str | None]:
        """(district, commune) of a signal about ``key``."""
        raise NotImplementedError

    def shared(self, key: str, category: int, t: float) -> bool:
        """Whether an excess of ``category`` at ``key`` is part of a wider one, and so not this rule's to start."""
        return False

    # --- the Detector protocol ------------------------------------------------

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        keys = set()
        for message in messages:
            if isinstance(message, IncidentReport) and message.payload.status == "received":
                key = self.key_of(message)
                if key is not None:
                    keys.add(key)
        return keys

    def state_from_dict(self, key: str, data: dict[str, Any]) -> ScanState:
        return ScanState.from_dict(key, data)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        reports = sorted(
            (m for m in messages if isinstance(m, IncidentReport)), key=lambda m: (m.event_time, m.event_id)
        )
        signals: list[Signal] = []
        batch_keys = {k for r in reports if r.payload.status == "received" and (k := self.key_of(r)) is not None}
        for report in reports:
            key = self.key_of(report) if report.payload.status == "received" else None
            if key is not None:
                state = self._states.get(key)
                if state is None:
                    t = report.event_time
                    category = CATEGORY_INDEX[report.payload.category]
                    state = ScanState(report.district, t, LearnedRates(since=t, ref=t), focus=category)
                    self._states[key] = state
                signal = self._receive(key, state, report)
                if signal is not None:
                    signals.append(signal)
            if self._ticks.due(report.event_time):
                signals.extend(self.tick(report.event_time, batch_keys))
        return signals

    def tick(self, event_time: float, keys: Set[str] | None = None) -> list[Signal]:
        """End the alarms over (of all entities, or those of ``keys`` known here) at ``event_time``."""
        self._ticks.ticked(event_time)
        signals = []
        for key in sorted(self._states if keys is None else keys & self._states.keys()):
            state = self._states[key]
            if event_time < state.clock or not (state.alarms or state.gate.wants(event_time)):
                continue
            signal = self._evaluate(key, state, event_time, set(state.alarms), may_start=False)
            if signal is not None:
                signals.append(signal)
        return signals

    # --- internals --------------------------------------------------------------

    def _receive(self, key: str, state: ScanState, report: IncidentReport) -> Signal | None:
        t, event_id = report.event_time, report.event_id
        if event_id in state.ids or t < state.clock - self.settings.retention_seconds:
            return None
        category = CATEGORY_INDEX[report.payload.category]
        bisect.insort(state.recent, (t, event_id, category, report.commune or ""))
        state.ids.add(event_id)
        state.pending.add(event_id)
        state.clock = max(state.clock, t)
        self._mature(state)
        return self._evaluate(key, state, state.clock, state.alarms | {category}, may_start=True)

    def _mature(self, state: ScanState) -> None:
        """Learn from the pending reports that left the longest window; forget those past retention."""
        matured = bisect.bisect_right(state.recent, (state.clock - self.scan.longest, _LAST))
        for t, event_id, k, _ in state.recent[:matured]:
            if event_id in state.pending:
                state.pending.discard(event_id)
                self.model.learn(state.learned, k, t)
        cut = bisect.bisect_left(state.recent, (state.clock - self.settings.retention_seconds,))
        for _, event_id, _, _ in state.recent[:cut]:
            state.ids.discard(event_id)
        del state.recent[:cut]

    def _exclude(self, state: ScanState, t: float) -> None:
        """Reports of alarming categories within the longest window are never learned from."""
        for _, event_id, k, _ in state.between(t - self.scan.longest, float("inf")):
            if k in state.alarms:
                state.pending.discard(event_id)

    def judge(self, key: str, state: ScanState, category: int, t: float) -> WindowTest:
        """The most telling window for ``category`` at ``t``."""
        scan = self.scan
        base = float(self.base(key)[category] * self.model.season(t)[category])
        expected = self.model.expected(state.learned, base, category, t, scan.windows_seconds)
        tests = []
        for window, due in zip(scan.windows_seconds, expected, strict=True):
            count = self.count(state, category, t - window, t)
            tests.append(judge_window(window, count, due, scan.level, scan.min_count, scan.clear_level))
        return most_telling(tests)

    def _evaluate(self, key: str, state: ScanState, t: float, candidates: set[int], may_start: bool) -> Signal | None:
        """Judge the alarming categories, the one just reported and the one last spoken of."""
        verdicts = {k: self.judge(key, state, k, t) for k in sorted(candidates | {state.focus})}
        state.alarms = {
            k
            for k, v in verdicts.items()
            if (v.holds if k in state.alarms else v.alarm and may_start and not self.shared(key, k, t))
        }
        if state.alarms:
            state.focus = min(state.alarms, key=lambda k: (verdicts[k].p_value, k))
            self._exclude(state, t)
        active = bool(state.alarms)
        if not state.gate.offer(t, active, self.settings.heartbeat_seconds, self.settings.quiet_seconds):
            return None
        verdict = verdicts[state.focus]
        district, commune = self.place(key, state)
        severities = [self.severity(k) for k in state.alarms] or [self.severity(state.focus)]
        return Signal(
            rule=self.rule,
            kind=self.kind,
            entity_id=key,
            district=district,
            commune=commune,
            active=active,
            event_time=t,
            severity="critical" if "critical" in severities else "warning",
            evidence=Evidence(
                observed=float(verdict.count),
                baseline=float(f"{verdict.expected:.4g}"),
                threshold=float(verdict.threshold),
                event_time=t,
            ),
            summary=self._summary(key, state.focus, verdict),
        )

    def _summary(self, key: str, category: int, verdict: WindowTest) -> str:
        minutes = verdict.window_seconds / 60.0
        return (
            f"{verdict.count} {INCIDENT_CATEGORIES[category]} reports in {minutes:.0f} min in "
            f"{self.prior.name(key)} ({key}){self.counted}; expected {verdict.expected:.3g}, "
            f"{verdict.threshold} needed, p={verdict.p_value:.2g}"
        )
