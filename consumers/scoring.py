"""Scoring alerts against ground truth: precision, recall, F1 and time to detect per anomaly kind.

Works for any detector that follows the contract: an alert counts as a
detection of an injected anomaly when its kind and entity equal the truth's
and it starts firing between the anomaly's start and its end plus a grace
period. Every firing episode (fingerprint + start) is one alert. Time to
detect is the sim time from the anomaly's start to the first matching
firing transition. Times are compared to the millisecond producers round
them to: an alert raised on the very message that starts an anomaly (a
counter closing) detects it, though rounding put its time a fraction of a
millisecond before the truth's start.

An episode that matches no anomaly of its kind is a false positive, unless
an injected anomaly explains it; such episodes are counted apart, neither
detections nor false alarms, and left out of precision:
- a wider anomaly (``EXPLAINED_BY``): a category surge over a district
  raises that category's reports in every commune, so two of them in one
  commune within minutes are a burst the surge caused. The surge must cover
  the episode's district and time (start to end plus the grace period); the
  category is not compared, since alerts do not carry it.
- the aftermath of an anomaly of the same kind and entity
  (``AFTERMATH_SECONDS``): the dossiers a processing backlog slowed keep
  being completed late for days after the back office is back to pace.

Besides the rates, a score names each injected anomaly's outcome and each
false alarm: a rate says how good a detector is, the list says where to look.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from iocsim.contract import ANOMALY_KINDS, Alert, TruthEvent

DEFAULT_GRACE_SECONDS = 900.0
EXPLAINED_BY: Mapping[str, tuple[str, ...]] = {"incident_burst": ("category_surge",)}
"""Alert kind -> kinds of district-wide anomaly whose effects include alerts of that kind."""
AFTERMATH_SECONDS: Mapping[str, float] = {"processing_backlog": 7 * 86400.0}
"""Anomaly kind -> how long after its end its effects may still raise an alert of its kind (an assumption)."""
TIME_RESOLUTION_SECONDS = 1e-3
"""Producers publish event times rounded to the millisecond."""


@dataclass(frozen=True)
class KindScore:
    kind: str
    anomalies: int
    detected: int
    alerts: int
    true_alerts: int
    detect_seconds: tuple[float, ...] = ()
    explained_alerts: int = 0

    @property
    def false_alerts(self) -> int:
        return self.alerts - self.true_alerts - self.explained_alerts

    @property
    def recall(self) -> float | None:
        return self.detected / self.anomalies if self.anomalies else None

    @property
    def precision(self) -> float | None:
        judged = self.true_alerts + self.false_alerts
        return self.true_alerts / judged if judged else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def detect_percentile(self, q: float) -> float | None:
        return float(np.percentile(self.detect_seconds, q)) if self.detect_seconds else None

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "anomalies": self.anomalies,
            "detected": self.detected,
            "alerts": self.alerts,
            "true_alerts": self.true_alerts,
            "false_alerts": self.false_alerts,
            "explained_alerts": self.explained_alerts,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "detect_median_s": self.detect_percentile(50),
            "detect_p90_s": self.detect_percentile(90),
        }


@dataclass(frozen=True)
class AnomalyOutcome:
    """One injected anomaly, and how long after its start an alert of its kind and entity fired (None: missed)."""

    truth_id: str
    scenario: str
    kind: str
    entity_id: str
    start: float
    end: float
    detect_seconds: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "truth_id": self.truth_id,
            "scenario": self.scenario,
            "kind": self.kind,
            "entity_id": self.entity_id,
            "start": self.start,
            "end": self.end,
            "detected": self.detect_seconds is not None,
            "detect_s": self.detect_seconds,
        }


@dataclass(frozen=True)
class FalseAlarm:
    """A firing episode that matched no anomaly of its kind and that no injected anomaly explains."""

    kind: str
    entity_id: str
    fired_at: float

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "entity_id": self.entity_id, "fired_at": self.fired_at}


@dataclass(frozen=True)
class Score:
    kinds: tuple[KindScore, ...]
    grace_seconds: float
    unscored_alerts: Mapping[str, int] = field(default_factory=dict)
    outcomes: tuple[AnomalyOutcome, ...] = ()
    false_alarms: tuple[FalseAlarm, ...] = ()

    @property
    def missed(self) -> list[AnomalyOutcome]:
        return [o for o in self.outcomes if o.detect_seconds is None]

    def as_dict(self) -> dict[str, object]:
        return {
            "grace_seconds": self.grace_seconds,
            "kinds": [k.as_dict() for k in self.kinds],
            "unscored_alerts": dict(self.unscored_alerts),
            "anomalies": [o.as_dict() for o in self.outcomes],
            "false_alarms": [f.as_dict() for f in self.false_alarms],
        }


@dataclass(frozen=True)
class _Episode:
    kind: str
    entity_id: str
    district: str
    fired_at: float


def firing_episodes(alerts: Iterable[Alert]) -> list[_Episode]:
    """One episode per (fingerprint, starts_at): duplicates and replays collapse."""
    first: dict[tuple[str, float], _Episode] = {}
    for alert in alerts:
        details = alert.payload
        if details.status != "firing":
            continue
        key = (details.fingerprint, details.starts_at)
        episode = _Episode(details.kind, alert.entity_id, alert.district, alert.event_time)
        if key not in first or episode.fired_at < first[key].fired_at:
            first[key] = episode
    return list(first.values())


def score(truths: Iterable[TruthEvent], alerts: Iterable[Alert], grace_seconds: float = DEFAULT_GRACE_SECONDS) -> Score:
    anomalies: dict[str, list[TruthEvent]] = defaultdict(list)
    for truth in {t.event_id: t for t in truths}.values():
        anomalies[truth.payload.kind].append(truth)
    episodes: dict[str, list[_Episode]] = defaultdict(list)
    for episode in firing_episodes(alerts):
        episodes[episode.kind].append(episode)

    results = []
    outcomes: list[AnomalyOutcome] = []
    false_alarms: list[FalseAlarm] = []
    for kind in ANOMALY_KINDS:
        truths_of_kind = anomalies.get(kind, [])
        episodes_of_kind = episodes.get(kind, [])
        if not truths_of_kind and not episodes_of_kind:
            continue
        matched_episodes: set[int] = set()
        delays = []
        for truth in truths_of_kind:
            start, end = truth.payload.start, truth.payload.end + grace_seconds
            hits = [
                i
                for i, e in enumerate(episodes_of_kind)
                if e.entity_id == truth.entity_id and start - TIME_RESOLUTION_SECONDS <= e.fired_at <= end
            ]
            delay = None
            if hits:
                matched_episodes.update(hits)
                delay = max(0.0, min(episodes_of_kind[i].fired_at for i in hits) - start)
                delays.append(delay)
            outcomes.append(_outcome(truth, delay))
        wider = [t for k in EXPLAINED_BY.get(kind, ()) for t in anomalies.get(k, [])]
        aftermath = AFTERMATH_SECONDS.get(kind, 0.0)
        explained = 0
        for i, e in enumerate(episodes_of_kind):
            if i in matched_episodes:
                continue
            covered = any(_covers(t, e, grace_seconds) for t in wider)
            if covered or any(_follows(t, e, aftermath) for t in truths_of_kind):
                explained += 1
            else:
                false_alarms.append(FalseAlarm(kind, e.entity_id, e.fired_at))
        results.append(
            KindScore(
                kind=kind,
                anomalies=len(truths_of_kind),
                detected=len(delays),
                alerts=len(episodes_of_kind),
                true_alerts=len(matched_episodes),
                detect_seconds=tuple(sorted(delays)),
                explained_alerts=explained,
            )
        )
    unscored = {kind: len(e) for kind, e in episodes.items() if kind not in ANOMALY_KINDS}
    false_alarms.sort(key=lambda f: (f.fired_at, f.kind, f.entity_id))
    return Score(tuple(results), grace_seconds, unscored, tuple(outcomes), tuple(false_alarms))


def _outcome(truth: TruthEvent, delay: float | None) -> AnomalyOutcome:
    t = truth.payload
    return AnomalyOutcome(truth.event_id, t.scenario, t.kind, truth.entity_id, t.start, t.end, delay)


def merge(scores: Iterable[Score]) -> Score:
    """Scores of separate runs as one: counts add up, times to detect pool.

    Runs scored apart cannot match one run's alert with another's anomaly,
    which scoring their messages together could where two runs share an
    entity and overlapping sim times.
    """
    scores = list(scores)
    graces = {s.grace_seconds for s in scores}
    if len(graces) > 1:
        raise ValueError(f"cannot merge scores with different grace periods {sorted(graces)}")
    kinds: dict[str, list[KindScore]] = defaultdict(list)
    unscored: dict[str, int] = defaultdict(int)
    outcomes = tuple(o for s in scores for o in s.outcomes)
    false_alarms = tuple(f for s in scores for f in s.false_alarms)
    for s in scores:
        for k in s.kinds:
            kinds[k.kind].append(k)
        for kind, count in s.unscored_alerts.items():
            unscored[kind] += count
    merged = tuple(
        KindScore(
            kind=kind,
            anomalies=sum(k.anomalies for k in parts),
            detected=sum(k.detected for k in parts),
            alerts=sum(k.alerts for k in parts),
            true_alerts=sum(k.true_alerts for k in parts),
            detect_seconds=tuple(sorted(d for k in parts for d in k.detect_seconds)),
            explained_alerts=sum(k.explained_alerts for k in parts),
        )
        for kind in ANOMALY_KINDS
        if (parts := kinds.get(kind))
    )
    grace = graces.pop() if graces else DEFAULT_GRACE_SECONDS
    return Score(merged, grace, dict(unscored), outcomes, false_alarms)


def _covers(wider: TruthEvent, episode: _Episode, grace_seconds: float) -> bool:
    w = wider.payload
    return (
        wider.entity_id == episode.district
        and w.start - TIME_RESOLUTION_SECONDS <= episode.fired_at <= w.end + grace_seconds
    )


def _follows(anomaly: TruthEvent, episode: _Episode, aftermath_seconds: float) -> bool:
    end = anomaly.payload.end
    return anomaly.entity_id == episode.entity_id and end < episode.fired_at <= end + aftermath_seconds


def render_text(result: Score, listed: int = 10, zone: dt.tzinfo = dt.UTC) -> str:
    """The table per kind, then up to ``listed`` missed anomalies and false alarms, at times in ``zone``.

    All of them are in the JSON.
    """

    def fmt(value: float | None, pattern: str = "{:.2f}") -> str:
        return "-" if value is None else pattern.format(value)

    lines = [
        f"{'kind':<20} {'anomalies':>9} {'detected':>8} {'alerts':>6} {'precision':>9} {'recall':>6} {'F1':>5}"
        f" {'TTD median':>10} {'TTD p90':>8}"
    ]
    for k in result.kinds:
        median, p90 = fmt(k.detect_percentile(50), "{:.0f} s"), fmt(k.detect_percentile(90), "{:.0f} s")
        lines.append(
            f"{k.kind:<20} {k.anomalies:>9} {k.detected:>8} {k.alerts:>6} {fmt(k.precision):>9} {fmt(k.recall):>6}"
            f" {fmt(k.f1):>5} {median:>10} {p90:>8}"
        )
    explained = [k for k in result.kinds if k.explained_alerts]
    for k in explained:
        lines.append(
            f"{k.kind:<20} {'':>9} {'':>8} {k.explained_alerts:>6}   (explained by another anomaly or its"
            " aftermath: not in precision)"
        )
    for kind, count in sorted(result.unscored_alerts.items()):
        lines.append(f"{kind:<20} {'':>9} {'':>8} {count:>6}   (no injected counterpart: not scored)")
    lines.append(
        "an alert detects an anomaly of its kind and entity when it fires between the anomaly's start and "
        f"{result.grace_seconds:.0f} s after its end"
    )
    if listed > 0:
        missed = result.missed
        lines += _listing(
            "missed",
            [f"{o.kind:<20} {o.entity_id:<24} {_at(o.start, zone)} for {_minutes(o.end - o.start)}" for o in missed],
            listed,
        )
        lines += _listing(
            "false alarms",
            [f"{f.kind:<20} {f.entity_id:<24} {_at(f.fired_at, zone)}" for f in result.false_alarms],
            listed,
        )
    return "\n".join(lines)


def _listing(title: str, rows: list[str], listed: int) -> list[str]:
    if not rows:
        return []
    more = f", the first {listed}; the JSON lists all" if len(rows) > listed else ""
    return [f"{title} ({len(rows)}{more}):", *(f"  {row}" for row in rows[:listed])]


def _at(t: float, zone: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"
