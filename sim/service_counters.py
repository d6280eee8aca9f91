"""A one-stop-shop office: walk-ins take tickets, wait for a counter, and some hand in a dossier."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Sequence

import numpy as np

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.dossiers import DossierDesk, ProcedureMix
from iocsim.sim.profiles import Office
from iocsim.sim.queueing import TicketEvent, Walkins, simulate_session
from iocsim.sim.service_arrivals import ArrivalProcess, Surge
from iocsim.sim.service_outbox import PROVINCE_DISTRICT, Outbox
from iocsim.sim.service_settings import ServiceSettings

Closure = tuple[float, float, int]


class CounterOffice:
    """One office's state from day to day: random stream, ticket and dossier numbering, counters, back office."""

    def __init__(
        self,
        office: Office,
        *,
        walkins_per_year: float,
        arrivals: ArrivalProcess,
        calendar: ProvinceCalendar,
        procedures: ProcedureMix,
        settings: ServiceSettings,
        closures: Sequence[Closure],
        surges: Sequence[Surge],
        desk: DossierDesk,
        rng: np.random.Generator,
        outbox: Outbox,
    ) -> None:
        self.entity_id = office.id
        self.district = office.district or PROVINCE_DISTRICT
        self.counters = max(1, int(office.counters * settings.staffed_share + 0.5))
        self._walkins_per_year = walkins_per_year
        self._arrivals = arrivals
        self._calendar = calendar
        self._procedures = procedures
        self._settings = settings
        self._closures = tuple(closures)
        self._surges = tuple(surges)
        self._desk = desk
        self._rng = rng
        self._outbox = outbox
        self._tickets = 0
        self._dossiers = 0
        self._changes = 0

    def counters_open(self, t: float) -> int:
        staffed = self.counters
        for start, end, left_open in self._closures:
            if start <= t < end:
                staffed = min(staffed, left_open)
        return staffed

    def _closure_edges(self, after: float, before: float) -> list[float]:
        """The times strictly between ``after`` and ``before`` where a closure starts or ends."""
        return sorted({t for a, b, _ in self._closures for t in (a, b) if after < t < before})

    def run_day(self, day: dt.date) -> None:
        rng, settings = self._rng, self._settings
        arrival = self._arrivals.sample(rng, day, self._walkins_per_year, self._surges)
        n = len(arrival)
        procedure = self._procedures.draw(rng, n)
        brings_dossier = rng.random(n) >= settings.non_dossier_share
        patience = 60.0 * rng.lognormal(math.log(settings.patience_median_minutes), settings.patience_sigma, n)
        sigma = settings.service_time_sigma
        mean_minutes = np.where(
            brings_dossier, self._procedures.counter_minutes[procedure], settings.non_dossier_minutes
        )
        service = 60.0 * mean_minutes * rng.lognormal(-sigma * sigma / 2, sigma, n)
        for start, end in self._calendar.office_sessions(day):
            lo, hi = np.searchsorted(arrival, [start, end])
            steps: list[TicketEvent] = []
            if hi > lo:
                steps = self._run_session(
                    end,
                    Walkins(arrival[lo:hi], patience[lo:hi], service[lo:hi]),
                    procedure[lo:hi].tolist(),
                    brings_dossier[lo:hi].tolist(),
                )
            self._announce_counters(start, end, steps)

    def _run_session(
        self, closing: float, walkins: Walkins, procedure: list[int], brings_dossier: list[bool]
    ) -> list[TicketEvent]:
        send_home_at = closing + 60.0 * self._settings.overtime_minutes
        opening = float(walkins.arrival[0])
        changes = self._closure_edges(opening, send_home_at)
        schedule = [(t, self.counters_open(t)) for t in (opening, *changes)]
        first = self._tickets
        self._tickets += len(walkins)
        visible = [self._outbox.accepts(t) for t in walkins.arrival.tolist()]
        ids = self._procedures.ids
        steps = simulate_session(walkins, schedule, send_home_at)
        for step in steps:
            i = step.ticket
            if visible[i]:
                self._outbox.publish(
                    step.time,
                    step.step,
                    entity_id=self.entity_id,
                    district=self.district,
                    item_id=f"{self.entity_id}-T{first + i + 1}",
                    channel="counter",
                    service_type=ids[procedure[i]],
                    counters_open=step.counters_open,
                    queue_length=step.queue_length,
                    wait_seconds=step.wait_seconds,
                )
            if step.step == "ticket_served" and brings_dossier[i]:
                self._take_dossier(step, procedure[i])
        return steps

    def _announce_counters(self, opening: float, closing: float, steps: Sequence[TicketEvent]) -> None:
        """The counters open at the session's start, at each closure's start and end, and none once it is over."""
        changes = self._closure_edges(opening, closing)
        over = max(closing, steps[-1].time) if steps else closing
        times = [step.time for step in steps]
        previous = -1
        for t, count in [
            (opening, self.counters_open(opening)),
            *((t, self.counters_open(t)) for t in changes),
            (over, 0),
        ]:
            if count == previous:
                continue
            previous = count
            before = bisect.bisect_right(times, t)
            self._changes += 1
            self._outbox.publish(
                t,
                "counters_changed",
                entity_id=self.entity_id,
                district=self.district,
                item_id=f"{self.entity_id}-C{self._changes}",
                channel="counter",
                service_type="",
                counters_open=count,
                queue_length=steps[before - 1].queue_length if before else 0,
            )

    def _take_dossier(self, served: TicketEvent, procedure: int) -> None:
        self._dossiers += 1
        item_id = f"{self.entity_id}-D{self._dossiers}"
        service_type = self._procedures.ids[procedure]
        deadline, completed_at = self._desk.process(served.time, self._procedures.processing_days[procedure])
        self._outbox.publish(
            served.time,
            "dossier_submitted",
            entity_id=self.entity_id,
            district=self.district,
            item_id=item_id,
            channel="counter",
            service_type=service_type,
            counters_open=served.counters_open,
            queue_length=served.queue_length,
            deadline=deadline,
        )
        self._outbox.publish(
            completed_at,
            "dossier_completed",
            entity_id=self.entity_id,
            district=self.district,
            item_id=item_id,
            channel="counter",
            service_type=service_type,
            counters_open=self.counters_open(completed_at),
            queue_length=0,
            deadline=deadline,
            on_time=completed_at <= deadline,
        )
