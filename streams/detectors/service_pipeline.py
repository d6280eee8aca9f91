"""The dossiers a back office has in hand, and how soon a dossier is usually completed.

Completions do not come at a steady hourly rate: a quiet day at the counters
is a quiet day of completions later, and a holiday empties the pipeline behind
it. Against a learned rate that looks like a collapse, or the day-to-day
spread hides a real one behind wide bounds. Knowing which dossiers are in
hand, how far each is through its legal working time, and how likely a dossier
that far along is to be completed in the next working hours gives the
completions to expect *now*. Each dossier is then a coin of its own, so the
count varies less than Poisson: a back office slowed three times stands out
within a working day.

The likelihood is a completion hazard over the share of legal working time
used, constant within bins, learned as completions over exposure (dossiers
still open count too, so the slow ones are not forgotten) on top of a weak
prior: lognormal, a median of half the legal time, the profile's on-time
target by the deadline. Learning trails the judged windows, and skips the
time a backlog alert was active. Only dossiers seen submitted count, so at a
cold start the pipeline is shorter, not wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from iocsim.sim.dossiers import WorkingClock
from iocsim.streams.errors import StateError

FloatArray = npt.NDArray[np.float64]

_OLDEST = 5.0
"""Shares of the legal time after which an open dossier is taken as lost, not late."""
_LEARN_STEP = 3600.0
"""Seconds the learning horizon moves before the hazard counts them (it trails the windows by hours anyway)."""


@dataclass(frozen=True)
class Hazard:
    """Bins over the share of legal time used (the last one open-ended), and how many completions are remembered.

    Beyond ``memory`` completions, old counts weigh less, so an office that
    changes its pace for good is learned in weeks, not years.
    """

    width: float
    bins: int
    memory: float = math.inf

    @property
    def lows(self) -> FloatArray:
        return np.arange(self.bins, dtype=np.float64) * self.width

    def exposure(self, shares: FloatArray) -> FloatArray:
        """Per dossier and bin, how much of the bin lies below its share (rows: dossiers)."""
        widths = np.full(self.bins, self.width)
        widths[-1] = np.inf
        return np.clip(shares[:, None] - self.lows[None, :], 0.0, widths[None, :])

    def cumulative(self, rates: FloatArray, shares: FloatArray) -> FloatArray:
        """The cumulative hazard at each (non-negative) share, for per-bin ``rates``."""
        before = np.concatenate([[0.0], np.cumsum(rates[:-1] * self.width)])
        k = self.bin_of(shares)
        result: FloatArray = before[k] + rates[k] * (shares - k * self.width)
        return result

    def bin_of(self, shares: FloatArray) -> npt.NDArray[np.intp]:
        return np.minimum((shares / self.width).astype(np.intp), self.bins - 1)

    def prior(self, dossiers: float, median: float, on_time: float) -> tuple[FloatArray, FloatArray]:
        """(completions, exposure) per bin of ``dossiers`` lognormal dossiers: P(share <= 1) = ``on_time``."""
        sigma = -math.log(median) / NormalDist().inv_cdf(on_time)
        erfc = np.vectorize(math.erfc)

        def survival(x: FloatArray) -> FloatArray:
            shares = np.maximum(x, 1e-12)
            result: FloatArray = 0.5 * erfc((np.log(shares) - math.log(median)) / (sigma * math.sqrt(2.0)))
            return result

        lows = self.lows
        completions = survival(lows) - survival(lows + self.width)
        completions[-1] = survival(lows[-1:])[0]
        inside = lows[:, None] + (np.arange(40) + 0.5)[None, :] * (self.width / 40)
        exposure = survival(inside).mean(axis=1) * self.width
        exposure[-1] = completions[-1] * exposure[-2] / completions[-2]  # the tail at the last bin's hazard
        return dossiers * completions, dossiers * exposure


@dataclass
class DossierPipeline:
    """Open and recently completed dossiers of one back office, with the learned hazard.

    ``dossiers`` maps an item id to its times (submitted, deadline, completed
    or inf); ``work`` the same as working seconds (submitted, legal working
    seconds allowed, completed), kept because the calendar makes them costly.
    ``learned`` is the time up to which the hazard has counted them.
    """

    completions: FloatArray
    exposure: FloatArray
    dossiers: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    learned: float = -math.inf
    work: dict[str, tuple[float, float, float]] = field(default_factory=dict, repr=False)
    _table: FloatArray | None = field(default=None, repr=False)

    def submit(self, clock: WorkingClock, item_id: str, t: float, deadline: float) -> None:
        """Times are kept to the second: the state stores them as whole seconds."""
        if item_id not in self.dossiers and deadline > t:
            self._put(clock, item_id, (float(round(t)), float(round(deadline)), math.inf))

    def complete(self, clock: WorkingClock, item_id: str, t: float) -> bool:
        """Whether the dossier was seen handed in."""
        found = self.dossiers.get(item_id)
        if found is None:
            return False
        if found[2] == math.inf and t >= found[0]:
            self._put(clock, item_id, (found[0], found[1], float(max(round(t), found[0]))))
        return True

    def _put(self, clock: WorkingClock, item_id: str, times: tuple[float, float, float]) -> None:
        submitted, deadline, completed = times
        at = clock.work_at(submitted)
        allowed = max(clock.work_at(deadline) - at, 60.0)
        self._table = None
        self.dossiers[item_id] = times
        self.work[item_id] = (at, allowed, math.inf if completed == math.inf else clock.work_at(completed))

    def _arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        if self._table is None:
            self._table = np.array(list(self.work.values()), dtype=np.float64).reshape(-1, 3)
        return self._table[:, 0], self._table[:, 1], self._table[:, 2]

    def expect(
        self, hazard: Hazard, clock: WorkingClock, windows: Sequence[tuple[float, float]]
    ) -> list[tuple[int, float]]:
        """(completions seen, completions expected) in each [start, end) among the dossiers in hand."""
        if not self.work:
            return [(0, 0.0)] * len(windows)
        submitted, allowed, completed = self._arrays()
        rates = self.rates()
        out = []
        for start, end in windows:
            a, b = clock.work_at(start), clock.work_at(end)
            risk = (submitted < b) & (completed > a)
            at, span, done = submitted[risk], allowed[risk], completed[risk]
            begin = (np.maximum(a, at) - at) / span
            gained = hazard.cumulative(rates, (b - at) / span) - hazard.cumulative(rates, begin)
            out.append((int(np.count_nonzero(done <= b)), float(np.sum(-np.expm1(-gained)))))
        return out

    def rates(self) -> FloatArray:
        rates: FloatArray = self.completions / np.maximum(self.exposure, 1e-12)
        return rates

    def learn(self, hazard: Hazard, clock: WorkingClock, until: float, skip: Sequence[tuple[float, float]]) -> None:
        """Count exposure and completions up to ``until`` (outside ``skip``), then drop what is done with."""
        start = self.learned
        if until < start + _LEARN_STEP:
            return
        self.learned = until
        if not self.work:
            return
        submitted, allowed, completed = self._arrays()
        for a, b in _outside(start, until, skip):
            wa, wb = clock.work_at(a), clock.work_at(b)
            if wb <= wa:
                continue
            lo = (np.clip(wa, submitted, completed) - submitted) / allowed
            hi = (np.clip(wb, submitted, completed) - submitted) / allowed
            self.exposure += (hazard.exposure(hi) - hazard.exposure(lo)).sum(axis=0)
            done = (completed > wa) & (completed <= wb)
            if done.any():
                shares = (completed[done] - submitted[done]) / allowed[done]
                self.completions += np.bincount(hazard.bin_of(shares), minlength=hazard.bins)
        remembered = float(self.completions.sum())
        if remembered > hazard.memory:
            self.completions *= hazard.memory / remembered
            self.exposure *= hazard.memory / remembered
        horizon = clock.work_at(until)
        keep = (completed > horizon) & ((horizon - submitted) / allowed < _OLDEST)
        for item_id, kept in zip(list(self.work), keep.tolist(), strict=True):
            if not kept:
                del self.work[item_id], self.dossiers[item_id]
        self._table = None

    def to_dict(self) -> dict[str, Any]:
        """Columns of whole seconds after the earliest submission, ids after their common prefix.

        A portal has a thousand dossiers or more in hand, and the state is
        stored again after every batch that touches it.
        """
        ids = list(self.dossiers)
        prefix = _common_prefix(ids) if len(ids) > 1 else ""
        base = min((s for s, _, _ in self.dossiers.values()), default=0.0)
        times = self.dossiers.values()
        return {
            "completions": self.completions.tolist(),
            "exposure": self.exposure.tolist(),
            "learned": None if self.learned == -math.inf else self.learned,
            "prefix": prefix,
            "base": base,
            "ids": [item[len(prefix) :] for item in ids],
            "submitted": [int(s - base) for s, _, _ in times],
            "allowed": [int(d - s) for s, d, _ in times],
            "taken": [None if c == math.inf else int(c - s) for s, _, c in times],
        }

    @classmethod
    def from_dict(
        cls, where: str, data: Mapping[str, Any], hazard: Hazard, clock: Callable[[float], WorkingClock]
    ) -> DossierPipeline:
        """Read back ``to_dict``; ``clock`` gives the working clock for a time (built when first needed)."""
        try:
            completions = np.asarray(data["completions"], dtype=np.float64)
            exposure = np.asarray(data["exposure"], dtype=np.float64)
            if completions.shape != (hazard.bins,) or exposure.shape != (hazard.bins,):
                raise ValueError(f"expected {hazard.bins} hazard bins")
            learned = data["learned"]
            pipeline = cls(completions, exposure, learned=-math.inf if learned is None else float(learned))
            prefix, base = str(data["prefix"]), float(data["base"])
            columns = zip(data["ids"], data["submitted"], data["allowed"], data["taken"], strict=True)
            for item, offset, allowed, taken in columns:
                submitted = base + float(offset)
                done = math.inf if taken is None else submitted + float(taken)
                pipeline._put(clock(submitted), prefix + str(item), (submitted, submitted + float(allowed), done))
            return pipeline
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(where, f"unreadable dossier pipeline: {exc}") from exc


def _outside(start: float, end: float, skip: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of [start, end) not inside any of ``skip``."""
    parts = [(start, end)] if start < end else []
    for a, b in skip:
        parts = [piece for lo, hi in parts for piece in ((lo, min(hi, a)), (max(lo, b), hi)) if piece[0] < piece[1]]
    return parts


def _common_prefix(texts: Sequence[str]) -> str:
    """The longest prefix of every text: that of the first and last in sorted order."""
    first, last = min(texts), max(texts)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]
