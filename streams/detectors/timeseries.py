"""A streaming anomaly score for one univariate metric (brightness, motion, queue wait...).

The detector asks two questions of every new point, using only the past:

1. *Is the value outside everything seen so far?* The excess beyond the range
   ``[min, max]`` of past values, as a fraction of that range. A camera that
   goes darker than it has ever been, a queue longer than ever, is news.
2. *Is the jump from the recent level bigger than any jump seen so far?* A
   robust surprise ``z = (x - level) / spread``, where ``level`` and ``spread``
   are exponentially weighted (a memory of about ``1 / alpha`` points) and each
   update is clipped at ``clip`` spreads so that one outlier does not become the
   baseline. Its excess beyond the range of past ``z`` catches a sudden drop or
   rise that stays within the overall range of values.

Both are *novelty* measures: ordinary noise, however heavy-tailed, was seen
before and scores 0, and an excursion scores once, when it breaks the record,
not on every point of it. A record broken again within ``refractory`` points of
the previous one is the same excursion going on and its score is scaled by
``suppression``, so that an alert threshold between the two levels reports each
event once. The score is 0 with nothing new, and above 0.5 for a record,
growing with the excess (``softness`` is the excess, as a fraction of the past
range, that scores 0.75).

This is the idea of the "spatial anomaly" step of Numenta's NAB detector
applied to the value and to its surprise, plus a refractory period. On the 24
real files of the Numenta Anomaly Benchmark it scores about 62 (standard
profile; see ``benchmarks/eval_nab.py``), with these defaults for every file.
The defaults were chosen on that same corpus; neighbouring values (alpha 0.03
or 0.1, no suppression) score 56-58, so expect less on unseen data.

``update`` takes a batch; only the level/spread recursion walks the points one
by one, everything else is vectorised. Points whose time is not after the last
accepted one (replays after a restart) and non-finite values score 0 and
change nothing, so the state, a dict of a few numbers, survives at-least-once
delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np
import numpy.typing as npt

from iocsim.streams.errors import SettingsError, StateError

FloatArray = npt.NDArray[np.float64]

_MAD_TO_SIGMA = 1.2533  # mean absolute deviation of a normal variable times this is its standard deviation


@dataclass(frozen=True)
class DetectorSettings:
    """Knobs of :class:`NoveltyDetector`; the defaults are the ones evaluated on NAB."""

    alpha: float = 0.05
    clip: float = 4.0
    min_history: int = 200
    softness: float = 0.05
    refractory: int = 50
    suppression: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise SettingsError("alpha", "must be in (0, 1]")
        for name in ("clip", "softness"):
            if getattr(self, name) <= 0:
                raise SettingsError(name, "must be > 0")
        for name in ("min_history", "refractory"):
            if getattr(self, name) < 0:
                raise SettingsError(name, "must be >= 0")
        if not 0.0 <= self.suppression <= 1.0:
            raise SettingsError("suppression", "must be in [0, 1]")


@dataclass
class DetectorState:
    """Everything the detector remembers: a handful of numbers."""

    seen: int = 0
    level: float = 0.0
    spread: float = 0.0
    value_low: float = 0.0
    value_high: float = 0.0
    surprise_low: float = 0.0
    surprise_high: float = 0.0
    since_record: int = 2**31
    last_time: float = float("-inf")


class NoveltyDetector:
    """Online anomaly score in [0, 1] for one metric of one entity."""

    def __init__(self, settings: DetectorSettings | None = None, state: DetectorState | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.state = state or DetectorState()

    @property
    def baseline(self) -> float:
        """The current expected level (for alert evidence)."""
        return self.state.level

    def update(self, values: npt.ArrayLike, times: npt.ArrayLike) -> FloatArray:
        """Score a batch of points (in time order) and learn from them."""
        x_all = np.asarray(values, dtype=np.float64)
        t_all = np.asarray(times, dtype=np.float64)
        if x_all.shape != t_all.shape or x_all.ndim != 1:
            raise SettingsError("times", f"shape {t_all.shape} does not match values {x_all.shape}")
        latest_before = np.maximum.accumulate(np.concatenate(([self.state.last_time], t_all)))[:-1]
        keep = np.isfinite(x_all) & (t_all > latest_before)
        scores = np.zeros(x_all.shape)
        if not keep.any():
            return scores
        x = x_all[keep]
        s = self.state
        if s.seen == 0:
            s.level = s.value_low = s.value_high = float(x[0])
        z = self._surprise(x)
        if s.seen == 0:
            s.surprise_low = s.surprise_high = float(z[0])
        warm = s.seen + np.arange(len(x)) >= self.settings.min_history
        score = np.maximum(
            self._record_score(x, s.value_low, s.value_high), self._record_score(z, s.surprise_low, s.surprise_high)
        )
        score[~warm] = 0.0
        scores[keep] = self._suppress(score)
        s.value_low, s.value_high = min(s.value_low, float(x.min())), max(s.value_high, float(x.max()))
        s.surprise_low, s.surprise_high = min(s.surprise_low, float(z.min())), max(s.surprise_high, float(z.max()))
        s.seen += len(x)
        s.last_time = float(t_all[keep][-1])
        return scores

    def _surprise(self, x: FloatArray) -> FloatArray:
        """Robust z of each point against the level before it; updates level and spread."""
        alpha, clip, s = self.settings.alpha, self.settings.clip, self.state
        level, spread, seen = s.level, s.spread, s.seen
        z = np.empty(len(x))
        for i, value in enumerate(x.tolist()):
            scale = _MAD_TO_SIGMA * spread + 1e-9 * (abs(level) + 1.0)
            error = value - level
            z[i] = error / scale
            if seen + i > 20:
                error = max(-clip * scale, min(clip * scale, error))
            level += alpha * error
            spread += alpha * (abs(error) - spread)
        s.level, s.spread = level, spread
        return z

    def _record_score(self, f: FloatArray, low: float, high: float) -> FloatArray:
        """0 inside the past range of ``f``; above 0.5 beyond it, growing with the excess."""
        past_high = np.maximum.accumulate(np.concatenate(([high], f)))[:-1]
        past_low = np.minimum.accumulate(np.concatenate(([low], f)))[:-1]
        width = np.maximum(past_high - past_low, 1e-12)
        excess = np.maximum(np.maximum(f - past_high, past_low - f) / width, 0.0)
        score: FloatArray = np.where(excess > 0, 0.5 + 0.5 * excess / (excess + self.settings.softness), 0.0)
        return score

    def _suppress(self, score: FloatArray) -> FloatArray:
        """Scale records that follow another record within the refractory period."""
        hits = np.flatnonzero(score > 0)
        s = self.state
        if hits.size:
            gaps = np.diff(np.concatenate(([-s.since_record - 1], hits)))
            score[hits[gaps <= self.settings.refractory]] *= self.settings.suppression
            s.since_record = len(score) - 1 - int(hits[-1])
        else:
            s.since_record = min(s.since_record + len(score), 2**31)
        return score

    def to_state(self) -> dict[str, float | int]:
        return asdict(self.state)

    @classmethod
    def from_state(cls, data: Mapping[str, float | int], settings: DetectorSettings | None = None) -> NoveltyDetector:
        values: dict[str, float | int] = {}
        for spec in fields(DetectorState):
            if spec.name not in data:
                raise StateError(spec.name, "missing")
            kind = int if spec.name in ("seen", "since_record") else float
            try:
                values[spec.name] = kind(data[spec.name])
            except (TypeError, ValueError) as exc:
                raise StateError(spec.name, f"{data[spec.name]!r} is not a number") from exc
        return cls(settings, DetectorState(**values))  # type: ignore[arg-type]
