"""Knobs of the public-service detectors, with the reason behind each default.

DOMAIN.md gives yearly dossier totals, the online share, the on-time target
and office hours; nothing about hourly rhythms, queues or how fast a back
office works. So the profile only sets the *level* of each prior, every
shape is learned, and every number below is an assumption unless it says
otherwise. Levels are per test: a test runs at every message, so
``level`` is small enough that a few clean weeks of a dozen entities hardly
ever reach it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iocsim.streams.errors import SettingsError

# Online submissions follow the waking day with an evening tail (assumption;
# citizens file from home after work as well as from the office).
_WAKING_DAY = (
    0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.0, 1.5, 1.6, 1.6, 1.3,
    0.9, 1.1, 1.5, 1.5, 1.4, 1.1, 0.8, 0.8, 0.8, 0.7, 0.5, 0.25,
)  # fmt: skip


# Walk-ins crowd the morning: people from remote communes travel in early and
# go home the same day (assumption; only its shape matters, the level is the
# profile's). Hours the offices are closed are never used.
_COUNTER_DAY = (
    1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.6, 1.6, 1.3, 0.8,
    1.0, 0.7, 1.0, 0.9, 0.6, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
)  # fmt: skip


@dataclass(frozen=True)
class RateSettings:
    """Empirical-Bayes learning of an hourly rate (Gamma-Poisson, with forgetting).

    Three levels share strength: a *level* factor on the profile's prior
    (worth ``level_weight`` expected events) adapts within the first day; a
    *pooled* rate per hour of a workday or a day off (prior worth
    ``pooled_weight_hours`` hours of data) learns the daily rhythm within days;
    a *fine* rate per hour of the week (Monday's rush) or of a holiday leans on
    the pooled one (worth at most ``fine_weight_hours``) until it has its own
    data. Memories count hours of exposure of a bucket (a fine bucket gets one
    hour a week). ``max_shape`` caps the certainty of any rate: real days differ
    by more than Poisson noise (a cap of 50 allows about ±15 % day to day).
    """

    level_weight: float = 20.0
    level_memory_days: float = 28.0
    pooled_weight_hours: float = 2.0
    pooled_memory_hours: float = 40.0
    fine_weight_hours: float = 4.0
    fine_memory_hours: float = 8.0
    max_shape: float = 50.0

    def __post_init__(self) -> None:
        for name in (
            "level_weight",
            "level_memory_days",
            "pooled_weight_hours",
            "pooled_memory_hours",
            "fine_weight_hours",
            "fine_memory_hours",
            "max_shape",
        ):
            if not getattr(self, name) > 0:
                raise SettingsError(f"rates.{name}", "must be > 0")


@dataclass(frozen=True)
class QueueSettings:
    """Counter closures and demand surges at one office.

    Closure: during office hours, no counter open, or at most
    ``closure_fraction`` of the usual counters while more people wait than
    counters are open. The usual number is learned (an average over about
    ``counters_memory`` readings, trusted after ``min_counter_readings``); the
    profile's installed counters are not it, since officers also work the back office.
    Surge: tickets issued in any of ``windows_seconds`` (wall time, expected
    counts over opening time) improbable at ``level`` and at least
    ``surge_ratio`` times the expected count, with the counters at their usual
    level. It ends once no window is improbable at ``release_level`` and
    ``release_ratio`` any more. ``walkins_per_dossier`` scales the profile's
    counter dossiers into tickets for the prior: assumption, about 3 in 10
    walk-ins only ask or collect a result; the learned level corrects it
    within hours. The prior shapes the office's level by ``hour_weights``
    (an assumption: mornings busier), and no surge is called before
    ``warm_up_hours`` of opening time have been learned, so that a detector
    started cold does not take the first rush hour for a surge.
    Windows are half an hour and longer: a 10-minute cluster of tickets
    happens at some small office every few days by chance alone, while a
    surge lasts most of a session; with ``level`` 1e-5 the clean weeks of
    eleven offices raise about none (thirty clean four-week runs of the
    province raised six in warm detectors, one per 1,800 office-days). The
    profile's level, shaped by hour, is worth ``rates.pooled_weight_hours``
    (8) hours of tickets: a few tickets an hour are too few to learn a rate
    from in a day or two, and a rate known only that well hides a surge of
    three to five times at a small office.
    """

    windows_seconds: tuple[float, ...] = (1800.0, 3600.0, 5400.0)
    level: float = 1e-5
    release_level: float = 1e-3
    surge_ratio: float = 2.0
    release_ratio: float = 1.5
    min_count: int = 6
    closure_fraction: float = 0.5
    counters_memory: float = 50.0
    min_counter_readings: int = 20
    walkins_per_dossier: float = 1.4
    hour_weights: tuple[float, ...] = _COUNTER_DAY
    warm_up_hours: float = 1.0
    rates: RateSettings = field(default_factory=lambda: RateSettings(pooled_weight_hours=8.0, fine_weight_hours=12.0))

    def __post_init__(self) -> None:
        _check_windows("queue.windows_seconds", self.windows_seconds)
        _check_levels("queue", self.level, self.release_level)
        if not self.surge_ratio >= self.release_ratio >= 1.0:
            raise SettingsError("queue.release_ratio", "needs surge_ratio >= release_ratio >= 1")
        if self.min_count < 1 or self.min_counter_readings < 1:
            raise SettingsError("queue.min_count", "min_count and min_counter_readings must be >= 1")
        if not 0.0 < self.closure_fraction < 1.0:
            raise SettingsError("queue.closure_fraction", "must be in (0, 1)")
        if not self.counters_memory >= 1.0 or not self.walkins_per_dossier > 0.0:
            raise SettingsError("queue.counters_memory", "counters_memory must be >= 1, walkins_per_dossier > 0")
        if len(self.hour_weights) != 24 or min(self.hour_weights) <= 0:
            raise SettingsError("queue.hour_weights", "needs 24 weights, all > 0")
        if self.warm_up_hours < 0:
            raise SettingsError("queue.warm_up_hours", "must be >= 0")

    @property
    def longest(self) -> float:
        return self.windows_seconds[-1]


@dataclass(frozen=True)
class PortalSettings:
    """Silence of the online portal: no submission where several were due.

    The chance of no submission over the silence, from the learned rates with
    their uncertainty, must fall below ``level`` while at least
    ``min_expected`` were due. The prior spreads the profile's yearly online
    dossiers over ``hour_weights`` (local hour) and ``day_off_weight``
    (weekends and holidays relative to workdays); both are assumptions that
    learning replaces within days. Each gap between submissions is a chance
    for a false alarm, so at ``level`` 1e-5 and Điện Biên's 74,000 online
    dossiers a year expect about one a year (thirty clean four-week runs
    raised three); 1e-6 makes it one a decade and adds about six minutes to
    every detection.
    """

    level: float = 1e-5
    min_expected: float = 5.0
    hour_weights: tuple[float, ...] = _WAKING_DAY
    day_off_weight: float = 0.4
    rates: RateSettings = field(default_factory=lambda: RateSettings(pooled_weight_hours=0.5))

    def __post_init__(self) -> None:
        if not 0.0 < self.level < 1.0:
            raise SettingsError("portal.level", "must be in (0, 1)")
        if self.min_expected < 0:
            raise SettingsError("portal.min_expected", "must be >= 0")
        if len(self.hour_weights) != 24 or min(self.hour_weights) <= 0:
            raise SettingsError("portal.hour_weights", "needs 24 weights, all > 0")
        if not self.day_off_weight > 0:
            raise SettingsError("portal.day_off_weight", "must be > 0")


@dataclass(frozen=True)
class BacklogSettings:
    """A back office falling behind: completions collapse, or too many come late.

    Completions happen in working time, so their rate is per opening hour
    (prior: the entity's yearly dossiers over the year's opening hours). A
    back office works at a steady pace whatever the hour, and the yearly
    volume is official, so the prior is worth 16 opening hours of
    completions (``rates``) and the learned rate may be trusted to about
    ±10 % (``max_shape`` 100): a small office's day of two completions an
    hour could not otherwise tell a pace slowed three or four times from chance.
    Collapse: completions in any of ``windows_hours`` (working hours back from
    now) improbably few at ``level`` and at most ``collapse_ratio`` of the
    expected count, with at least ``min_expected`` due. Late: among the last
    n completions (each n of ``on_time_counts``, none older than
    ``on_time_horizon_hours`` working hours), more late ones than the profile's
    on-time target allows, at ``level``. Overdue: the same test on the dossiers
    whose deadline passed in each of ``overdue_hours`` (working hours back),
    counting those not completed by their deadline: a dossier is late as soon
    as its deadline passes. Stalled: the collapse test on the dossiers seen
    submitted, against the completions their progress makes likely (see
    ``service_pipeline``; the completion hazard over the share of legal time
    used has ``hazard_bins`` bins of ``hazard_bin_share``, and a lognormal
    prior worth ``hazard_prior_dossiers`` with a median share
    ``hazard_prior_median``; it remembers about ``hazard_memory_dossiers``
    completions). Once ``rate_until_seen`` of the completions
    are of dossiers seen handed in, the stalled test judges collapses alone:
    the hourly rate knows nothing of holidays and quiet days in the pipeline,
    and is kept for a cold start. The alert ends when none holds at
    ``release_level``. Without messages it is re-judged every ``check_seconds``
    (a backlog builds over hours).
    """

    windows_hours: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0)
    level: float = 1e-5
    release_level: float = 1e-3
    collapse_ratio: float = 0.5
    min_expected: float = 8.0
    on_time_counts: tuple[int, ...] = (25, 50, 100, 200)
    on_time_horizon_hours: float = 24.0
    overdue_hours: tuple[float, ...] = (8.0, 16.0, 24.0)
    check_seconds: float = 300.0
    rates: RateSettings = field(
        default_factory=lambda: RateSettings(pooled_weight_hours=16.0, pooled_memory_hours=80.0, max_shape=100.0)
    )
    hazard_bin_share: float = 0.05
    hazard_bins: int = 60
    hazard_prior_dossiers: float = 20.0
    hazard_prior_median: float = 0.5
    hazard_memory_dossiers: float = 2000.0
    rate_until_seen: float = 0.8

    def __post_init__(self) -> None:
        _check_windows("backlog.windows_hours", self.windows_hours)
        _check_windows("backlog.overdue_hours", self.overdue_hours)
        _check_levels("backlog", self.level, self.release_level)
        if not 0.0 < self.collapse_ratio < 1.0:
            raise SettingsError("backlog.collapse_ratio", "must be in (0, 1)")
        if self.min_expected < 0:
            raise SettingsError("backlog.min_expected", "must be >= 0")
        counts = self.on_time_counts
        if not counts or min(counts) < 1 or tuple(sorted(counts)) != counts:
            raise SettingsError("backlog.on_time_counts", "needs increasing counts >= 1")
        positive = (
            "on_time_horizon_hours",
            "check_seconds",
            "hazard_bin_share",
            "hazard_prior_dossiers",
            "hazard_memory_dossiers",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise SettingsError(f"backlog.{name}", "must be > 0")
        if self.hazard_bins < 2:
            raise SettingsError("backlog.hazard_bins", "must be >= 2")
        if not 0.0 < self.rate_until_seen <= 1.0:
            raise SettingsError("backlog.rate_until_seen", "must be in (0, 1]")
        if not 0.0 < self.hazard_prior_median < 1.0:
            raise SettingsError("backlog.hazard_prior_median", "must be in (0, 1)")


@dataclass(frozen=True)
class ServiceDetectorSettings:
    """Everything the public-service detectors need beyond the profile.

    ``heartbeat_seconds`` (5 min) repeats an active condition well inside the
    alert lifecycle's 15-minute staleness; a cleared one is repeated for
    ``quiet_seconds`` so that a lifecycle waiting before it resolves sees it
    hold. ``retention_seconds`` is how long event ids are kept to recognise a
    replay (a restarted worker re-reads minutes, not hours); anything older is
    taken as seen. ``tick_seconds`` spaces re-evaluations without messages.
    """

    queue: QueueSettings = field(default_factory=QueueSettings)
    portal: PortalSettings = field(default_factory=PortalSettings)
    backlog: BacklogSettings = field(default_factory=BacklogSettings)
    heartbeat_seconds: float = 300.0
    quiet_seconds: float = 900.0
    retention_seconds: float = 2 * 3600.0
    tick_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in ("heartbeat_seconds", "tick_seconds"):
            if not getattr(self, name) > 0:
                raise SettingsError(name, "must be > 0")
        if self.quiet_seconds < 0:
            raise SettingsError("quiet_seconds", "must be >= 0")
        if self.retention_seconds < self.queue.longest:
            raise SettingsError("retention_seconds", "must cover the longest queue window")


def _check_windows(name: str, windows: tuple[float, ...]) -> None:
    if not windows or min(windows) <= 0 or tuple(sorted(windows)) != windows:
        raise SettingsError(name, "needs increasing windows, all > 0")


def _check_levels(name: str, level: float, release_level: float) -> None:
    if not 0.0 < level <= release_level < 1.0:
        raise SettingsError(f"{name}.release_level", "needs 0 < level <= release_level < 1")
