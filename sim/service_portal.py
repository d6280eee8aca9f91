"""The online public-service portal: dossiers submitted around the clock, none while it is down."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from iocsim.contract import ServiceEventKind
from iocsim.sim.dossiers import DossierDesk, ProcedureMix
from iocsim.sim.scenario import PORTAL
from iocsim.sim.service_arrivals import ArrivalProcess, Window
from iocsim.sim.service_outbox import PROVINCE_DISTRICT, Outbox
from iocsim.sim.service_settings import ServiceSettings


class OnlinePortal:
    """The portal's state from day to day: random stream, dossier numbering, outages, back office.

    A submission that falls in an outage is lost, or, for ``outage_return_share``
    of the submitters, made again an exponential delay after the portal is back:
    the backlog a recovering portal sees.
    """

    entity_id = PORTAL
    district = PROVINCE_DISTRICT

    def __init__(
        self,
        *,
        dossiers_per_year: float,
        arrivals: ArrivalProcess,
        procedures: ProcedureMix,
        settings: ServiceSettings,
        outages: Sequence[Window],
        desk: DossierDesk,
        rng: np.random.Generator,
        outbox: Outbox,
    ) -> None:
        self._dossiers_per_year = dossiers_per_year
        self._arrivals = arrivals
        self._procedures = procedures
        self._settings = settings
        self._outages = sorted(outages)
        self._desk = desk
        self._rng = rng
        self._outbox = outbox
        self._dossiers = 0

    def run_day(self, day: dt.date) -> None:
        rng, settings = self._rng, self._settings
        submitted = self._arrivals.sample(rng, day, self._dossiers_per_year)
        n = len(submitted)
        procedure = self._procedures.draw(rng, n)
        returns = rng.random(n) < settings.outage_return_share
        delay = rng.exponential(3600.0 * settings.outage_return_hours, n)
        kept = np.ones(n, dtype=bool)
        for start, end in self._outages:
            hit = kept & (submitted >= start) & (submitted < end)
            kept &= ~hit | returns
            submitted = np.where(hit & returns, end + delay, submitted)
        order = np.argsort(submitted[kept], kind="stable")
        for t, p in zip(submitted[kept][order].tolist(), procedure[kept][order].tolist(), strict=True):
            self._submit(t, p)

    def _submit(self, t: float, procedure: int) -> None:
        self._dossiers += 1
        item_id = f"{PORTAL}-D{self._dossiers}"
        service_type = self._procedures.ids[procedure]
        deadline, completed_at = self._desk.process(t, self._procedures.processing_days[procedure])
        steps: tuple[tuple[float, ServiceEventKind, bool | None], ...] = (
            (t, "dossier_submitted", None),
            (completed_at, "dossier_completed", completed_at <= deadline),
        )
        for at, kind, on_time in steps:
            self._outbox.publish(
                at,
                kind,
                entity_id=PORTAL,
                district=PROVINCE_DISTRICT,
                item_id=item_id,
                channel="online",
                service_type=service_type,
                counters_open=0,
                queue_length=0,
                deadline=deadline,
                on_time=on_time,
            )
