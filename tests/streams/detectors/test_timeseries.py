from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocsim.streams.detectors.timeseries import DetectorSettings, NoveltyDetector
from iocsim.streams.errors import SettingsError, StateError

REPO = Path(__file__).resolve().parents[3]
NAB = REPO.parent / "shared" / "data" / "NAB"


def load_benchmark(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ns = load_benchmark("nab_score")


def noise(n: int, seed: int = 7, sd: float = 1.0, mean: float = 50.0) -> np.ndarray:
    return mean + sd * np.random.default_rng(seed).standard_normal(n)


def run(values: np.ndarray, detector: NoveltyDetector | None = None) -> np.ndarray:
    return (detector or NoveltyDetector()).update(values, np.arange(len(values), dtype=float) * 60.0)


# --- detector ------------------------------------------------------------------


def test_scores_are_in_unit_interval_and_zero_while_warming_up() -> None:
    scores = run(noise(1000))
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    assert not scores[: DetectorSettings().min_history].any()


def test_spike_outscores_everything_else() -> None:
    values = noise(1000)
    values[800] += 12.0
    scores = run(values)
    assert scores[800] > 0.9
    assert np.argmax(scores) == 800
    assert scores[801:850].max() < 0.5
    assert not np.any((scores[801:] > 0.5) & (run(noise(1000))[801:] <= 0.5))


HOUR = 3600.0


def weekly(weeks: int = 6, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Hourly values with a daily cycle, weaker at weekends, and noise; and their times."""
    hours = np.arange(weeks * 168)
    day = 20.0 * np.sin(2 * np.pi * (hours % 24) / 24)
    weekend = (hours // 24) % 7 >= 5
    values = 50.0 + np.where(weekend, 0.3, 1.0) * day + np.random.default_rng(seed).standard_normal(len(hours))
    return values, hours * HOUR


def records(scores: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(scores > 0.5)]


WITHOUT_WEEK = DetectorSettings(season_seconds=0.0)


def test_a_day_unlike_the_same_day_last_week_is_caught_by_the_weekly_question() -> None:
    values, times = weekly()
    friday = 4 * 168 + 4 * 24
    values[friday : friday + 24] = noise(24, seed=9)
    assert values[:friday].min() < values[friday : friday + 24].min() < values[friday : friday + 24].max() < 60.0
    with_week = records(NoveltyDetector().update(values, times))
    without = records(NoveltyDetector(WITHOUT_WEEK).update(values, times))
    assert [i for i in with_week if friday <= i < friday + 24]
    assert not [i for i in without if friday <= i < friday + 24]


def test_the_weekly_question_adds_nothing_where_the_week_repeats_or_explains_nothing() -> None:
    values, times = weekly()
    assert records(NoveltyDetector().update(values, times)) == records(
        NoveltyDetector(WITHOUT_WEEK).update(values, times)
    )
    flat, hourly = noise(2000, seed=3), np.arange(2000) * HOUR
    assert np.array_equal(NoveltyDetector().update(flat, hourly), NoveltyDetector(WITHOUT_WEEK).update(flat, hourly))


def test_a_point_whose_week_before_is_missing_is_not_compared() -> None:
    values, times = weekly()
    gap = slice(2 * 168, 2 * 168 + 24)
    detector = NoveltyDetector()
    detector.update(np.delete(values, gap), np.delete(times, gap))
    assert detector.state.season_seen == len(values) - 24 - 168 - 24


def test_the_points_kept_to_look_back_a_week_are_bounded() -> None:
    values, times = weekly(weeks=3)
    detector = NoveltyDetector()
    detector.update(values, times)
    assert len(detector.state.past_times) == 169
    capped = NoveltyDetector(DetectorSettings(season_points=100))
    capped.update(values, times)
    assert len(capped.state.past_times) == 100


def test_a_continuing_excursion_is_suppressed_within_the_refractory_period() -> None:
    values = np.concatenate([noise(600), 60.0 + np.arange(40.0)])
    scores = run(values)
    assert scores[600] > 0.5
    assert 0.0 < scores[610] < 0.5
    unsuppressed = run(values, NoveltyDetector(DetectorSettings(suppression=1.0)))
    assert unsuppressed[610] > 0.5


def test_score_depends_only_on_the_past() -> None:
    values = noise(900)
    values[700:] += 5.0
    full = run(values)
    assert np.array_equal(run(values[:701])[:701], full[:701])


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 503), max_size=6, unique=True))
def test_batches_and_state_round_trips_give_the_same_scores(cuts: list[int]) -> None:
    values, times = weekly(weeks=3)
    values[[300, 380]] += [40.0, -40.0]
    values[436:460] = 50.0
    expected = NoveltyDetector().update(values, times)
    assert records(expected) == [222, 300, 380, 438]
    detector, parts = NoveltyDetector(), []
    for lo, hi in zip([0, *sorted(cuts)], [*sorted(cuts), len(values)], strict=True):
        parts.append(detector.update(values[lo:hi], times[lo:hi]))
        detector = NoveltyDetector.from_state(json.loads(json.dumps(detector.to_state())))
    assert np.array_equal(np.concatenate(parts), expected)


def test_replayed_points_and_non_finite_values_score_zero_and_change_nothing() -> None:
    detector = NoveltyDetector()
    values, times = noise(500), np.arange(500.0)
    detector.update(values, times)
    state = detector.to_state()
    assert not detector.update(values[-100:] + 30.0, times[-100:]).any()
    assert not detector.update(np.array([np.nan, np.inf]), np.array([600.0, 601.0])).any()
    assert detector.to_state() == {**state, "last_time": 499.0}


def test_bad_settings_and_state_name_the_field() -> None:
    with pytest.raises(SettingsError, match="alpha"):
        DetectorSettings(alpha=0.0)
    with pytest.raises(SettingsError, match="suppression"):
        DetectorSettings(suppression=2.0)
    with pytest.raises(SettingsError, match="season_points"):
        DetectorSettings(season_points=0)
    with pytest.raises(SettingsError, match="times"):
        NoveltyDetector().update([1.0, 2.0], [1.0])
    state = NoveltyDetector().to_state()
    with pytest.raises(StateError, match="spread"):
        NoveltyDetector.from_state({k: v for k, v in state.items() if k != "spread"})
    broken: dict[str, Any] = {**state, "level": "high"}
    with pytest.raises(StateError, match="level"):
        NoveltyDetector.from_state(broken)
    with pytest.raises(StateError, match="past_values"):
        NoveltyDetector.from_state({**state, "past_times": [1.0], "past_values": []})


# --- NAB scorer ------------------------------------------------------------------

STANDARD = ns.CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=1.0)


def synthetic(rows: int = 1000, windows: tuple[tuple[int, int], ...] = ((400, 499), (800, 899))) -> object:
    times = np.arange(rows).astype("datetime64[m]")
    return ns.LabelledSeries("synthetic.csv", times, np.zeros(rows), windows)


def detections(rows: int, at: list[int]) -> np.ndarray:
    scores = np.zeros(rows)
    scores[at] = 1.0
    return scores


def test_scorer_weights_follow_nab() -> None:
    series = synthetic()

    def score(at: list[int]) -> float:
        return float(ns.score_file(series, detections(1000, at), 0.5, STANDARD).score)

    assert ns.probation_length(1000) == 150 and ns.probation_length(10000) == 750
    assert score([]) == pytest.approx(-2.0)
    assert score([400, 800]) == pytest.approx(2.0)
    assert score([400, 450, 800]) == pytest.approx(2.0)
    middle = float(ns.scaled_sigmoid(np.array([-0.5]))[0] / ns.scaled_sigmoid(np.array([-1.0]))[0])
    assert score([450, 800]) == pytest.approx(middle + 1.0)
    assert score([400, 800, 300]) == pytest.approx(2.0 - 0.11)
    assert score([400, 800, 100]) == pytest.approx(2.0)
    right_after = score([400, 800, 500]) - 2.0
    assert -0.11 * 0.05 < right_after < 0.0
    assert score([400, 800, 799]) == pytest.approx(2.0 - 0.11)


def test_threshold_sweep_matches_scoring_each_threshold() -> None:
    corpus = [synthetic(), synthetic(windows=((300, 350),))]
    rng = np.random.default_rng(1)
    scores = [rng.random(1000) for _ in corpus]
    thresholds, raw = ns.sweep_thresholds(corpus, scores, STANDARD)
    for i in (1, 10, 500, len(thresholds) - 1):
        direct = sum(ns.score_file(s, x, thresholds[i], STANDARD).score for s, x in zip(corpus, scores, strict=True))
        assert raw[i] == pytest.approx(direct)
    assert raw[0] == ns.null_score(corpus, STANDARD) == -3.0


def test_held_out_judges_each_file_by_the_choice_made_on_the_others() -> None:
    corpus = [synthetic(windows=((400, 499),)), synthetic(windows=((400, 499),))]
    a, b = np.zeros(1000), np.zeros(1000)
    a[400] = 0.6
    b[[300, 400]] = [0.6, 0.9]
    in_sample = ns.best_threshold(corpus, [a, b], STANDARD)
    assert in_sample == (pytest.approx(0.6), pytest.approx(2.0 - 0.11))
    held = ns.held_out(corpus, [[a, b], [np.zeros(1000), np.zeros(1000)]], STANDARD)
    assert held.thresholds == (pytest.approx(0.9), pytest.approx(0.6))
    assert held.choices == (0, 0)
    assert held.raw == pytest.approx(-1.0 + 1.0 - 0.11)


def nab_corpus() -> list[object]:
    if not (NAB / "labels" / "combined_windows.json").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"NAB data missing at {NAB} (required under CI)")
        pytest.skip(f"NAB data not found at {NAB}")
    corpus: list[object] = ns.load_corpus(NAB)
    return corpus


def test_null_detector_scores_0_and_perfect_detector_100_on_nab() -> None:
    corpus = nab_corpus()
    cost = ns.load_profiles(NAB / "config" / "profiles.json")["standard"]
    null, perfect = ns.null_score(corpus, cost), ns.perfect_score(corpus, cost)
    assert len(corpus) == 24 and perfect == 49
    zeros = [np.zeros(len(s.values)) for s in corpus]  # type: ignore[attr-defined]
    edges = [detections(len(s.values), [left for left, _ in s.windows]) for s in corpus]  # type: ignore[attr-defined]
    assert ns.normalised(ns.best_threshold(corpus, zeros, cost)[1], null, perfect) == 0.0
    assert ns.normalised(ns.best_threshold(corpus, edges, cost)[1], null, perfect) == pytest.approx(100.0)


def test_detector_keeps_its_nab_score() -> None:
    corpus = nab_corpus()
    cost = ns.load_profiles(NAB / "config" / "profiles.json")["standard"]
    eval_nab = load_benchmark("eval_nab")
    scores = [eval_nab.detect(s, DetectorSettings()) for s in corpus]
    raw = ns.best_threshold(corpus, scores, cost)[1]
    assert ns.normalised(raw, ns.null_score(corpus, cost), ns.perfect_score(corpus, cost)) > 64.5
