"""Prior rates from the province profile: what each entity should see before it has been watched.

The profile gives yearly dossiers, the online share and each office's share
of counter traffic; the calendar gives the opening hours and holidays. An
office's walk-ins, its completions and the portal's submissions are those
totals spread over the hours they can happen in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.profiles import Profile

PORTAL = "portal"
"""The entity of the online channel (see ``iocsim.contract.ServiceEvent``)."""


def workdays_per_year(profile: Profile) -> float:
    """Working days in an average year: the weekly workdays less the profile's holidays that fall on them."""
    lost: dict[int, int] = {}
    for holiday in profile.calendar.holidays:
        day = holiday.start
        while day <= holiday.end:
            if day.weekday() in profile.calendar.workdays:
                lost[day.year] = lost.get(day.year, 0) + 1
            day += dt.timedelta(days=1)
    mean_lost = sum(lost.values()) / len(lost) if lost else 0.0
    return max(1.0, len(set(profile.calendar.workdays)) * 365.25 / 7.0 - mean_lost)


def open_hours_per_year(profile: Profile) -> float:
    return workdays_per_year(profile) * ProvinceCalendar(profile.calendar).open_seconds_per_workday() / 3600.0


def office_share(profile: Profile, entity_id: str) -> float:
    """An office's share of counter traffic; an office the profile does not know gets an average share."""
    office = profile.office_by_id.get(entity_id)
    return office.share if office is not None else 1.0 / max(1, len(profile.offices))


def yearly_dossiers(profile: Profile, entity_id: str) -> float:
    """Dossiers an entity receives (and completes) in a year."""
    services = profile.services
    if entity_id == PORTAL:
        return services.dossiers_per_year * services.online_share
    return services.dossiers_per_year * (1.0 - services.online_share) * office_share(profile, entity_id)


def per_open_hour(profile: Profile, entity_id: str) -> float:
    """An entity's dossiers per opening hour, the pace of its counters and of its back office."""
    return yearly_dossiers(profile, entity_id) / open_hours_per_year(profile)


def open_share_by_hour(profile: Profile) -> list[float]:
    """How much of each local hour of a workday the offices are open (0 to 1)."""
    share = [0.0] * 24
    for start, end in profile.calendar.office_hours:
        a, b = _minute_of_day(start), _minute_of_day(end)
        for hour in range(24):
            share[hour] += max(0, min(b, 60 * (hour + 1)) - max(a, 60 * hour)) / 60.0
    return share


def counter_prior(profile: Profile, entity_id: str, hour_weights: Sequence[float], per_dossier: float) -> list[float]:
    """Walk-ins per open hour of a workday (24) then of a day off (24): the yearly level shaped by ``hour_weights``.

    The weights are normalised over the opening time, so the office's yearly
    total is the same whatever the shape.
    """
    share = open_share_by_hour(profile)
    mean_weight = sum(w * s for w, s in zip(hour_weights, share, strict=True)) / max(sum(share), 1e-9)
    rate = per_open_hour(profile, entity_id) * per_dossier / mean_weight
    day = [rate * w for w in hour_weights]
    return day + day


def _minute_of_day(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def portal_prior(profile: Profile, hour_weights: tuple[float, ...], day_off_weight: float) -> list[float]:
    """Online submissions per hour of a workday (24) then of a day off (24), summing to the yearly total."""
    workdays = workdays_per_year(profile)
    days_off = 365.25 - workdays
    per_weight = yearly_dossiers(profile, PORTAL) / (sum(hour_weights) * (workdays + day_off_weight * days_off))
    return [per_weight * w for w in hour_weights] + [per_weight * day_off_weight * w for w in hour_weights]
