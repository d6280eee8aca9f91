"""Score iocsim's streaming time-series detector on the Numenta Anomaly Benchmark files.

Runs :class:`iocsim.streams.detectors.timeseries.NoveltyDetector` with its
default settings over every labelled file (fed in batches, with its state
exported and restored between batches as a stream worker would), picks one
threshold for the whole corpus per profile (as NAB's optimiser does), and
prints the normalised scores, the per-file breakdown and published scores on
the same files. The detector never sees the labels.

    python benchmarks/eval_nab.py --out nab_result.json
    python benchmarks/eval_nab.py --out nab_result.json --cross-validate

The defaults were chosen on these same files, and NAB's one threshold is
chosen on them too, so the corpus score is an in-sample figure.
``--cross-validate`` adds two out-of-sample ones, leaving each file out in
turn: the defaults with the threshold chosen on the other 23 files, and the
setting too, chosen among the 27 that halve or double ``alpha``, ``clip``
and ``refractory`` around the defaults, as tuning on the other files would.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from nab_score import (
    CostMatrix,
    FloatArray,
    LabelledSeries,
    best_threshold,
    held_out,
    load_corpus,
    load_profiles,
    normalised,
    null_score,
    perfect_score,
    score_file,
)

from iocsim.streams.detectors.timeseries import DetectorSettings, NoveltyDetector

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "NAB"
BATCH = 500

# Standard-profile scores published for exactly these 24 files (see the data README).
PUBLISHED = {
    "ARTime": 67.3,
    "Numenta HTM": 66.5,
    "CAD OSE": 60.0,
    "KNN CAD": 54.7,
    "Relative Entropy": 50.0,
    "Twitter ADVec": 33.9,
    "windowed Gaussian": 24.3,
    "random": 18.4,
    "null": 0.0,
}


def detect(series: LabelledSeries, settings: DetectorSettings) -> FloatArray:
    """Stream one file through a fresh detector, restoring it from its exported state between batches."""
    times = series.times.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    detector = NoveltyDetector(settings)
    scores = []
    for start in range(0, len(series.values), BATCH):
        scores.append(detector.update(series.values[start : start + BATCH], times[start : start + BATCH]))
        detector = NoveltyDetector.from_state(json.loads(json.dumps(detector.to_state())), settings)
    return np.concatenate(scores)


def neighbours(settings: DetectorSettings) -> list[DetectorSettings]:
    """The settings that halve, keep or double each of alpha, clip and refractory (27, the given one among them)."""
    return [
        replace(settings, alpha=settings.alpha * a, clip=settings.clip * c, refractory=round(settings.refractory * r))
        for a in (0.5, 1.0, 2.0)
        for c in (0.5, 1.0, 2.0)
        for r in (0.5, 1.0, 2.0)
    ]


@dataclass(frozen=True)
class CrossValidation:
    """Normalised leave-one-file-out scores, and the setting chosen for each file left out."""

    threshold_held_out: float
    setting_and_threshold_held_out: float
    settings_chosen: list[DetectorSettings]


def cross_validate(
    corpus: list[LabelledSeries], settings: DetectorSettings, scores: list[FloatArray], cost: CostMatrix
) -> CrossValidation:
    """Leave-one-file-out scores: the threshold chosen without each file, then the setting as well."""
    null, perfect = null_score(corpus, cost), perfect_score(corpus, cost)
    threshold_only = held_out(corpus, [scores], cost)
    grid = neighbours(settings)
    candidates = []
    tty = sys.stderr.isatty()
    if not tty:
        print(f"cross-validation: scoring {len(grid)} settings", file=sys.stderr, flush=True)
    for k, g in enumerate(grid, 1):
        if tty:
            print(f"\rcross-validation: scoring setting {k}/{len(grid)}", end="", file=sys.stderr, flush=True)
        candidates.append(scores if g == settings else [detect(series, g) for series in corpus])
    start = "\r" if tty else ""
    print(f"{start}cross-validation: choosing without each of the {len(corpus)} files", file=sys.stderr, flush=True)
    tuned = held_out(corpus, candidates, cost)
    return CrossValidation(
        normalised(threshold_only.raw, null, perfect),
        normalised(tuned.raw, null, perfect),
        [grid[k] for k in tuned.choices],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NAB folder (data/, labels/, config/)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument(
        "--cross-validate",
        action="store_true",
        help="also score each file with the threshold (and setting) chosen on the other files (about a minute)",
    )
    args = parser.parse_args(argv)
    if not (args.data / "labels" / "combined_windows.json").is_file():
        print(f"--data: no NAB corpus at {args.data}", file=sys.stderr)
        return 2

    corpus = load_corpus(args.data)
    profiles = load_profiles(args.data / "config" / "profiles.json")
    settings = DetectorSettings()
    started = time.perf_counter()
    scores = [detect(series, settings) for series in corpus]
    elapsed = time.perf_counter() - started
    rows = sum(len(s.values) for s in corpus)
    print(f"{len(corpus)} files, {rows} points scored in {elapsed:.2f} s ({rows / elapsed:,.0f} points/s)")

    result: dict[str, object] = {"detector": "NoveltyDetector", "settings": vars(settings), "profiles": {}}
    for name, cost in profiles.items():
        threshold, raw = best_threshold(corpus, scores, cost)
        null, perfect = null_score(corpus, cost), perfect_score(corpus, cost)
        files = [score_file(series, s, threshold, cost) for series, s in zip(corpus, scores, strict=True)]
        entry = {
            "threshold": threshold,
            "raw": raw,
            "null": null,
            "perfect": perfect,
            "normalised": normalised(raw, null, perfect),
            "windows_detected": sum(f.detected for f in files),
            "windows": sum(f.windows for f in files),
            "false_positives": sum(f.false_positives for f in files),
            "files": [vars(f) for f in files],
        }
        result["profiles"][name] = entry  # type: ignore[index]
        print(
            f"\n{name}: normalised score {entry['normalised']:.1f} (threshold {threshold:.4f}, raw {raw:.2f},"
            f" null {null:.0f}, perfect {perfect:.0f}; {entry['windows_detected']}/{entry['windows']} windows,"
            f" {entry['false_positives']} false positives)"
        )
        if name == "standard":
            print(f"  {'file':58s} {'score':>7s} {'windows':>8s} {'FP':>4s}")
            for f in files:
                print(f"  {f.name:58s} {f.score:7.2f} {f.detected:>4d}/{f.windows:<3d} {f.false_positives:4d}")

    standard = result["profiles"]["standard"]["normalised"]  # type: ignore[index]
    if args.cross_validate:
        held = cross_validate(corpus, settings, scores, profiles["standard"])
        result["cross_validation"] = asdict(held)
        print(
            f"\nstandard profile, each file left out in turn (in-sample {standard:.1f}):"
            f"\n  threshold chosen on the other files: {held.threshold_held_out:.1f}"
            f"\n  setting (27 neighbours) and threshold chosen on them: {held.setting_and_threshold_held_out:.1f}"
            f" (the defaults chosen for {held.settings_chosen.count(settings)} of {len(corpus)} files)"
        )
    print("\nstandard profile, same 24 files:")
    for name, published in sorted({**PUBLISHED, "iocsim NoveltyDetector": standard}.items(), key=lambda kv: -kv[1]):
        print(f"  {name:24s} {published:5.1f}")
    result["published_standard"] = PUBLISHED
    args.out.write_text(json.dumps(result, indent=1))
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
