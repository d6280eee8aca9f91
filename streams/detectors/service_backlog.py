"""Processing backlogs: a back office (an office's, or the portal's) falling behind.

A back office that slows down first completes fewer dossiers: the work in
progress is the same, it just moves slower. Dossiers then pass their
deadline, and are completed late later still. So three tests, any of which
raises the alert:

- *collapse*: completions in the last few working hours far fewer than the
  learned rate expects (a negative-binomial lower tail, so a rate learned
  from little data cannot make an ordinary slow morning look impossible);
- *overdue*: among the dossiers whose deadline passed in the last working
  day(s), more not completed by it than the profile's on-time target allows
  (a binomial upper tail against ``1 - target``);
- *late*: the same test on the recent completions' own on-time flags: the
  service level as the province reports it;
- *stalled*: the collapse test on the dossiers seen submitted, against the
  completions their progress through their legal time makes likely
  (``service_pipeline``). It needs no rate, so it is the sharpest once the
  dossiers in hand were seen handed in.

All count working time only (back offices work office hours), so nights,
weekends and Tết neither look like a collapse nor teach one. The completion
rate is learned once completions have left every window, and not while the
alert is active. Once an alert has ended, dossiers handed in before it ended
no longer count as late or overdue: they were slowed by the backlog already
reported, and working them off is its tail, not a second backlog. Windows never reach back before the detector's first
message, so a worker starting cold does not mistake its own start for a collapse.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iocsim.contract import ServiceEvent
from iocsim.sim.dossiers import WorkingClock
from iocsim.sim.profiles import Profile
from iocsim.streams.detectors.service_base import EntityState, SeenIds, ServiceDetector, count_between
from iocsim.streams.detectors.service_pipeline import DossierPipeline, Hazard
from iocsim.streams.detectors.service_priors import per_open_hour
from iocsim.streams.detectors.service_rates import HourGrid, RateModel
from iocsim.streams.detectors.service_settings import ServiceDetectorSettings
from iocsim.streams.detectors.service_stats import binom_sf, lower_threshold, nb_cdf
from iocsim.streams.detectors.signal_gate import SignalGate, never_as_null, null_as_never, state_part
from iocsim.streams.errors import StateError
from iocsim.streams.lifecycle import Signal

BACKLOG_RULE = "services.backlog"
_BASELINE_MEMORY = 500.0
_SEEN_MEMORY = 100.0
"""Completions over which the share of dossiers seen handed in is averaged."""
_IN_HAND_SECONDS = 300.0
"""How long the dossiers in hand are judged by the same counts (the costliest test; a backlog builds over hours)."""

Verdict = tuple[float, tuple[float, float, float], str, float]
"""(p-value, evidence, summary, start of what it judged)."""


@dataclass(kw_only=True)
class BacklogState(EntityState):
    """One back office: recent completions and outcomes, dossiers in hand, learned pace and verdict."""

    model: RateModel
    pipeline: DossierPipeline
    start: float
    latest: float = float("-inf")
    completions: list[float] = field(default_factory=list)
    outcomes: list[tuple[float, int]] = field(default_factory=list)
    due: dict[tuple[float, str], list[int]] = field(default_factory=dict)
    skip: list[tuple[float, float]] = field(default_factory=list)
    since: float | None = None
    cleared: float = float("-inf")
    on_time: float = 1.0
    judged: int = 0
    checked: float = float("-inf")
    gate: SignalGate = field(default_factory=SignalGate)
    seen_share: float = 0.0
    seen_judged: int = 0
    in_hand: tuple[float, list[tuple[int, float]]] | None = field(default=None, repr=False, compare=False)


class BacklogDetector(ServiceDetector[BacklogState]):
    """Completions collapsing or coming late, per office and for the portal (state per entity)."""

    name = "processing-backlogs"

    def __init__(self, profile: Profile, settings: ServiceDetectorSettings | None = None) -> None:
        super().__init__(profile, settings)
        self.backlog = self.settings.backlog
        self.grid = HourGrid(self.calendar, open_only=True, single=True)
        self.target = profile.services.on_time_target
        self.longest = self.backlog.windows_hours[-1] * 3600.0
        self._cohorts_from: dict[float, float] = {}
        self._allowed = {t.id: max(1, math.ceil(t.processing_days - 1e-9)) for t in profile.services.service_types}
        self._longest_allowed = max(self._allowed.values(), default=1)
        self._began: dict[tuple[float, str], float] = {}
        self.hazard = Hazard(
            self.backlog.hazard_bin_share, self.backlog.hazard_bins, self.backlog.hazard_memory_dossiers
        )
        self._hazard_prior = self.hazard.prior(
            self.backlog.hazard_prior_dossiers, self.backlog.hazard_prior_median, self.target
        )
        self._clock: WorkingClock | None = None

    def clock(self, t: float) -> WorkingClock:
        """Working seconds since a day well before ``t``: only their differences matter."""
        if self._clock is None:
            first = self.calendar.local(t).date() - dt.timedelta(days=400)
            self._clock = WorkingClock(self.calendar, first)
        return self._clock

    def _new_pipeline(self) -> DossierPipeline:
        completions, exposure = self._hazard_prior
        return DossierPipeline(completions.copy(), exposure.copy())

    def reads(self, event: ServiceEvent) -> bool:
        return event.payload.kind in ("dossier_submitted", "dossier_completed")

    def _prior(self, key: str) -> list[float]:
        return [per_open_hour(self.profile, key)]

    def new_state(self, event: ServiceEvent) -> BacklogState:
        t = event.event_time
        model = RateModel.fresh(self.grid, self._prior(event.entity_id), self.backlog.rates, t)
        pipeline = self._new_pipeline()
        return BacklogState(district=event.district, model=model, start=t, on_time=self.target, pipeline=pipeline)

    def handle(self, key: str, state: BacklogState, event: ServiceEvent) -> list[Signal]:
        t, payload = event.event_time, event.payload
        deadline = payload.deadline
        if payload.kind == "dossier_completed":
            self._complete(state, t, deadline, payload.on_time, payload.service_type)
            seen = state.pipeline.complete(self.clock(t), payload.item_id, t)
            state.seen_judged += 1
            state.seen_share += (int(seen) - state.seen_share) / min(state.seen_judged, _SEEN_MEMORY)
        elif deadline is not None:
            state.pipeline.submit(self.clock(t), payload.item_id, t, deadline)
        if deadline is not None:
            self._track_cohort(state, event, deadline)
        state.latest = max(state.latest, t)
        signals = self._judge(key, state, state.latest)
        self._fold(state)
        return signals

    def _complete(
        self, state: BacklogState, t: float, deadline: float | None, on_time: bool | None, service_type: str
    ) -> None:
        if t < state.model.until:
            if not any(a <= t < b for a, b in state.skip):
                state.model.count(self.grid, t)
        else:
            bisect.insort(state.completions, t)
        if on_time is None and deadline is not None:
            on_time = t <= deadline
        if on_time is None or (deadline is not None and self._began_by(deadline, service_type) < state.cleared):
            return
        bisect.insort(state.outcomes, (t, int(on_time)))
        del state.outcomes[: -self.backlog.on_time_counts[-1]]
        state.judged += 1
        state.on_time += (int(on_time) - state.on_time) / min(state.judged, _BASELINE_MEMORY)

    def _track_cohort(self, state: BacklogState, event: ServiceEvent, deadline: float) -> None:
        """Count a submission into its cohort (deadline and procedure), or an on-time completion out of it."""
        t, cohort = event.event_time, (deadline, event.payload.service_type)
        if event.payload.kind == "dossier_submitted":
            if deadline > t >= self._whole_cohorts(state.start):
                state.due.setdefault(cohort, [0, 0])[0] += 1
        elif t <= deadline:
            counts = state.due.get(cohort)
            if counts is not None and counts[1] < counts[0]:
                counts[1] += 1

    def check(self, key: str, state: BacklogState, now: float) -> list[Signal]:
        if now <= state.latest or now - state.checked < self.backlog.check_seconds:
            return []
        since = max(state.checked, state.latest)
        changed = bool(self.grid.pieces(since, now)) or any(since <= d < now for d, _ in state.due)
        state.checked = now
        if not (changed or state.gate.wants(now)):
            return []
        return self._judge(key, state, now)

    def _judge(self, key: str, state: BacklogState, now: float) -> list[Signal]:
        b = self.backlog
        active = state.since is not None
        level = b.release_level if active else b.level
        verdicts: list[Verdict] = [(1.0, (0.0, 0.0, 0.0), "", now)]
        starts = [max(self.grid.rewind(now, hours * 3600.0), state.start) for hours in b.windows_hours]
        verdicts += [*self._collapse(state, now, level, starts), *self._late(state, now), *self._overdue(state, now)]
        verdicts += self._stalled(state, now, level, starts)
        p_value, evidence, summary, since = min(verdicts, key=lambda v: v[0])
        if active and p_value >= b.release_level:
            state.skip.append((state.since if state.since is not None else now, now))
            state.since = None
            state.cleared = now
        elif not active and p_value < b.level:
            state.since = since
        active = state.since is not None
        s = self.settings
        if not state.gate.offer(now, active, s.heartbeat_seconds, s.quiet_seconds):
            return []
        text = f"{key}: {summary}" if active else f"{key}: dossiers completed at the usual pace and on time"
        return [
            self.signal(BACKLOG_RULE, "processing_backlog", "warning", key, state.district, active, now, evidence, text)
        ]

    def _collapse(self, state: BacklogState, now: float, level: float, starts: list[float]) -> list[Verdict]:
        """``starts``: where each of the windows begins (the stalled test judges the same ones)."""
        b = self.backlog
        out: list[Verdict] = []
        if state.seen_share >= b.rate_until_seen:
            return out
        for hours, start in zip(b.windows_hours, starts, strict=True):
            if start >= now:
                continue
            mean, shape = state.model.expect(self.grid.pieces(start, now))
            n = count_between(state.completions, start, now)
            judged = self._too_few(n, mean, shape, level)
            if judged is not None:
                summary = f"{n} dossiers completed in the last {hours:g} working hours where {mean:.1f} were expected"
                out.append((judged[0], (float(n), mean, judged[1]), summary, start))
        return out

    def _stalled(self, state: BacklogState, now: float, level: float, starts: list[float]) -> list[Verdict]:
        b = self.backlog
        if state.in_hand is not None and 0.0 <= now - state.in_hand[0] < _IN_HAND_SECONDS:
            counts = state.in_hand[1]
        else:
            counts = state.pipeline.expect(self.hazard, self.clock(now), [(start, now) for start in starts])
            state.in_hand = (now, counts)
        out: list[Verdict] = []
        for hours, start, (n, mean) in zip(b.windows_hours, starts, counts, strict=True):
            judged = self._too_few(n, mean, math.inf, level)
            if judged is not None:
                summary = (
                    f"{n} of the dossiers in hand completed in the last {hours:g} working hours"
                    f" where their progress made {mean:.1f} likely"
                )
                out.append((judged[0], (float(n), mean, judged[1]), summary, start))
        return out

    def _too_few(self, n: int, mean: float, shape: float, level: float) -> tuple[float, float] | None:
        """(p-value, threshold) when ``n`` completions may be a collapse against ``mean``, else None."""
        b = self.backlog
        if mean < b.min_expected or n > b.collapse_ratio * mean:
            return None
        return nb_cdf(n, mean, shape), float(lower_threshold(mean, shape, level))

    def _late(self, state: BacklogState, now: float) -> list[Verdict]:
        b = self.backlog
        horizon = self.grid.rewind(now, b.on_time_horizon_hours * 3600.0)
        recent = [o for t, o in state.outcomes if horizon <= t <= now]
        out: list[Verdict] = []
        for n in b.on_time_counts:
            if len(recent) < n:
                break
            on_time = sum(recent[-n:])
            if on_time >= self.target * n:
                continue
            share = on_time / n
            summary = f"{share:.1%} of the last {n} dossiers on time, target {self.target:.0%}"
            out.append((binom_sf(n - on_time, n, 1.0 - self.target), (share, state.on_time, self.target), summary, now))
        return out

    def _whole_cohorts(self, start: float) -> float:
        """The first midnight after ``start`` that begins a working day: submissions from then on form whole cohorts.

        Legal deadlines count working days from the day of submission, and a
        submission on a day off counts from the next working day, so a
        cohort never straddles that midnight.
        """
        found = self._cohorts_from.get(start)
        if found is None:
            day = self.calendar.local(start).date() + dt.timedelta(days=1)
            for _ in range(366):
                if self.calendar.is_workday(day):
                    break
                day += dt.timedelta(days=1)
            found = dt.datetime.combine(day, dt.time(), self.calendar.zone).timestamp()
            self._cohorts_from = {start: found}
        return found

    def _overdue(self, state: BacklogState, now: float) -> list[Verdict]:
        """Dossiers seen submitted whose deadline passed without an on-time completion.

        A dossier is late the moment its deadline passes, long before it is
        completed; counting it then tells a backlog a day or more sooner.
        Dossiers are counted per deadline and procedure: one cohort, handed in
        on one working day. Cohorts that may have started before the detector
        did are left out, or their completions would hide late dossiers.
        """
        b = self.backlog
        horizons = [self.grid.rewind(now, hours * 3600.0) for hours in b.overdue_hours]
        for cohort in [c for c in state.due if c[0] < horizons[-1]]:
            del state.due[cohort]
        out: list[Verdict] = []
        for hours, horizon in zip(b.overdue_hours, horizons, strict=True):
            due = [
                counts
                for (deadline, service), counts in state.due.items()
                if horizon <= deadline < now and self._began_by(deadline, service) >= state.cleared
            ]
            n = sum(submitted for submitted, _ in due)
            late = sum(max(0, submitted - done) for submitted, done in due)
            if n < b.on_time_counts[0] or n - late >= self.target * n:
                continue
            summary = f"{late} of {n} dossiers due in the last {hours:g} working hours overdue"
            out.append(
                (binom_sf(late, n, 1.0 - self.target), ((n - late) / n, state.on_time, self.target), summary, now)
            )
        return out

    def _began_by(self, deadline: float, service_type: str) -> float:
        """The earliest a dossier due at ``deadline`` can have been handed in.

        Deadlines are the close of the n-th working day after the day of
        submission, n set by law per procedure, so the submission fell on or
        after the n-th working day before the deadline's day. A dossier handed
        in before a backlog alert ended was worked on during the backlog: if it
        comes late, that is the same backlog being worked off, not a new one.
        """
        key = (deadline, service_type)
        found = self._began.get(key)
        if found is None:
            day = self.calendar.local(deadline).date()
            left = self._allowed.get(service_type, self._longest_allowed)
            for _ in range(366):
                if left == 0:
                    break
                day -= dt.timedelta(days=1)
                left -= self.calendar.is_workday(day)
            found = dt.datetime.combine(day, dt.time(), self.calendar.zone).timestamp()
            if len(self._began) > 4096:
                self._began.clear()
            self._began[key] = found
        return found

    def _fold(self, state: BacklogState) -> None:
        """Learn the pace from completions that have left every window (not those of a backlog)."""
        horizon = self.grid.rewind(state.latest, self.longest)
        if horizon <= state.model.until:
            return
        skip = list(state.skip)
        if state.since is not None:
            skip.append((state.since, math.inf))
        cut = bisect.bisect_left(state.completions, horizon)
        learned = [t for t in state.completions[:cut] if not any(a <= t < b for a, b in skip)]
        del state.completions[:cut]
        state.model.learn(self.grid, horizon, learned, skip)
        state.pipeline.learn(self.hazard, self.clock(horizon), horizon, skip)
        state.skip = [(a, b) for a, b in state.skip if b > state.model.until]

    def _pipeline_from(self, key: str, data: Any) -> DossierPipeline:
        """The stored pipeline; a state from before pipelines starts an empty one."""
        if data is None:
            return self._new_pipeline()
        if not isinstance(data, Mapping):
            raise StateError(key, "unreadable backlog state: pipeline is not a mapping")
        return DossierPipeline.from_dict(f"{key}.pipeline", data, self.hazard, self.clock)

    def state_to_dict(self, state: BacklogState) -> dict[str, Any]:
        return {
            "district": state.district,
            "ids": state.ids.to_list(),
            "model": state.model.to_dict(),
            "start": state.start,
            "latest": never_as_null(state.latest),
            "completions": list(state.completions),
            "outcomes": [list(o) for o in state.outcomes],
            "due": [[d, service, *counts] for (d, service), counts in sorted(state.due.items())],
            "skip": [list(s) for s in state.skip],
            "since": state.since,
            "cleared": never_as_null(state.cleared),
            "on_time": state.on_time,
            "judged": state.judged,
            "checked": never_as_null(state.checked),
            "gate": state.gate.to_list(),
            "pipeline": state.pipeline.to_dict(),
            "seen_share": state.seen_share,
            "seen_judged": state.seen_judged,
        }

    def state_from_dict(self, key: str, data: Mapping[str, Any]) -> BacklogState:
        model = RateModel.from_dict(
            f"{key}.model", state_part(data, key, "model"), self.grid, self._prior(key), self.backlog.rates
        )
        try:
            since = state_part(data, key, "since")
            return BacklogState(
                district=str(state_part(data, key, "district")),
                ids=SeenIds.from_list(f"{key}.ids", state_part(data, key, "ids")),
                model=model,
                start=float(state_part(data, key, "start")),
                latest=null_as_never(state_part(data, key, "latest")),
                completions=sorted(float(t) for t in state_part(data, key, "completions")),
                outcomes=sorted((float(t), int(o)) for t, o in state_part(data, key, "outcomes")),
                due={(float(d), str(svc)): [int(n), int(done)] for d, svc, n, done in state_part(data, key, "due")},
                skip=[(float(a), float(b)) for a, b in state_part(data, key, "skip")],
                since=None if since is None else float(since),
                cleared=null_as_never(data.get("cleared")),
                on_time=float(state_part(data, key, "on_time")),
                judged=int(state_part(data, key, "judged")),
                checked=null_as_never(state_part(data, key, "checked")),
                gate=SignalGate.from_list(f"{key}.gate", state_part(data, key, "gate")),
                pipeline=self._pipeline_from(key, data.get("pipeline")),
                seen_share=float(data.get("seen_share", 0.0)),
                seen_judged=int(data.get("seen_judged", 0)),
            )
        except (TypeError, ValueError) as exc:
            raise StateError(key, f"unreadable backlog state: {exc}") from exc
