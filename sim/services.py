"""The public-service feed: one-stop-shop counters, the online portal and dossier processing.

Volumes derive from the profile alone: the yearly dossiers and their online
share, each office's share of counter traffic and its counters, each
procedure's share, counter time and legal processing days. Counter walk-ins
per year are the counter dossiers scaled up by the walk-ins who bring none;
both channels spread their yearly total over the weighted open minutes of the
scenario's calendar year. Behaviour (rhythm, patience, processing speed) is
in ``ServiceSettings``.

Conventions of the messages (``ioc.services.events``):

- ``entity_id`` is the office id, or ``portal`` for the online channel; the
  provincial centre (an office without district) and the portal carry the
  district ``province``. Ids: ``<office>-T<n>-issued|called|served|abandoned``
  for tickets, ``<office or portal>-D<n>-submitted|completed`` for dossiers.
- Ticket steps carry the queue right after the step (``queue_length`` counts
  tickets waiting, not those at a counter) and the counters staffed then
  (``staffed_share`` of the profile's counters, fewer during a closure);
  ``wait_seconds`` is set when a ticket is called or abandoned. A counter
  dossier's submission repeats the office's state at that moment;
  completions happen in the back office and carry ``queue_length`` 0, like
  everything on the portal, which has no counters.
- When a session closes the ticket machine stops but counters keep calling
  ticket holders for ``overtime_minutes``: people inside with a ticket are
  normally served, and sending them away at 11:30 and 17:00 would make
  abandonment spike twice a day for no reason a detector should care about.
  Whoever still waits after the overtime is sent home (``ticket_abandoned``).
- Walk-ins with a dossier who abandon are lost, so the counter's yearly
  dossiers fall short of the profile by the abandonment rate (a few %).
- Anomalies: ``counter_closure`` leaves ``counters_open`` counters (default
  0; a closing counter finishes its ticket); ``queue_surge`` multiplies the
  walk-in rate by ``multiplier``; ``portal_outage`` drops online submissions,
  some of which come back after it; ``processing_backlog`` makes the
  entity's back office ``slowdown`` times slower, so dossiers in progress
  during the window finish late.
- The run starts ``warm_up_days`` before the scenario, unpublished, so that
  queues and dossiers in progress are realistic from its first second: a
  ticket's steps are published only if it was issued inside the scenario,
  dossier steps whenever they fall inside it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator

from iocsim.contract import SERVICE_EVENTS, ServiceEvent
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.dossiers import DossierDesk, ProcedureMix, Slowdown, WorkingClock
from iocsim.sim.errors import SimError
from iocsim.sim.profiles import Office, Profile
from iocsim.sim.scenario import PORTAL, Anomaly, Scenario, check_against
from iocsim.sim.seeding import entity_rng
from iocsim.sim.service_arrivals import ArrivalProcess, Surge, Window, local_midnight
from iocsim.sim.service_counters import Closure, CounterOffice
from iocsim.sim.service_outbox import PROVINCE_DISTRICT, Outbox
from iocsim.sim.service_portal import OnlinePortal
from iocsim.sim.service_settings import ServiceSettings

__all__ = ["PROVINCE_DISTRICT", "ServiceFeed", "ServiceSettings"]

FEED = "services"


class ServiceFeed:
    """Tickets and dossiers of every office and the portal, in event-time order."""

    topic = SERVICE_EVENTS

    def __init__(
        self, profile: Profile, scenario: Scenario, seed: int, settings: ServiceSettings | None = None
    ) -> None:
        check_against(scenario, profile)
        if PORTAL in profile.office_by_id:
            raise SimError("offices", f"{PORTAL!r} is reserved for the online portal")
        self.profile = profile
        self.scenario = scenario
        self.seed = seed
        self.settings = settings or ServiceSettings()
        self.calendar = ProvinceCalendar(profile.calendar)
        self.first_day = self.calendar.local(scenario.start).date()
        year = self.first_day.year
        self._counter_arrivals = ArrivalProcess(
            self.calendar, self.settings.counter_shape, year, self.calendar.office_sessions
        )
        self._portal_arrivals = ArrivalProcess(self.calendar, self.settings.portal_shape, year, self._whole_day)
        self._procedures = ProcedureMix.of(profile.services)
        services = profile.services
        self.online_per_year = services.dossiers_per_year * services.online_share
        counter_dossiers = services.dossiers_per_year - self.online_per_year
        self.walkins_per_year = counter_dossiers / (1.0 - self.settings.non_dossier_share)
        self.warm_up_days = self.settings.warm_up_days
        if self.warm_up_days is None:
            longest = max(self._procedures.processing_days)
            self.warm_up_days = math.ceil(longest * 7 / 5) + 14
        self._closures, self._surges, self._backlogs = self._anomaly_windows()

    def _anomaly_windows(self) -> tuple[dict[str, list[Closure]], dict[str, list[Surge]], dict[str, list[Slowdown]]]:
        """Per entity: counter closures, arrival surges and processing slowdowns, parameters checked."""
        settings = self.settings
        closures: dict[str, list[Closure]] = defaultdict(list)
        surges: dict[str, list[Surge]] = defaultdict(list)
        backlogs: dict[str, list[Slowdown]] = defaultdict(list)
        for a in self.scenario.anomalies:
            if a.kind == "counter_closure":
                left_open = int(_param(a, "counters_open", settings.closure_counters_open, low=0))
                closures[a.entity_id].append((a.start, a.end, left_open))
            elif a.kind == "queue_surge":
                surges[a.entity_id].append((a.start, a.end, _param(a, "multiplier", settings.surge_multiplier, low=0)))
            elif a.kind == "processing_backlog":
                slowdown = _param(a, "slowdown", settings.backlog_slowdown, low=1e-3)
                backlogs[a.entity_id].append((a.start, a.end, slowdown))
        return closures, surges, backlogs

    def expected_arrivals(self, entity_id: str, start: float, end: float) -> float:
        """Walk-ins at an office (online submissions for the portal) the model expects in [start, end), anomalies aside.

        What a detector that knew the true rates would compare counts with:
        the ceiling against which a detector that learns them is judged.
        """
        if entity_id == PORTAL:
            process, per_year = self._portal_arrivals, self.online_per_year
        elif entity_id in self.profile.office_by_id:
            process = self._counter_arrivals
            per_year = self.walkins_per_year * self.profile.office_by_id[entity_id].share
        else:
            raise SimError("entity_id", f"{entity_id!r} is neither an office nor the portal")
        day, last = self.calendar.local(start).date(), self.calendar.local(end).date()
        total = 0.0
        while day <= last:
            total += process.expected(day, per_year, start, end)
            day += dt.timedelta(days=1)
        return total

    def _whole_day(self, day: dt.date) -> list[Window]:
        return [(local_midnight(self.calendar, day), local_midnight(self.calendar, day + dt.timedelta(days=1)))]

    def events(self) -> Iterator[ServiceEvent]:
        outbox = Outbox(self.scenario.start, self.scenario.end, self.settings.decimals)
        day = self.first_day - dt.timedelta(days=self.warm_up_days or 0)
        clock = WorkingClock(self.calendar, day)
        offices = [self._office(office, clock, outbox) for office in self.profile.offices]
        portal = self._portal(clock, outbox)
        last_day = self.calendar.local(self.scenario.end - 1e-3).date()
        while day <= last_day:
            for office in offices:
                office.run_day(day)
            portal.run_day(day)
            day += dt.timedelta(days=1)
            yield from outbox.release(local_midnight(self.calendar, day))

    def _desk(self, entity_id: str, clock: WorkingClock) -> DossierDesk:
        times = self.settings.processing_times(self.profile.services.on_time_target)
        rng = entity_rng(self.seed, FEED, entity_id, "processing")
        return DossierDesk(clock, times, rng, self._backlogs.get(entity_id, []))

    def _office(self, office: Office, clock: WorkingClock, outbox: Outbox) -> CounterOffice:
        return CounterOffice(
            office,
            walkins_per_year=self.walkins_per_year * office.share,
            arrivals=self._counter_arrivals,
            calendar=self.calendar,
            procedures=self._procedures,
            settings=self.settings,
            closures=self._closures.get(office.id, []),
            surges=self._surges.get(office.id, []),
            desk=self._desk(office.id, clock),
            rng=entity_rng(self.seed, FEED, office.id),
            outbox=outbox,
        )

    def _portal(self, clock: WorkingClock, outbox: Outbox) -> OnlinePortal:
        outages = [(a.start, a.end) for a in self.scenario.anomalies_of(PORTAL, frozenset({"portal_outage"}))]
        return OnlinePortal(
            dossiers_per_year=self.online_per_year,
            arrivals=self._portal_arrivals,
            procedures=self._procedures,
            settings=self.settings,
            outages=outages,
            desk=self._desk(PORTAL, clock),
            rng=entity_rng(self.seed, FEED, PORTAL),
            outbox=outbox,
        )


def _param(anomaly: Anomaly, name: str, default: float, *, low: float) -> float:
    try:
        value = anomaly.number(name, default)
    except ValueError as exc:
        raise SimError(f"{anomaly.kind}.params.{name}", f"{anomaly.params[name]!r} is not a number") from exc
    if not value >= low:
        raise SimError(f"{anomaly.kind}.params.{name}", f"{value} is below {low}")
    return value
