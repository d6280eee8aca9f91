"""Numenta Anomaly Benchmark (NAB v1.1) scoring, reimplemented with numpy.

The rules follow NAB's own sweeper: every row gets a weight once, from its
position relative to the labelled windows, and a threshold turns anomaly scores
into detections.

* Inside a window only the earliest detection counts; it is worth
  ``tp_weight * S(-(right - i + 1) / width) / S(-1)`` where ``S(x) = 2 / (1 + e^(5x)) - 1``
  is NAB's scaled sigmoid, so a detection on the left edge is worth exactly ``tp_weight``.
* A window with no detection costs ``fn_weight``.
* Each detection outside a window costs ``fp_weight``; after a window it is
  weighted by ``S(|i - right| / (width - 1))`` so that one just past the right
  edge costs almost nothing (and ``S`` is -1 from 3 window widths on).
* The probation period (first 15% of the rows, at most 750) is not scored.

The corpus is scored with one threshold for all files (``score >= threshold``
detects), chosen by an exhaustive sweep over every distinct score (NAB's
optimiser climbs to a local optimum of the same function). The normalised score
is ``100 (raw - null) / (perfect - null)``, where null detects nothing and
perfect is every labelled window detected on its left edge.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PROBATION_PERCENT = 0.15
OUTSIDE = -1
PROBATION = -2


@dataclass(frozen=True)
class CostMatrix:
    """Weights of one NAB application profile."""

    tp_weight: float
    fp_weight: float
    fn_weight: float


@dataclass(frozen=True)
class LabelledSeries:
    """One NAB data file with its anomaly windows as inclusive row ranges."""

    name: str
    times: npt.NDArray[np.datetime64]
    values: FloatArray
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class FileScore:
    """Score of one file at one threshold."""

    name: str
    score: float
    windows: int
    detected: int
    false_positives: int


def scaled_sigmoid(position: FloatArray) -> FloatArray:
    """NAB's ``2 * sigmoid(-5 x) - 1``, clamped to -1 from x >= 3."""
    out: FloatArray = 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0
    return np.where(position >= 3.0, -1.0, out)


def probation_length(rows: int, percent: float = PROBATION_PERCENT) -> int:
    return int(min(math.floor(percent * rows), percent * 5000))


def load_profiles(path: Path) -> dict[str, CostMatrix]:
    raw = json.loads(path.read_text())
    return {
        name: CostMatrix(
            float(p["CostMatrix"]["tpWeight"]), float(p["CostMatrix"]["fpWeight"]), float(p["CostMatrix"]["fnWeight"])
        )
        for name, p in raw.items()
    }


def load_series(csv_path: Path, name: str, window_limits: list[list[str]]) -> LabelledSeries:
    text = np.loadtxt(csv_path, delimiter=",", skiprows=1, dtype=str)
    times = np.array([t.replace(" ", "T") for t in text[:, 0]], dtype="datetime64[s]")
    windows = []
    for start, end in window_limits:
        t1, t2 = (np.datetime64(t.replace(" ", "T")[:19], "s") for t in (start, end))
        inside = np.flatnonzero((times >= t1) & (times <= t2))
        if inside.size:
            windows.append((int(inside[0]), int(inside[-1])))
    return LabelledSeries(name, times, text[:, 1].astype(np.float64), tuple(windows))


def load_corpus(nab_dir: Path) -> list[LabelledSeries]:
    """Every file named in ``labels/combined_windows.json``, in sorted order."""
    limits: dict[str, list[list[str]]] = json.loads((nab_dir / "labels" / "combined_windows.json").read_text())
    return [load_series(nab_dir / "data" / name, name, limits[name]) for name in sorted(limits)]


def row_weights(series: LabelledSeries, cost: CostMatrix) -> tuple[FloatArray, IntArray]:
    """Each row's worth if detected, and its window index (OUTSIDE, PROBATION)."""
    rows = len(series.values)
    index = np.arange(rows, dtype=np.float64)
    weight = np.full(rows, -cost.fp_weight)
    window_of = np.full(rows, OUTSIDE, dtype=np.int64)
    max_tp = float(scaled_sigmoid(np.array([-1.0]))[0])
    bounds = [*series.windows, (rows, rows)]
    for k, (left, right) in enumerate(series.windows):
        width = float(right - left + 1)
        inside = slice(left, right + 1)
        weight[inside] = scaled_sigmoid(-(right - index[inside] + 1) / width) * cost.tp_weight / max_tp
        window_of[inside] = k
        after = slice(right + 1, bounds[k + 1][0])
        weight[after] = scaled_sigmoid(np.abs(right - index[after]) / max(width - 1, 1.0)) * cost.fp_weight
    window_of[: probation_length(rows)] = PROBATION
    return weight, window_of


