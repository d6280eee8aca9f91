"""Assumed behaviour of citizens and staff at the one-stop shops and on the portal.

Volumes come from the profile. DOMAIN.md gives only yearly totals, the online
share, the on-time share and the office hours, so every number here is an
assumption, kept in one typed object so that it can be argued with and
changed per run.
"""

from __future__ import annotations

from dataclasses import dataclass

from iocsim.sim.dossiers import ProcessingTimes
from iocsim.sim.errors import SimError
from iocsim.sim.service_arrivals import ArrivalShape

COUNTER_SHAPE = ArrivalShape(
    hour_weights=(0, 0, 0, 0, 0, 0, 0, 1.3, 1.8, 1.8, 1.3, 0.6, 0, 0.6, 1.0, 0.8, 0.5, 0, 0, 0, 0, 0, 0, 0),
    weekday_weights=(1.25, 1.05, 1.0, 0.95, 0.9, 0.6, 0.4),
)
"""Walk-ins peak 8-10 h (people from remote communes travel in the morning), fewer after 13:30; Monday busiest."""

# fmt: off
PORTAL_SHAPE = ArrivalShape(
    hour_weights=(
        0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.0, 1.6, 1.8, 1.7, 1.2,
        0.8, 1.0, 1.5, 1.6, 1.4, 1.0, 0.7, 0.8, 0.9, 0.8, 0.5, 0.25,
    ),
    weekday_weights=(1.2, 1.1, 1.05, 1.0, 0.95, 0.45, 0.35),
    holiday_weight=0.3,
)
# fmt: on
"""Online submissions follow the working day with an evening tail; weekends and holidays are quieter, not empty."""


@dataclass(frozen=True)
class ServiceSettings:
    """How people and offices behave.

    - ``staffed_share``: share of an office's counters with an officer at them.
      Officers are seconded from their departments and also work dossiers in
      the back office, and real counters each serve one sector, so the real
      lines are far less pooled than one queue over every counter; with all
      the profile's counters pooled, queues would never form. 0.4 gives waits
      of a few minutes, peaks of 20-50 minutes and a few % abandonment.
    - ``non_dossier_share``: walk-ins who only ask or pick up a result, served
      in ``non_dossier_minutes``.
    - ``service_time_sigma``: lognormal shape of counter times, whose mean is
      the procedure's ``counter_minutes``.
    - ``patience_*``: lognormal patience of people waiting. The shape (sigma
      1.9: some leave within a minute, many would wait hours) is fitted to the
      abandonment curve of a real bank call centre (Technion "Anonymous Bank",
      Kaplan-Meier over 38,700 queued calls); the median is an assumption,
      about ten times the callers' 5.5 minutes, for people who travelled to the office.
    - ``overtime_minutes``: how long counters keep calling ticket holders after closing.
    - ``on_time_share``: share of dossiers done by their deadline; None takes
      the profile's ``on_time_target`` plus one point, as Điện Biên reported
      "over 96%" against its target. ``processing_median_fraction``: median
      share of the legal time a dossier takes.
    - ``outage_return_share``: online submitters who retry after a portal outage,
      ``outage_return_hours`` after it on average.
    - Defaults of anomaly parameters: ``surge_multiplier`` (queue_surge),
      ``closure_counters_open`` (counter_closure), ``backlog_slowdown`` (processing_backlog).
    - ``warm_up_days``: unpublished days simulated before the scenario; None
      derives it from the longest processing time.
    """

    counter_shape: ArrivalShape = COUNTER_SHAPE
    portal_shape: ArrivalShape = PORTAL_SHAPE
    staffed_share: float = 0.4
    non_dossier_share: float = 0.3
    non_dossier_minutes: float = 4.0
    service_time_sigma: float = 0.45
    patience_median_minutes: float = 60.0
    patience_sigma: float = 1.9
    overtime_minutes: float = 30.0
    on_time_share: float | None = None
    processing_median_fraction: float = 0.45
    outage_return_share: float = 0.8
    outage_return_hours: float = 1.5
    surge_multiplier: float = 3.0
    closure_counters_open: int = 0
    backlog_slowdown: float = 3.0
    warm_up_days: int | None = None
    decimals: int = 3

    def __post_init__(self) -> None:
        if not 0.0 < self.staffed_share <= 1.0:
            raise SimError("staffed_share", f"{self.staffed_share} is outside (0, 1]")
        if not 0.0 <= self.non_dossier_share < 1.0:
            raise SimError("non_dossier_share", f"{self.non_dossier_share} is outside [0, 1)")
        if not 0.0 <= self.outage_return_share <= 1.0:
            raise SimError("outage_return_share", f"{self.outage_return_share} is outside [0, 1]")
        for name in ("non_dossier_minutes", "patience_median_minutes", "outage_return_hours"):
            if getattr(self, name) <= 0:
                raise SimError(name, "must be positive")
        for name in ("service_time_sigma", "patience_sigma", "overtime_minutes", "closure_counters_open"):
            if getattr(self, name) < 0:
                raise SimError(name, "must not be negative")
        for name in ("surge_multiplier", "backlog_slowdown"):
            if getattr(self, name) <= 0:
                raise SimError(name, "must be positive")
        if self.warm_up_days is not None and self.warm_up_days < 0:
            raise SimError("warm_up_days", "must not be negative")
        if not 0 <= self.decimals <= 6:
            raise SimError("decimals", f"{self.decimals} is outside [0, 6]")
        ProcessingTimes(0.97 if self.on_time_share is None else self.on_time_share, self.processing_median_fraction)

    def processing_times(self, on_time_target: float) -> ProcessingTimes:
        share = self.on_time_share if self.on_time_share is not None else min(on_time_target + 0.01, 0.995)
        return ProcessingTimes(share, self.processing_median_fraction)
