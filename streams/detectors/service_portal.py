"""Portal outages: online submissions stop when, by the learned rate, several were due.

Silence sends no message, so the verdict is taken at every online message
(completions keep coming from the back office during an outage) and at every
tick; a submission that ends a silence no tick called an outage (a worker
catching up on a backlog reads a whole outage in one batch) has it judged
as ticks during it would have. The test is the chance of seeing no
submission since the last one, from the learned rates of the hours the
silence spans, with their uncertainty: a rate learned from a single
afternoon cannot make half an hour of quiet look impossible. The outage
ends with the next submission.

What it takes: at a rate r per hour, the silence must last about
``-ln(level) / r`` hours plus what the rate's uncertainty adds; with the
Điện Biên profile's 20-26 submissions an hour on a weekday morning, and the
default level of 1e-5, that is 30-40 minutes once a few weeks are learned.
At night, with one submission an hour or fewer, an outage cannot be told
from a quiet night for hours, and it is not reported.

Rates are learned when a submission arrives, over the silence it ends, so
the silence being judged is never part of what is learned; a silence that
was an outage is not learned at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iocsim.contract import ServiceEvent
from iocsim.sim.profiles import Profile
from iocsim.streams.detectors.service_base import EntityState, SeenIds, ServiceDetector
from iocsim.streams.detectors.service_priors import portal_prior
from iocsim.streams.detectors.service_rates import HourGrid, Piece, RateModel
from iocsim.streams.detectors.service_settings import ServiceDetectorSettings
from iocsim.streams.detectors.signal_gate import SignalGate, never_as_null, null_as_never, state_part
from iocsim.streams.errors import StateError
from iocsim.streams.lifecycle import Signal

OUTAGE_RULE = "services.portal_outage"


@dataclass(kw_only=True)
class PortalState(EntityState):
    """The online channel: its last submission, the newest message, learned rates and verdict."""

    model: RateModel
    last: float | None = None
    clock: float = float("-inf")
    active: bool = False
    checked: float = float("-inf")
    gate: SignalGate = field(default_factory=SignalGate)


class PortalOutageDetector(ServiceDetector[PortalState]):
    """No online submissions where several were due (state per online entity, i.e. ``portal``)."""

    name = "portal-outages"

    def __init__(self, profile: Profile, settings: ServiceDetectorSettings | None = None) -> None:
        super().__init__(profile, settings)
        self.portal = self.settings.portal
        self.grid = HourGrid(self.calendar, open_only=False)
        self.prior = portal_prior(profile, self.portal.hour_weights, self.portal.day_off_weight)
        self.log_level = math.log(self.portal.level)

    def reads(self, event: ServiceEvent) -> bool:
        return event.payload.channel == "online"

    def new_state(self, event: ServiceEvent) -> PortalState:
        model = RateModel.fresh(self.grid, self.prior, self.portal.rates, event.event_time)
        return PortalState(district=event.district, model=model)

    def handle(self, key: str, state: PortalState, event: ServiceEvent) -> list[Signal]:
        t = event.event_time
        signals: list[Signal] = []
        if event.payload.kind == "dossier_submitted":
            if state.last is None:
                state.model.until = t
                state.model.count(self.grid, t)
                state.last = t
            elif t > state.last:
                went = None if state.active else self._passed_limit(state, state.last, t)
                if went is not None:
                    signals = self._judge(key, state, went)
                skip = [(state.last, t)] if state.active else []
                state.model.learn(self.grid, t, [t], skip)
                state.last, state.active = t, False
            else:
                state.model.count(self.grid, t)
        state.clock = max(state.clock, t)
        return signals + self._judge(key, state, state.clock)

    def _passed_limit(self, state: PortalState, last: float, t: float) -> float | None:
        """When the silence from ``last`` to ``t`` became an outage, to the second; None if it never did.

        For a silence no tick called an outage: a whole outage read in one
        batch is judged as ticks during it would have judged it.
        """
        if not self._outage(state, self.grid.pieces(last, t))[0]:
            return None
        low, high = last, t
        while high - low > 1.0:
            mid = (low + high) / 2
            low, high = (low, mid) if self._outage(state, self.grid.pieces(last, mid))[0] else (mid, high)
        return high

    def _outage(self, state: PortalState, pieces: list[Piece]) -> tuple[bool, float]:
        """Whether a silence over ``pieces`` is improbable, and how many submissions it expected."""
        expected, _ = state.model.expect(pieces)
        return expected >= self.portal.min_expected and state.model.log_none(pieces) < self.log_level, expected

    def check(self, key: str, state: PortalState, now: float) -> list[Signal]:
        if now <= state.clock or now - state.checked < self.settings.tick_seconds:
            return []
        state.checked = now
        return self._judge(key, state, now)

    def _judge(self, key: str, state: PortalState, now: float) -> list[Signal]:
        if state.last is None:
            return []
        pieces = self.grid.pieces(state.last, now) if now > state.last else []
        outage, expected = self._outage(state, pieces)
        state.active = state.active or outage
        s = self.settings
        if not state.gate.offer(now, state.active, s.heartbeat_seconds, s.quiet_seconds):
            return []
        minutes = (now - state.last) / 60.0
        summary = (
            f"{key}: no online submission for {minutes:.0f} min where {expected:.1f} were expected"
            if state.active
            else f"{key}: online submissions arriving"
        )
        evidence = (0.0, expected, -self.log_level)
        return [
            self.signal(
                OUTAGE_RULE, "portal_outage", "critical", key, state.district, state.active, now, evidence, summary
            )
        ]

    def state_to_dict(self, state: PortalState) -> dict[str, Any]:
        return {
            "district": state.district,
            "ids": state.ids.to_list(),
            "model": state.model.to_dict(),
            "last": state.last,
            "clock": never_as_null(state.clock),
            "active": state.active,
            "checked": never_as_null(state.checked),
            "gate": state.gate.to_list(),
        }

    def state_from_dict(self, key: str, data: Mapping[str, Any]) -> PortalState:
        model = RateModel.from_dict(
            f"{key}.model", state_part(data, key, "model"), self.grid, self.prior, self.portal.rates
        )
        try:
            last = state_part(data, key, "last")
            return PortalState(
                district=str(state_part(data, key, "district")),
                ids=SeenIds.from_list(f"{key}.ids", state_part(data, key, "ids")),
                model=model,
                last=None if last is None else float(last),
                clock=null_as_never(state_part(data, key, "clock")),
                active=bool(state_part(data, key, "active")),
                checked=null_as_never(state_part(data, key, "checked")),
                gate=SignalGate.from_list(f"{key}.gate", state_part(data, key, "gate")),
            )
        except (TypeError, ValueError) as exc:
            raise StateError(key, f"unreadable portal state: {exc}") from exc
