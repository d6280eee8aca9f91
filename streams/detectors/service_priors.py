"""Prior rates from the province profile: what each entity should see before it has been watched.

The profile gives yearly dossiers, the online share and each office's share
of counter traffic; the calendar gives the opening hours and holidays. An
office's walk-ins, its completions and the portal's submissions are those
totals spread over the hours they can happen in.
"""

from __future__ import annotations

import datetime as dt

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


def portal_prior(profile: Profile, hour_weights: tuple[float, ...], day_off_weight: float) -> list[float]:
    """Online submissions per hour of a workday (24) then of a day off (24), summing to the yearly total."""
    workdays = workdays_per_year(profile)
    days_off = 365.25 - workdays
    per_weight = yearly_dossiers(profile, PORTAL) / (sum(hour_weights) * (workdays + day_off_weight * days_off))
    return [per_weight * w for w in hour_weights] + [per_weight * day_off_weight * w for w in hour_weights]
