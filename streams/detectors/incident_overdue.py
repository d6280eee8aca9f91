"""Reports past their handling deadline, one alert per commune while it has any.

Each report's steps share its id, so the detector keeps the open reports of a
commune (with their deadlines) and the recently closed ones. Steps are facts
that do not depend on order: a report once resolved or rejected stays closed
whatever arrives after, and a later step without its ``received`` still opens
the report (its deadline is in every step). Replays therefore change nothing,
as long as closed reports are remembered longer than replays reach back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from iocsim.contract import INCIDENT_CATEGORIES, INCIDENT_REPORTS, Envelope, Evidence, IncidentReport
from iocsim.sim.profiles import Profile
from iocsim.streams.detectors.batch_ticks import BatchTicks
from iocsim.streams.detectors.incident_rates import CATEGORY_INDEX
from iocsim.streams.detectors.incident_settings import IncidentDetectorSettings
from iocsim.streams.detectors.keyed_states import KeyedStates
from iocsim.streams.detectors.signal_gate import SignalGate, state_part
from iocsim.streams.errors import StateError
from iocsim.streams.lifecycle import Signal

_CLOSING = frozenset({"resolved", "rejected"})


@dataclass
class OverdueState:
    """Open reports (id -> deadline, category) and closed ones (id -> closing time) of one commune."""

    district: str
    clock: float
    open: dict[str, tuple[float, int]] = field(default_factory=dict)
    closed: dict[str, float] = field(default_factory=dict)
    gate: SignalGate = field(default_factory=SignalGate)

    def overdue(self, t: float) -> list[tuple[float, str, int]]:
        """(deadline, report id, category) of the open reports past their deadline at ``t``, oldest first."""
        return sorted((deadline, rid, k) for rid, (deadline, k) in self.open.items() if deadline < t)

    def to_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "clock": self.clock,
            "open": [[rid, d, INCIDENT_CATEGORIES[k]] for rid, (d, k) in sorted(self.open.items())],
            "closed": [[rid, at] for rid, at in sorted(self.closed.items())],
            "gate": self.gate.to_list(),
        }

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> OverdueState:
        try:
            state = cls(
                district=str(state_part(data, key, "district")),
                clock=float(state_part(data, key, "clock")),
                gate=SignalGate.from_list(f"{key}.gate", state_part(data, key, "gate")),
            )
            for rid, deadline, category in state_part(data, key, "open"):
                if category not in CATEGORY_INDEX:
                    raise StateError(f"{key}.open", f"unknown category {category!r}")
                state.open[str(rid)] = (float(deadline), CATEGORY_INDEX[category])
            for rid, at in state_part(data, key, "closed"):
                state.closed[str(rid)] = float(at)
        except (TypeError, ValueError) as exc:
            raise StateError(key, str(exc)) from exc
        return state


class OverdueDetector(KeyedStates[OverdueState]):
    """Rule ``incidents.overdue``: a commune (or, for reports without one, a district) has overdue reports."""

    topic = INCIDENT_REPORTS
    name = "overdue-reports"
    rule = "incidents.overdue"

    def __init__(self, profile: Profile, settings: IncidentDetectorSettings | None = None) -> None:
        self.settings = settings or IncidentDetectorSettings()
        self.district_of = dict(profile.district_of_commune)
        self.names = {c.id: c.name for d in profile.districts for c in d.communes} | {
            d.id: d.name for d in profile.districts
        }
        self._states: dict[str, OverdueState] = {}
        self._ticks = BatchTicks(self.settings.tick_seconds)
        self._keep_closed = self.settings.closed_retention_days * 86400.0
        self._keep_overdue = self.settings.forget_overdue_days * 86400.0

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        return {_key(m) for m in messages if isinstance(m, IncidentReport)}

    def state_from_dict(self, key: str, data: dict[str, Any]) -> OverdueState:
        return OverdueState.from_dict(key, data)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        reports = sorted(
            (m for m in messages if isinstance(m, IncidentReport)), key=lambda m: (m.event_time, m.event_id)
        )
        signals = []
        batch_keys = {_key(r) for r in reports}
        for report in reports:
            key = _key(report)
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = OverdueState(report.district, report.event_time)
            if self._step(state, report):
                signal = self._evaluate(key, state, state.clock)
                if signal is not None:
                    signals.append(signal)
            if self._ticks.due(report.event_time):
                signals.extend(self.tick(report.event_time, batch_keys))
        return signals

    def tick(self, event_time: float, keys: Set[str] | None = None) -> list[Signal]:
        """Judge the reports due (of all communes, or those of ``keys`` known here) at ``event_time``."""
        self._ticks.ticked(event_time)
        signals = []
        for key in sorted(self._states if keys is None else keys & self._states.keys()):
            state = self._states[key]
            if event_time < state.clock:
                continue
            due = any(deadline < event_time for deadline, _ in state.open.values())
            if due or state.gate.wants(event_time):
                signal = self._evaluate(key, state, event_time)
                if signal is not None:
                    signals.append(signal)
        return signals

    def _step(self, state: OverdueState, report: IncidentReport) -> bool:
        """Apply one step; False when it is older than anything still remembered (a replay)."""
        t = report.event_time
        if t < state.clock - self._keep_closed:
            return False
        state.clock = max(state.clock, t)
        rid = report.entity_id
        if rid not in state.closed:
            if report.payload.status in _CLOSING:
                state.open.pop(rid, None)
                state.closed[rid] = t
            else:
                state.open[rid] = (report.payload.deadline, CATEGORY_INDEX[report.payload.category])
        for old in [r for r, at in state.closed.items() if at < state.clock - self._keep_closed]:
            del state.closed[old]
        for old in [r for r, (deadline, _) in state.open.items() if deadline < state.clock - self._keep_overdue]:
            del state.open[old]
        return True

    def _evaluate(self, key: str, state: OverdueState, t: float) -> Signal | None:
        overdue = state.overdue(t)
        s = self.settings
        if not state.gate.offer(t, bool(overdue), s.heartbeat_seconds, s.quiet_seconds):
            return None
        commune = None if key == state.district else key
        name = f"{self.names.get(key, key)} ({key})"
        if overdue:
            deadline, rid, k = overdue[0]
            hours = (t - deadline) / 3600.0
            summary = (
                f"{len(overdue)} report(s) past their deadline in {name}; "
                f"oldest {rid} ({INCIDENT_CATEGORIES[k]}) is {hours:.1f} h late"
            )
        else:
            summary = f"no report past its deadline in {name}"
        return Signal(
            rule=self.rule,
            kind="report_overdue",
            entity_id=key,
            district=self.district_of.get(key, state.district),
            commune=commune,
            active=bool(overdue),
            event_time=t,
            severity="warning",
            evidence=Evidence(observed=float(len(overdue)), baseline=0.0, threshold=1.0, event_time=t),
            summary=summary,
        )


def _key(report: IncidentReport) -> str:
    return report.commune or report.district
