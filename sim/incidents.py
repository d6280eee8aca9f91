"""Citizen field reports ("phản ánh hiện trường") and every step of their handling.

People report through the Điện Biên Smart app; the IOC forwards each report
to the agency for its category, which takes it up and resolves it (or rejects
it as a duplicate or out of scope). Each step is one ``IncidentReport`` keyed
by the report id, so a consumer can follow a report and find the overdue ones.

Arrivals are a non-homogeneous Poisson process per commune, drawn a chunk of
time bins at a time: one Poisson total per commune and chunk, spread over bins
and categories in proportion to their rates. That is the same process as a
draw per bin, and it makes a province-year a matter of seconds.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import numpy as np

from iocsim.contract import (
    INCIDENT_CATEGORIES,
    INCIDENT_REPORTS,
    IncidentCategory,
    IncidentDetails,
    IncidentReport,
    IncidentStatus,
)
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.incident_lifecycle import LifecyclePlanner, OfficeClock
from iocsim.sim.incident_rates import ArrivalModel, FloatArray, Surge
from iocsim.sim.incident_settings import IncidentSettings
from iocsim.sim.incident_texts import load_texts
from iocsim.sim.profiles import Profile
from iocsim.sim.scenario import Scenario
from iocsim.sim.seeding import entity_rng

FEED = "incidents"


@dataclass(frozen=True)
class _Report:
    """A report as drawn at arrival, with its whole planned lifecycle."""

    received_at: float
    source: int
    order: int
    commune: int
    category: IncidentCategory
    lat: float
    lon: float
    text: str
    steps: list[tuple[IncidentStatus, float]]


class IncidentFeed:
    """The ``ioc.incidents.reports`` feed of a profile and scenario."""

    topic = INCIDENT_REPORTS

    def __init__(
        self, profile: Profile, scenario: Scenario, seed: int, settings: IncidentSettings | None = None
    ) -> None:
        self.profile = profile
        self.scenario = scenario
        self.seed = seed
        self.settings = settings = settings or IncidentSettings()
        self.calendar = ProvinceCalendar(profile.calendar)
        self.model = ArrivalModel(profile, scenario, settings.shape, self.calendar, (settings.burst, settings.surge))
        self.texts = load_texts(settings.texts)
        self._planner = LifecyclePlanner(settings.lifecycle, OfficeClock(self.calendar))
        self._agencies = {
            (category, d.id): self.texts.agency(category, d)
            for category in INCIDENT_CATEGORIES
            for d in profile.districts
        }

    def events(self) -> Iterator[IncidentReport]:
        """Every step of every report with event_time before the scenario's end, in time order."""
        communes = self.model.communes
        commune_rngs = [entity_rng(self.seed, FEED, c.id) for c in communes]
        surge_rngs = [entity_rng(self.seed, FEED, f"{s.kind}#{s.index}", s.entity_id) for s in self.model.surges]
        pending: list[tuple[float, int, str, int, _Report]] = []
        seq = tiebreak = 0
        base, district_index = self.model.base, self.model.district_index
        for edges, lengths, chunk_end in self._chunks(self.scenario.start, self.scenario.end):
            factors = self.model.factors(edges + lengths / 2)
            weights = factors * lengths[:, None, None]
            district_totals = weights.sum(axis=(0, 2))
            cumulative = [np.cumsum(w.ravel()) for w in weights.transpose(1, 0, 2)]
            means = base * district_totals[district_index]
            reports: list[_Report] = []
            for c, rng in enumerate(commune_rngs):
                count = int(rng.poisson(means[c]))
                if count:
                    reports += self._draw(rng, c, c, count, cumulative[district_index[c]], edges, edges + lengths)
            for surge, rng in zip(self.model.surges, surge_rngs, strict=True):
                reports += self._draw_surge(rng, len(communes) + surge.index, surge, edges, lengths, factors)
            reports.sort(key=lambda r: (r.received_at, r.source, r.order))
            for report in reports:
                seq += 1
                for step, (_, at) in enumerate(report.steps):
                    heapq.heappush(pending, (at, tiebreak, f"PA-{seq:06d}", step, report))
                    tiebreak += 1
            while pending and pending[0][0] < chunk_end:
                at, _, report_id, step, report = heapq.heappop(pending)
                yield self._message(report_id, report, step)

    def expected_counts(self, start: float | None = None, end: float | None = None) -> FloatArray:
        """Expected received reports per (commune, category) over [start, end), anomalies included."""
        total = np.zeros((len(self.model.communes), len(INCIDENT_CATEGORIES)))
        start = self.scenario.start if start is None else start
        for edges, lengths, _ in self._chunks(start, self.scenario.end if end is None else end):
            factors = self.model.factors(edges + lengths / 2)
            per_district = (factors * lengths[:, None, None]).sum(axis=0)
            total += self.model.base[:, None] * per_district[self.model.district_index]
            for surge in self.model.surges:
                extra, _, _ = surge.extra(edges, lengths, factors)
                total[surge.communes, surge.category] += extra.sum(axis=0)
        return total

    def _chunks(self, start: float, end: float) -> Iterator[tuple[FloatArray, FloatArray, float]]:
        bin_seconds, chunk_seconds = self.settings.bin_seconds, self.settings.chunk_seconds
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(_ms(chunk_start + chunk_seconds), end)
            bins = math.ceil((chunk_end - chunk_start) / bin_seconds)
            edges = chunk_start + bin_seconds * np.arange(bins, dtype=np.float64)
            lengths = np.minimum(edges + bin_seconds, chunk_end) - edges
            yield edges, lengths, chunk_end
            chunk_start = chunk_end

    def _draw(
        self,
        rng: np.random.Generator,
        source: int,
        commune: int,
        count: int,
        cumulative: FloatArray,
        lo: FloatArray,
        hi: FloatArray,
    ) -> list[_Report]:
        """``count`` reports of one source, spread over (bin, category) cells by their cumulative weights."""
        picks = rng.random(count) * cumulative[-1]
        cells = np.minimum(np.searchsorted(cumulative, picks, side="right"), cumulative.size - 1)
        bins, categories = np.divmod(cells, len(INCIDENT_CATEGORIES))
        times = lo[bins] + rng.random(count) * (hi[bins] - lo[bins])
        order = np.argsort(times, kind="stable")
        return [
            self._report(rng, source, i, commune, _category(int(categories[j])), float(times[j]))
            for i, j in enumerate(order)
        ]

    def _draw_surge(
        self,
        rng: np.random.Generator,
        source: int,
        surge: Surge,
        edges: FloatArray,
        lengths: FloatArray,
        factors: FloatArray,
    ) -> list[_Report]:
        extra, lo, hi = surge.extra(edges, lengths, factors)
        reports: list[_Report] = []
        for j, commune in enumerate(surge.communes):
            mean = float(extra[:, j].sum())
            count = int(rng.poisson(mean)) if mean > 0 else 0
            if count:
                cells = np.zeros((edges.size, len(INCIDENT_CATEGORIES)))
                cells[:, surge.category] = extra[:, j]
                reports += self._draw(rng, source, int(commune), count, np.cumsum(cells.ravel()), lo, hi)
        return reports

    def _report(
        self, rng: np.random.Generator, source: int, order: int, c: int, category: IncidentCategory, t: float
    ) -> _Report:
        commune, district = self.model.communes[c], self.model.district_of[c]
        received_at = _ms(t)
        jitter = self.settings.location_jitter_deg
        d_lat, d_lon = np.clip(rng.normal(0.0, jitter, 2), -3 * jitter, 3 * jitter)
        text = self.texts.render(rng, category, commune.name, district, self.calendar.local(received_at))
        steps = [(status, _ms(at)) for status, at in self._planner.plan(rng, category, received_at)]
        return _Report(
            received_at=received_at,
            source=source,
            order=order,
            commune=c,
            category=category,
            lat=round(min(90.0, max(-90.0, commune.lat + float(d_lat))), 5),
            lon=round(min(180.0, max(-180.0, commune.lon + float(d_lon))), 5),
            text=text,
            steps=steps,
        )

    def _message(self, report_id: str, report: _Report, step: int) -> IncidentReport:
        status, at = report.steps[step]
        district = self.model.district_of[report.commune]
        handled_by_agency = step > 0 and report.steps[1][0] == "assigned"
        return IncidentReport(
            event_id=f"{report_id}-{status}",
            entity_id=report_id,
            district=district.id,
            commune=self.model.communes[report.commune].id,
            event_time=at,
            payload=IncidentDetails(
                status=status,
                category=report.category,
                lat=report.lat,
                lon=report.lon,
                text=report.text,
                received_at=report.received_at,
                deadline=_ms(self._planner.deadline(report.category, report.received_at)),
                agency=self._agencies[report.category, district.id] if handled_by_agency else None,
            ),
        )


def _category(index: int) -> IncidentCategory:
    return cast(IncidentCategory, INCIDENT_CATEGORIES[index])


def _ms(t: float) -> float:
    """To the millisecond; rounding is monotonic, so with chunk bounds on whole
    milliseconds no time rounds into an earlier chunk."""
    return round(float(t), 3)
