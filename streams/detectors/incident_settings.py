"""Knobs of the field-report detectors, with the reason behind each default.

Citizen reports are rare (Điện Biên: about 12 per 1,000 people a year, so a
commune of 4,000 sends one every few days), so almost every test below is
decided by a handful of reports. The defaults are assumptions unless a line
says where they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from iocsim.contract import INCIDENT_CATEGORIES
from iocsim.streams.errors import SettingsError

# People report in their waking day: quiet nights, a morning start, busy office
# hours, a calmer evening (assumption, in line with app-submitted city requests,
# where nights carry a few percent of the mean hourly volume and day hours 1.5–2.4×).
_WAKING_DAY = (
    0.2, 0.15, 0.15, 0.15, 0.2, 0.4, 0.8, 1.4, 1.7, 1.7, 1.7, 1.4,
    1.1, 1.3, 1.6, 1.7, 1.7, 1.5, 1.2, 1.0, 0.8, 0.6, 0.4, 0.3,
)  # fmt: skip


@dataclass(frozen=True)
class ScanSettings:
    """A Poisson scan over sliding windows: an alarm when a window holds too many reports.

    ``p_value`` is split evenly over the windows (Bonferroni), so that each
    window length is tested at ``p_value / len(windows_seconds)``.
    ``min_count`` keeps a lone report from ever being a burst, however rare.
    Once started, an alarm holds while some window is still improbable at
    the looser ``clear_p_value`` (hysteresis): the first reports of a burst
    leave the short windows before the long one holds enough of them, and
    the alarm must not flap in between.
    """

    windows_seconds: tuple[float, ...]
    p_value: float = 1e-6
    min_count: int = 2
    clear_p_value: float = 1e-4

    def __post_init__(self) -> None:
        if not self.windows_seconds or min(self.windows_seconds) <= 0:
            raise SettingsError("windows_seconds", "needs at least one window, all > 0")
        if tuple(sorted(self.windows_seconds)) != self.windows_seconds:
            raise SettingsError("windows_seconds", "must be in increasing order")
        if not 0.0 < self.p_value < 1.0:
            raise SettingsError("p_value", "must be in (0, 1)")
        if not self.p_value <= self.clear_p_value < 1.0:
            raise SettingsError("clear_p_value", "must be in [p_value, 1)")
        if self.min_count < 1:
            raise SettingsError("min_count", "must be >= 1")

    @property
    def level(self) -> float:
        """The p-value each window is tested at."""
        return self.p_value / len(self.windows_seconds)

    @property
    def clear_level(self) -> float:
        """The p-value below which a window keeps a started alarm."""
        return self.clear_p_value / len(self.windows_seconds)

    @property
    def longest(self) -> float:
        return self.windows_seconds[-1]


@dataclass(frozen=True)
class LearningSettings:
    """Empirical-Bayes learning of the expected report rate (Gamma–Poisson, with forgetting).

    The prior rate of a commune and category is its population share of the
    province's configured yearly rate, times the category's share of the mix,
    times ``hour_weights`` (local hour, normalised to mean 1). What is learned
    is a correction factor per category (worth ``strength`` reports of prior
    evidence) and, on top, per hour of the week (worth ``hour_strength``).
    ``memory_days`` is the time constant of the forgetting, so that a season
    is learned where reports are frequent enough. ``min_population`` gives a
    commune listed with no inhabitants a small rate rather than none (a
    single report would otherwise be infinitely improbable).

    The centre also knows its climate: the rainy season (May–September)
    brings landslides and flash floods in the mountain districts, so the
    prior of the categories in ``rainy_season`` is multiplied in
    ``rainy_months`` (assumption: about four times the dry-season rate of
    natural-disaster reports, half as much again for infrastructure). Most
    communes send too few reports for learning to find this in one season.
    """

    memory_days: float = 60.0
    strength: float = 5.0
    hour_strength: float = 5.0
    hour_weights: tuple[float, ...] = _WAKING_DAY
    min_population: int = 100
    rainy_months: frozenset[int] = frozenset({5, 6, 7, 8, 9})
    rainy_season: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"natural_disaster": 4.0, "infrastructure": 1.5})
    )

    def __post_init__(self) -> None:
        if self.memory_days <= 0:
            raise SettingsError("learning.memory_days", "must be > 0")
        for name in ("strength", "hour_strength"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"learning.{name}", "must be > 0")
        weights = self.hour_weights
        if len(weights) != 24 or min(weights) <= 0:
            raise SettingsError("learning.hour_weights", "needs 24 weights, all > 0")
        if self.min_population < 1:
            raise SettingsError("learning.min_population", "must be >= 1")
        if not all(1 <= m <= 12 for m in self.rainy_months):
            raise SettingsError("learning.rainy_months", "months are 1–12")
        unknown = sorted(set(self.rainy_season) - set(INCIDENT_CATEGORIES))
        if unknown:
            raise SettingsError("learning.rainy_season", f"unknown categories {unknown}")
        if any(f <= 0 for f in self.rainy_season.values()):
            raise SettingsError("learning.rainy_season", "factors must be > 0")

    @property
    def memory_seconds(self) -> float:
        return self.memory_days * 86400.0

    @property
    def hour_shape(self) -> tuple[float, ...]:
        mean = sum(self.hour_weights) / 24.0
        return tuple(w / mean for w in self.hour_weights)


@dataclass(frozen=True)
class IncidentDetectorSettings:
    """Everything the three field-report detectors need beyond the profile.

    ``burst``: one commune and category; windows of 15, 30 and 60 minutes (a
    landslide brings reports within the hour). ``surge``: one district and
    category over half an hour, 1 and 2 hours, counting each commune once (or
    every commune but the busiest, when that is more), and at least 3. The
    half hour calls a surge whose first reports come close together: on the
    tuning seeds 1-50 the median time to detect fell from 1354 s to 1154 s
    (1323 s to 1209 s after 28 clean days, no false surge added over 200,000
    commune-days); adding a quarter hour made it 1209 s. ``p_value`` 1e-6: a
    province of 129 communes and 7 categories judges some 10^5 windows a day,
    so false alarms stay below one every few weeks; counts being whole
    numbers, they are rarer still (about 1e-4 per commune-day measured on
    simulated rainy-season weeks). Two
    reports in a commune within the quarter-hour then suffice for a rare
    category, never one.
    A burst does not start while the rest of the commune's district sent at
    least ``shared_min_count`` reports of the category within
    ``shared_window_seconds`` (the surge detector's longest window), a count
    improbable at ``shared_p_value``: that is a surge. The level is loose on
    purpose: a surge is recognised from its first few reports, and a true
    burst elsewhere in the district at the same time is rare.
    ``heartbeat_seconds`` (5 min) re-sends an active condition well inside the
    lifecycle's 15-minute staleness; a cleared condition is re-sent for
    ``quiet_seconds`` so that a lifecycle waiting ``resolve_after_seconds`` sees
    it hold. Within a batch the detectors tick themselves every
    ``tick_seconds`` of event time, at the reports' times, as a live worker's
    ticks would: a worker catching up on a backlog reads weeks of reports at
    once, and would otherwise end bursts and raise overdue reports only at the
    batch's end. ``retention_seconds`` is how far back reports are kept for
    windows and replay deduplication; older ones are taken as already seen.
    Overdue reports: closed reports are remembered ``closed_retention_days``
    (replays of their steps change nothing); open ones are forgotten
    ``forget_overdue_days`` past their deadline (a report that is never closed
    must not keep its commune alerting forever).
    """

    burst: ScanSettings = ScanSettings((900.0, 1800.0, 3600.0), 1e-6, 2)
    surge: ScanSettings = ScanSettings((1800.0, 3600.0, 7200.0), 1e-6, 3)
    shared_window_seconds: float = 7200.0
    shared_min_count: int = 2
    shared_p_value: float = 1e-3
    learning: LearningSettings = field(default_factory=LearningSettings)
    heartbeat_seconds: float = 300.0
    quiet_seconds: float = 3600.0
    tick_seconds: float = 60.0
    retention_seconds: float = 6 * 3600.0
    closed_retention_days: float = 30.0
    forget_overdue_days: float = 90.0

    def __post_init__(self) -> None:
        for name in ("heartbeat_seconds", "tick_seconds", "closed_retention_days", "forget_overdue_days"):
            if getattr(self, name) <= 0:
                raise SettingsError(name, "must be > 0")
        if self.quiet_seconds < 0:
            raise SettingsError("quiet_seconds", "must be >= 0")
        if self.shared_window_seconds <= 0 or self.shared_min_count < 1 or not 0.0 < self.shared_p_value < 1.0:
            raise SettingsError("shared_p_value", "needs shared_window_seconds > 0, shared_min_count >= 1, p in (0, 1)")
        if self.retention_seconds < max(self.burst.longest, self.surge.longest, self.shared_window_seconds):
            raise SettingsError("retention_seconds", "must cover the longest window")
