"""Judging a camera's observations a run at a time gives the verdicts of judging them one by one."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from iocsim.contract import CameraMetrics, CameraObservation
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.profiles import Profile, load_profile
from iocsim.streams.detectors.camera_readings import LocalHours
from iocsim.streams.detectors.camera_settings import CameraDetectorSettings
from iocsim.streams.detectors.cameras import CameraDetector
from iocsim.streams.lifecycle import Signal

T0 = 1747328400.0  # 2025-05-16 00:00 local: nights and mornings, normally empty scenes and busy ones
CAMERAS = ("TC-01", "TC-02", "MA-04")

# Short warm-ups and small levels so that a few dozen clips reach every rule's branches.
QUICK = CameraDetectorSettings(
    warmup_observations=2,
    activity_warmup_observations=3,
    crowd_busy_observations=2,
    crowd_min_expected_people=0.5,
    hour_min_samples=3,
    gap_memory=4,
    crowd_median_of=3,
    offline_min_seconds=60.0,
    quiet_seconds=120.0,
    tamper_relearn_seconds=900.0,
)


@cache
def profile() -> Profile:
    return load_profile()


def metrics(kind: str, blobs: float, motion: float) -> CameraMetrics:
    brightness, sharpness, displacement, response = {
        "healthy": (130.0, 4000.0, 0.05, 0.9),
        "covered": (5.0, 20.0, 0.05, 0.9),
        "blurred": (129.0, 300.0, 0.05, 0.9),
        "turned": (130.0, 4000.0, 40.0, 0.8),
        "dark": (20.0, 900.0, 0.1, 0.2),
    }[kind]
    return CameraMetrics(
        frames=5,
        motion_ratio=motion,
        brightness=brightness,
        sharpness=sharpness,
        displacement_px=displacement,
        displacement_response=response,
        blobs=blobs,
        snapshot_ref="snapshot://x",
    )


@st.composite
def streams(draw: st.DrawFn) -> list[CameraObservation]:
    """Observations of a few cameras with link drops, replays, stragglers, tamper, crowds and night visitors."""
    out: list[CameraObservation] = []
    for camera in draw(st.lists(st.sampled_from(CAMERAS), min_size=1, max_size=3, unique=True)):
        t = T0 + draw(st.floats(0, 6 * 3600))
        kind = "healthy"
        for _ in range(draw(st.integers(1, 60))):
            t += draw(st.sampled_from((10.0, 10.0, 10.0, 10.0, 9.5, 30.0, 400.0, 1500.0)))
            if draw(st.integers(0, 9)) == 0:
                kind = draw(st.sampled_from(("healthy", "covered", "blurred", "turned", "dark")))
            blobs = draw(st.sampled_from((0.0, 0.0, 1.0, 2.4, 6.0, 20.0)))
            motion = draw(st.sampled_from((0.0, 0.004, 0.02, 0.2)))
            when = t - draw(st.sampled_from((0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 25.0)))  # replays and stragglers
            out.append(
                CameraObservation(
                    event_id=f"{camera}-{len(out)}",
                    entity_id=camera,
                    district="tua-chua",
                    commune="tua-chua/tua-chua",
                    event_time=when,
                    payload=metrics(kind, blobs, motion),
                )
            )
    return out


def batches(draw: st.DrawFn, observations: Sequence[CameraObservation]) -> list[list[CameraObservation]]:
    """The stream in arrival order, cut into batches at drawn places (a worker's fetches)."""
    n = len(observations)
    delays = draw(st.lists(st.sampled_from((0.0, 0.0, 15.0)), min_size=n, max_size=n))
    ordered = [observations[i] for i in sorted(range(n), key=lambda i: observations[i].event_time + delays[i])]
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(ordered) - 1)), max_size=8)))
    edges = [0, *cuts, len(ordered)]
    return [ordered[a:b] for a, b in pairwise(edges) if a < b]


def run(detector: CameraDetector, cut: Sequence[Sequence[CameraObservation]], one_by_one: bool) -> list[Signal]:
    """Feed each batch whole or one observation at a time (oldest first), ticking after each batch."""
    signals: list[Signal] = []
    for batch in cut:
        if one_by_one:
            for o in sorted(batch, key=lambda o: o.event_time):
                signals.extend(detector.update([o]))
        else:
            signals.extend(detector.update(batch))
        signals.extend(detector.tick(max(o.event_time for o in batch) + 5.0))
    return signals


def per_camera(signals: Sequence[Signal]) -> dict[str, list[Signal]]:
    out: dict[str, list[Signal]] = {}
    for signal in signals:
        out.setdefault(signal.entity_id, []).append(signal)
    return out


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_batch_gives_the_signals_and_state_of_one_observation_at_a_time(data: st.DataObject) -> None:
    observations = data.draw(streams())
    cut = batches(data.draw, observations)
    whole, single = CameraDetector(profile(), QUICK), CameraDetector(profile(), QUICK)
    assert per_camera(run(whole, cut, False)) == per_camera(run(single, cut, True))
    assert whole.camera_ids() == single.camera_ids()
    for key in whole.camera_ids():
        assert whole.export_state(key) == single.export_state(key)


def test_the_quick_settings_raise_the_tamper_rules_within_a_few_clips() -> None:
    """So the streams above, a few dozen clips per camera, reach the tamper rules' branches."""
    cut = []
    t = T0 + 2 * 3600
    kinds = ["healthy"] * 12 + ["covered"] * 4 + ["healthy"] * 6 + ["blurred"] * 4 + ["healthy"] * 6
    kinds += ["turned"] * 4 + ["healthy"] * 10
    for i, kind in enumerate(kinds):
        t += 10.0
        blobs = 20.0 if 30 <= i < 36 else (2.0 if 40 <= i < 44 else 0.0)
        o = CameraObservation(
            event_id=f"TC-01-{i}",
            entity_id="TC-01",
            district="tua-chua",
            commune="tua-chua/tua-chua",
            event_time=t,
            payload=metrics(kind, blobs, 0.2 if blobs > 10 else 0.0),
        )
        cut.append([o])
    signals = run(CameraDetector(profile(), QUICK), cut, False)
    assert {s.rule for s in signals if s.active} >= {"cameras.covered", "cameras.defocused", "cameras.turned"}


def test_local_hours_agree_with_the_calendar_around_hour_boundaries() -> None:
    calendar = ProvinceCalendar(profile().calendar)
    hours = LocalHours(calendar)
    times = sorted(
        T0 + 3600 * h + offset for h in range(30) for offset in (-1.0, -1e-3, -4e-7, 0.0, 3e-7, 1e-3, 899.9995, 1.0)
    )
    assert hours.of(times) == [int(calendar.hour(t)) for t in times]