def score_file(series: LabelledSeries, scores: FloatArray, threshold: float, cost: CostMatrix) -> FileScore:
    weight, window_of = row_weights(series, cost)
    detected = scores >= threshold
    false_positive = detected & (window_of == OUTSIDE)
    total = float(weight[false_positive].sum())
    scored_windows = [k for k in range(len(series.windows)) if np.any(window_of == k)]
    hits = 0
    for k in scored_windows:
        rows = np.flatnonzero(detected & (window_of == k))
        if rows.size:
            hits += 1
            total += float(weight[rows[0]])
        else:
            total -= cost.fn_weight
    return FileScore(series.name, total, len(scored_windows), hits, int(false_positive.sum()))


def null_score(corpus: list[LabelledSeries], cost: CostMatrix) -> float:
    return -cost.fn_weight * sum(len({int(k) for k in row_weights(s, cost)[1]} - {OUTSIDE, PROBATION}) for s in corpus)


def perfect_score(corpus: list[LabelledSeries], cost: CostMatrix) -> float:
    return cost.tp_weight * sum(len(s.windows) for s in corpus)


def normalised(raw: float, null: float, perfect: float) -> float:
    return 100.0 * (raw - null) / (perfect - null)


def sweep_thresholds(
    corpus: list[LabelledSeries], scores: list[FloatArray], cost: CostMatrix
) -> tuple[FloatArray, FloatArray]:
    """Raw corpus score at every distinct threshold, highest threshold first.

    Lowering the threshold past a row adds its FP weight, or, for the first
    (earliest) detection of a window so far, replaces the window's current value
    (initially ``-fn_weight``) by the larger TP weight; both are computed as
    per-row increments over all rows sorted by descending score.
    """
    all_scores, increments = [], []
    for series, file_scores in zip(corpus, scores, strict=True):
        weight, window_of = row_weights(series, cost)
        scored = window_of != PROBATION
        s, w, k = file_scores[scored], weight[scored], window_of[scored]
        inc = np.where(k == OUTSIDE, w, 0.0)
        for window in np.unique(k[k >= 0]):
            rows = np.flatnonzero(k == window)
            order = rows[np.argsort(-s[rows], kind="stable")]
            best = np.maximum.accumulate(np.concatenate(([-cost.fn_weight], w[order])))
            inc[order] = np.diff(best)
        all_scores.append(s)
        increments.append(inc)
    s = np.concatenate(all_scores)
    order = np.argsort(-s, kind="stable")
    s, running = s[order], np.cumsum(np.concatenate(increments)[order])
    last_of_value = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    thresholds = np.concatenate(([np.inf], s[last_of_value]))
    raw = null_score(corpus, cost) + np.concatenate(([0.0], running[last_of_value]))
    return thresholds, raw


def best_threshold(corpus: list[LabelledSeries], scores: list[FloatArray], cost: CostMatrix) -> tuple[float, float]:
    """The threshold with the highest raw corpus score (the highest such threshold on ties)."""
    thresholds, raw = sweep_thresholds(corpus, scores, cost)
    best = int(np.argmax(raw))
    return float(thresholds[best]), float(raw[best])


@dataclass(frozen=True)
class HeldOut:
    """A leave-one-file-out score: each file judged with the choice made on the other files alone."""

    raw: float
    choices: tuple[int, ...]
    thresholds: tuple[float, ...]


def held_out(corpus: list[LabelledSeries], candidates: list[list[FloatArray]], cost: CostMatrix) -> HeldOut:
    """Leave one file out: pick the candidate and threshold best on the rest, score the file left out.

    ``candidates`` holds, per candidate detector (a setting), its scores for
    every file. With one candidate only the threshold is chosen without the
    file; with several the choice of setting is too, so the result estimates
    what the whole tuning procedure would score on a file it never saw.
    """
    raw, choices, thresholds = 0.0, [], []
    for left_out, series in enumerate(corpus):
        rest = [s for i, s in enumerate(corpus) if i != left_out]
        best: tuple[float, int, float] | None = None
        for k, scores in enumerate(candidates):
            threshold, rest_raw = best_threshold(rest, [x for i, x in enumerate(scores) if i != left_out], cost)
            if best is None or rest_raw > best[0]:
                best = (rest_raw, k, threshold)
        assert best is not None, "no candidates"
        _, k, threshold = best
        raw += score_file(series, candidates[k][left_out], threshold, cost).score
        choices.append(k)
        thresholds.append(threshold)
    return HeldOut(raw, tuple(choices), tuple(thresholds))
