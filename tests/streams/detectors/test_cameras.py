"""Camera detectors on the simulated camera feed (real rendered and analysed clips)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from functools import cache

import pytest

from iocsim.contract import Alert, CameraMetrics, CameraObservation
from iocsim.sim.cameras.feed import CameraFeed, CameraSettings
from iocsim.sim.profiles import Profile, load_profile
from iocsim.sim.scenario import Anomaly, parse_scenario
from iocsim.streams.detectors.camera_link import silence_limit
from iocsim.streams.detectors.camera_settings import CameraDetectorSettings
from iocsim.streams.detectors.camera_state import CameraState, Gate
from iocsim.streams.detectors.cameras import CameraDetector, camera_lifecycle_settings, detectors_for
from iocsim.streams.errors import SettingsError, StateError
from iocsim.streams.lifecycle import AlertLifecycle, Signal

TAMPER = """
name: tamper
start: 2025-05-13T14:00:00+07:00
duration: 35m
weather:
  - {condition: fog, start: 20m, duration: 15m, districts: [muong-nhe], intensity: 0.9}
anomalies:
  - {kind: camera_covered, entity: TC-02, start: 20m, duration: 8m}
  - {kind: camera_defocused, entity: MA-07, start: 20m, duration: 8m}
  - {kind: camera_turned, entity: DBD-10, start: 20m, duration: 8m}
  - {kind: crowd, entity: TC-12, start: 20m, duration: 8m, params: {multiplier: 6}}
"""
TAMPER_CAMERAS = ("TC-02", "MA-07", "DBD-10", "TC-12", "MN-03")

NIGHT = """
name: night
start: 2025-05-14T01:30:00+07:00
duration: 45m
anomalies:
  - {kind: night_intrusion, entity: TC-08, start: 15m, duration: 10m}
  - {kind: camera_offline, entity: TC-07, start: 5m, duration: 25m}
"""
NIGHT_CAMERAS = ("TC-08", "TC-07", "MA-04")

NIGHT_DEFOCUS = """
name: night-defocus
start: 2025-05-28T00:30:00+07:00
duration: 50m
weather:
  - {condition: fog, start: 10m, duration: 30m, districts: [muong-ang], intensity: 0.9}
anomalies:
  - {kind: camera_defocused, entity: TC-07, start: 25m, duration: 20m}
"""
NIGHT_DEFOCUS_CAMERAS = ("TC-07", "TC-08", "MA-04")

CLEAN_DAY = """
name: clean-day
start: 2025-05-15T00:00:00+07:00
duration: 24h
weather:
  - {condition: fog, start: 5h, duration: 2h, districts: [tua-chua], intensity: 0.9}
  - {condition: rain, start: 13h, duration: 2h, districts: [tua-chua, muong-ang], intensity: 0.8}
  - {condition: fog, start: 19h, duration: 1h30m, districts: [muong-ang], intensity: 0.6}
"""
CLEAN_CAMERAS = ("TC-01", "TC-11", "TC-13", "MA-06")


@cache
def profile() -> Profile:
    return load_profile()


@cache
def observations(text: str, seed: int, cameras: tuple[str, ...]) -> tuple[CameraObservation, ...]:
    feed = CameraFeed(profile(), parse_scenario(text), seed, settings=CameraSettings(camera_ids=cameras))
    return tuple(feed.events())


def by_time(observations: Iterable[CameraObservation]) -> list[list[CameraObservation]]:
    batches: dict[float, list[CameraObservation]] = {}
    for o in observations:
        batches.setdefault(o.event_time, []).append(o)
    return [batches[t] for t in sorted(batches)]


def run(detector: CameraDetector, batches: Sequence[Sequence[CameraObservation]]) -> list[Signal]:
    """Feed one batch per interval and tick at each batch's time, as a worker's watermark would."""
    signals: list[Signal] = []
    for batch in batches:
        signals.extend(detector.update(batch))
        signals.extend(detector.tick(batch[0].event_time))
    return signals


def alerts_of(signals: Sequence[Signal]) -> list[Alert]:
    return AlertLifecycle(camera_lifecycle_settings()).process(signals)


def check_detected(alerts: Sequence[Alert], anomalies: Sequence[Anomaly]) -> list[float]:
    """Each anomaly fires once on its camera and kind, and resolves after it ends; returns times to detect."""
    delays = []
    for anomaly in anomalies:
        mine = [a for a in alerts if a.entity_id == anomaly.entity_id and a.payload.kind == anomaly.kind]
        firing = [a for a in mine if a.payload.status == "firing"]
        resolved = [a for a in mine if a.payload.status == "resolved"]
        assert len(firing) == 1, (anomaly, mine)
        assert anomaly.start <= firing[0].event_time < anomaly.end
        delays.append(firing[0].event_time - anomaly.start)
        if anomaly.end < max(a.event_time for a in alerts):
            assert resolved and resolved[0].event_time >= anomaly.end, (anomaly, mine)
    return delays


@pytest.mark.slow
def test_tamper_and_crowd_are_detected_quickly_and_fog_is_not_defocus() -> None:
    scenario = parse_scenario(TAMPER)
    alerts = alerts_of(run(CameraDetector(profile()), by_time(observations(TAMPER, 21, TAMPER_CAMERAS))))
    delays = check_detected(alerts, scenario.anomalies)
    assert statistics.median(delays) <= 60
    assert max(delays) <= 90
    anomalous = {(a.entity_id, a.kind) for a in scenario.anomalies}
    extra = [a for a in alerts if (a.entity_id, a.payload.kind) not in anomalous]
    assert extra == []  # MN-03 sits in fog from minute 20 on: no defocus
    covered = next(a for a in alerts if a.payload.kind == "camera_covered")
    assert covered.payload.severity == "critical"
    assert covered.payload.evidence.snapshot_ref == f"snapshot://TC-02/{int(covered.event_time)}"
    assert covered.payload.evidence.observed < covered.payload.evidence.threshold


@pytest.mark.slow
def test_night_intrusion_and_long_outage_are_detected_and_resolved() -> None:
    scenario = parse_scenario(NIGHT)
    alerts = alerts_of(run(CameraDetector(profile()), by_time(observations(NIGHT, 22, NIGHT_CAMERAS))))
    intrusion = next(a for a in scenario.anomalies if a.kind == "night_intrusion")
    offline = next(a for a in scenario.anomalies if a.kind == "camera_offline")
    assert check_detected(alerts, [intrusion])[0] <= 120  # 110 s: about one person a clip, ten clips of CUSUM
    delay = check_detected(alerts, [offline])[0]
    assert 180 <= delay <= CameraDetectorSettings().offline_max_seconds + 10
    anomalous = {(a.entity_id, a.kind) for a in scenario.anomalies}
    assert [a for a in alerts if (a.entity_id, a.payload.kind) not in anomalous] == []


@pytest.mark.slow
def test_a_lost_focus_at_night_is_alerted_and_fog_setting_in_at_night_is_not() -> None:
    scenario = parse_scenario(NIGHT_DEFOCUS)
    batches = by_time(observations(NIGHT_DEFOCUS, 23, NIGHT_DEFOCUS_CAMERAS))
    alerts = alerts_of(run(CameraDetector(profile()), batches))
    assert check_detected(alerts, scenario.anomalies)[0] <= 60
    assert [a for a in alerts if a.entity_id != "TC-07" or a.payload.kind != "camera_defocused"] == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [8, 9])
def test_a_clean_day_with_weather_and_link_drops_raises_nothing(seed: int) -> None:
    signals = run(CameraDetector(profile()), by_time(observations(CLEAN_DAY, seed, CLEAN_CAMERAS)))
    assert alerts_of(signals) == []


@pytest.mark.slow
def test_state_exported_mid_stream_gives_the_same_signals_and_replays_add_nothing() -> None:
    batches = by_time(observations(TAMPER, 21, TAMPER_CAMERAS))
    whole = run(CameraDetector(profile()), batches)
    first = CameraDetector(profile())
    half = len(batches) * 2 // 3
    before = run(first, batches[:half])
    second = CameraDetector(profile())
    for key in first.camera_ids():
        exported = first.export_state(key)
        assert exported is not None
        second.load_state(key, exported)
    after = run(second, batches[half:])
    assert before + after == whole
    replayed = run(second, batches[half - 5 :])
    assert replayed == []


def observation(camera: str, t: float, **metrics: float) -> CameraObservation:
    values = {
        "frames": 5,
        "motion_ratio": 0.008,
        "brightness": 130.0,
        "sharpness": 4000.0,
        "displacement_px": 0.05,
        "displacement_response": 0.9,
        "blobs": 9.0,
    }
    values.update(metrics)
    return CameraObservation(
        event_id=f"cam-{camera}-{int(t)}",
        entity_id=camera,
        district="tua-chua",
        commune="tua-chua/tua-chua",
        event_time=t,
        payload=CameraMetrics(snapshot_ref=f"snapshot://{camera}/{int(t)}", **values),  # type: ignore[arg-type]
    )


T0 = 1747292400.0  # 2025-05-15 14:00 local


def test_out_of_order_observations_are_ignored() -> None:
    detector = CameraDetector(profile())
    run(detector, [[observation("TC-02", T0 + 10 * i)] for i in range(20)])
    state = detector.export_state("TC-02")
    assert detector.update([observation("TC-02", T0 + 50, brightness=5.0, sharpness=20.0)]) == []
    assert detector.export_state("TC-02") == state


def test_a_covered_lens_on_synthetic_metrics_fires_and_clears() -> None:
    detector = CameraDetector(profile())
    healthy = [[observation("TC-02", T0 + 10 * i)] for i in range(20)]
    covered = [[observation("TC-02", T0 + 200 + 10 * i, brightness=5.0, sharpness=22.0)] for i in range(6)]
    back = [[observation("TC-02", T0 + 260 + 10 * i)] for i in range(6)]
    alerts = alerts_of(run(detector, healthy + covered + back))
    assert [(a.payload.rule, a.payload.status) for a in alerts] == [
        ("cameras.covered", "firing"),
        ("cameras.covered", "resolved"),
    ]
    assert alerts[0].event_time == T0 + 220


def lost_focus_alerts(sharpness: Sequence[float], brightness: float) -> list[tuple[str, str]]:
    """Rules and statuses of the alerts for a view of the given sharpness per clip, then 8 clips at 1/1.8 of it."""
    n, blurred = len(sharpness), sharpness[-1] / 1.8
    clips = [(T0 + 10 * i, x) for i, x in enumerate(sharpness)] + [(T0 + 10 * (n + i), blurred) for i in range(8)]
    batches = [[observation("TC-02", t, brightness=brightness, sharpness=x)] for t, x in clips]
    return [(a.payload.rule, a.payload.status) for a in alerts_of(run(CameraDetector(profile()), batches))]


def test_a_lost_focus_counts_against_how_much_the_view_usually_changes() -> None:
    steady_night = [900.0 * (1 + 0.01 * (i % 3)) for i in range(40)]
    assert lost_focus_alerts(steady_night, brightness=20.0) == [("cameras.defocused", "firing")]
    busy_day = [4000.0 if i % 2 else 7000.0 for i in range(40)]
    assert lost_focus_alerts(busy_day, brightness=130.0) == []


def test_fog_that_keeps_the_brightness_is_no_lost_focus_since_it_changes_the_whole_frame() -> None:
    def defocus_alerts(motion_ratio: float) -> list[tuple[str, str]]:
        night = [[observation("TC-02", T0 + 10 * i, brightness=65.4, sharpness=1215.0)] for i in range(40)]
        after = [
            [observation("TC-02", T0 + 400 + 10 * i, brightness=66.0, sharpness=327.0, motion_ratio=motion_ratio)]
            for i in range(8)
        ]
        alerts = alerts_of(run(CameraDetector(profile()), night + after))
        return [(a.payload.rule, a.payload.status) for a in alerts]

    assert defocus_alerts(0.5) == []
    assert defocus_alerts(0.002) == [("cameras.defocused", "firing")]


NIGHT_T0 = T0 + 9 * 3600.0  # 23:00 local, when a crossroads is normally empty


def blob_alerts(
    blobs: Sequence[float], start: float, motion_per_blob: float, camera: str = "TC-02", **metrics: float
) -> list[Alert]:
    """Alerts for a camera (a crossroads) showing the given blobs in clips 10 s apart, with motion to match."""
    batches = [
        [observation(camera, start + 10 * i, motion_ratio=motion_per_blob * b, blobs=b, **metrics)]
        for i, b in enumerate(blobs)
    ]
    return alerts_of(run(CameraDetector(profile()), batches))


def night_alerts(blobs: Sequence[float], start: float = NIGHT_T0, camera: str = "TC-02") -> list[tuple[str, str, int]]:
    """Rule, status and clip index of the alerts for a dark camera (a crossroads) showing the given blobs per clip."""
    return [
        (a.payload.rule, a.payload.status, round((a.event_time - start) / 10))
        for a in blob_alerts(blobs, start, 0.0006, camera, brightness=20.0, sharpness=900.0)
    ]


QUIET = [0.0] * 200


def test_passers_by_at_night_raise_nothing_and_loiterers_do() -> None:
    pair_crossing = [2.0] * 3 + [0.0] * 20
    slow_walker = [1.0] * 9 + [0.0] * 20
    assert night_alerts(QUIET + pair_crossing + slow_walker + pair_crossing) == []
    assert night_alerts(QUIET + [2.0] * 12 + [0.0] * 20)[0] == ("cameras.night_intrusion", "firing", 203)


def test_early_commuters_at_dawn_are_not_intruders() -> None:
    loiterers = [2.0] * 12 + [0.0] * 20
    three_am, four_am = NIGHT_T0 + 4 * 3600.0, NIGHT_T0 + 5 * 3600.0
    assert night_alerts(QUIET + loiterers, start=three_am - 2000)[:1] == [("cameras.night_intrusion", "firing", 203)]
    assert night_alerts(QUIET + loiterers, start=four_am - 2000) == []


def test_people_on_a_square_before_midnight_are_the_last_of_its_evening_exercise() -> None:
    loiterers = [2.0] * 12 + [0.0] * 20
    assert night_alerts(QUIET + loiterers, camera="DBD-06") == []
    after_midnight = night_alerts(QUIET + loiterers, start=NIGHT_T0 + 3600.0, camera="DBD-06")
    assert after_midnight[:1] == [("cameras.night_intrusion", "firing", 203)]


def test_people_at_a_market_at_half_past_nine_are_its_last_customers() -> None:
    loiterers = [2.0] * 12 + [0.0] * 20
    half_past_nine, half_past_ten = NIGHT_T0 - 5400.0, NIGHT_T0 - 1800.0
    assert night_alerts(QUIET + loiterers, start=half_past_nine - 2000, camera="TC-01") == []
    at_half_past_ten = night_alerts(QUIET + loiterers, start=half_past_ten - 2000, camera="TC-01")
    assert at_half_past_ten[:1] == [("cameras.night_intrusion", "firing", 203)]


def test_a_scene_with_night_visitors_needs_a_longer_stay_to_call_it_an_intrusion() -> None:
    lingering_pair = [2.0] * 3 + [1.0] * 4 + [0.0] * 20
    two_hours_of_visitors = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0] * 72
    assert night_alerts(QUIET + lingering_pair)[:1] == [("cameras.night_intrusion", "firing", 205)]
    assert night_alerts(QUIET + two_hours_of_visitors) == []
    assert night_alerts(QUIET + two_hours_of_visitors + lingering_pair) == []
    loiterers = [2.0] * 30 + [0.0] * 20
    assert night_alerts(QUIET + two_hours_of_visitors + loiterers)[:1] == [("cameras.night_intrusion", "firing", 924)]


def test_a_person_half_hidden_in_the_dark_is_found_by_time_in_view() -> None:
    half_hidden = [0.3, 0.3, 0.0] * 40
    assert night_alerts(QUIET + half_hidden)[:1] == [("cameras.night_intrusion", "firing", 234)]
    assert night_alerts(QUIET + [0.3, 0.0, 0.0, 0.0] * 30) == []


def test_a_camera_must_see_its_scene_quiet_before_it_calls_anyone_an_intruder() -> None:
    loiterers = [2.0] * 12 + [0.0] * 20
    assert night_alerts([0.0] * 5 + loiterers) == []
    assert night_alerts(QUIET + loiterers)[:1] == [("cameras.night_intrusion", "firing", 203)]


def test_silence_is_offline_only_past_the_limit() -> None:
    detector = CameraDetector(profile())
    run(detector, [[observation("TC-02", T0 + 10 * i)] for i in range(20)])
    last = T0 + 190
    settings = CameraDetectorSettings()
    limit = silence_limit(settings.outage_prior_seconds, settings.interval_prior_seconds, settings)
    assert detector.tick(last + limit - 20) == []
    raised = detector.tick(last + limit + 20)
    assert [(s.rule, s.active, s.severity) for s in raised] == [("cameras.offline", True, "warning")]
    assert detector.tick(last + limit + 25) == []
    cleared = detector.update([observation("TC-02", last + limit + 100)])
    assert ("cameras.offline", False) in [(s.rule, s.active) for s in cleared]


def test_a_whole_outage_inside_one_batch_is_alerted_as_a_tick_would_have() -> None:
    settings = CameraDetectorSettings()
    limit = silence_limit(settings.outage_prior_seconds, settings.interval_prior_seconds, settings)
    before = [observation("TC-02", T0 + 10 * i) for i in range(20)]
    after = [observation("TC-02", T0 + 190 + limit + 300 + 10 * i) for i in range(5)]
    ticked = CameraDetector(profile())
    run(ticked, [[o] for o in before])
    went = ticked.tick(T0 + 190 + limit + 5)
    back = ticked.update(after)
    one_batch = CameraDetector(profile())
    caught_up = one_batch.update(before + after)
    offline = [(s.active, s.event_time) for s in caught_up if s.rule == "cameras.offline"]
    assert offline[:2] == [(True, T0 + 190 + limit), (False, after[0].event_time)]
    assert [s.active for s in went + back if s.rule == "cameras.offline"][:2] == [True, False]
    alerts = alerts_of(caught_up)
    assert [(a.payload.kind, a.payload.status) for a in alerts] == [
        ("camera_offline", "firing"),
        ("camera_offline", "resolved"),
    ]
    assert one_batch.export_state("TC-02") == ticked.export_state("TC-02")


def test_gate_passes_changes_heartbeats_and_a_quiet_spell() -> None:
    gate = Gate()
    assert not gate.offer(1.0, False, quiet=30)
    assert gate.offer(2.0, True, quiet=30)
    assert gate.offer(3.0, True, quiet=30)
    assert not gate.offer(3.0, True, quiet=30)
    assert gate.offer(4.0, False, quiet=30)
    assert gate.offer(30.0, False, quiet=30)
    assert not gate.offer(40.0, False, quiet=30)


def crowd_alerts(blobs: Sequence[float], start: float) -> list[tuple[str, int]]:
    """Crowd alert statuses and clip indexes for a daytime crossroads showing the given blobs per clip."""
    alerts = blob_alerts(blobs, start, 0.001)
    return [(a.payload.status, round((a.event_time - start) / 10)) for a in alerts if a.payload.kind == "crowd"]


def test_a_sustained_gathering_is_a_crowd_sooner_once_the_hour_is_known() -> None:
    usual = [6.0, 5.0, 7.0] * 30  # fifteen minutes: warmed up, busy, and the hour's level learned
    gathering = [13.0] * 30 + usual  # twice the usual level for five minutes: below the quick tier's limit
    # It starts at clip 90; the sustained median of eleven clips crosses its limit on the sixth.
    assert crowd_alerts(usual + gathering, T0) == [("firing", 95), ("resolved", 131)]
    # From 14:45 the same fifteen minutes end at 15 h: the gathering meets an hour not seen yet, and only the long
    # tier judges it, once half of its thirty clips hold the gathering.
    assert crowd_alerts(usual + gathering, T0 + 2700) == [("firing", 105), ("resolved", 131)]
    strong = [20.0] * 30 + usual
    # The quick tier's median of five crosses on the third clip.
    assert crowd_alerts(usual + strong, T0 + 2700) == [("firing", 92), ("resolved", 131)]


def test_a_crowd_among_vehicles_is_judged_by_its_pedestrians() -> None:
    def crowds(pedestrians: bool) -> list[str]:
        def clip(i: int, walkers: float) -> CameraObservation:
            blobs = 6.0 + walkers  # a crossroads: six vehicles in view whatever the people do
            people = {"pedestrians": walkers} if pedestrians else {}
            return observation("TC-02", T0 + 2400 + 10 * i, motion_ratio=0.001 * blobs, blobs=blobs, **people)

        usual = [clip(i, w) for i, w in enumerate([2.0, 1.0, 3.0] * 40)]  # the crowd meets an hour not seen yet
        crowd = [clip(120 + i, 9.0) for i in range(30)]
        alerts = alerts_of(run(CameraDetector(profile()), [[o] for o in usual + crowd]))
        return [(a.payload.status, round((a.event_time - T0 - 2400) / 10)) for a in alerts if a.payload.kind == "crowd"]

    assert crowds(pedestrians=True) == [("firing", 122)]
    # Blobs 8 -> 15: under 2.2 times the usual level, so only the long tier sees it, once half its clips hold it.
    assert crowds(pedestrians=False) == [("firing", 135)]


def test_a_few_people_on_a_quiet_bridge_are_a_crowd_and_a_commune_office_opening_is_not() -> None:
    def crowds(camera: str, settings: CameraDetectorSettings | None = None) -> list[str]:
        walkers = [0.0, 1.0, 0.5] * 40 + [5.25] * 30  # half a person in view, then five or six
        clips = [
            observation(camera, T0 + 10 * i, motion_ratio=0.002 + 0.002 * p, blobs=p, pedestrians=p)
            for i, p in enumerate(walkers)
        ]
        alerts = alerts_of(run(CameraDetector(profile(), settings), [[o] for o in clips]))
        return [a.payload.status for a in alerts if a.payload.kind == "crowd"]

    assert crowds("TC-08") == ["firing"]  # a bridge
    # A fixed floor of five people more than expected is out of the quiet bridge's reach.
    assert crowds("TC-08", CameraDetectorSettings(crowd_people_floor_per_root=99, crowd_long_floor_per_root=99)) == []
    # The same jump where people come on a timetable (an office opening) is not judged.
    assert crowds("TC-07") == []
    assert crowds("TC-07", CameraDetectorSettings(crowd_min_expected_people=0.15)) == ["firing"]


def test_a_crowd_holds_while_its_people_stay_though_they_hardly_move() -> None:
    walkers = [0.0, 1.0, 0.5] * 40 + [5.5] * 60 + [0.5] * 30  # a bridge: the crowd stays ten minutes
    motion = [0.002 + 0.002 * p for p in walkers[:126]] + [0.004] * 84  # after its first minute, standing still
    clips = [
        observation("TC-08", T0 + 10 * i, motion_ratio=m, blobs=p, pedestrians=p)
        for i, (p, m) in enumerate(zip(walkers, motion, strict=True))
    ]
    alerts = alerts_of(run(CameraDetector(profile()), [[o] for o in clips]))
    crowd = [(a.payload.status, round((a.event_time - T0) / 10)) for a in alerts if a.payload.kind == "crowd"]
    assert [status for status, _ in crowd] == ["firing", "resolved"]
    assert crowd[1][1] >= 180  # resolved once the people left, not when they stopped moving


def test_a_crowd_that_thins_for_a_while_stays_one_crowd() -> None:
    def crowd(settings: CameraDetectorSettings) -> list[tuple[str, int]]:
        walkers = [0.0, 1.0, 0.5] * 40 + [5.5] * 30 + [1.5] * 20 + [5.5] * 30 + [0.5] * 30  # a bridge
        clips = [
            observation("TC-08", T0 + 10 * i, motion_ratio=0.002 + 0.002 * p, blobs=p, pedestrians=p)
            for i, p in enumerate(walkers)
        ]
        alerts = alerts_of(run(CameraDetector(profile(), settings), [[o] for o in clips]))
        return [(a.payload.status, round((a.event_time - T0) / 10)) for a in alerts if a.payload.kind == "crowd"]

    held = crowd(CameraDetectorSettings())
    assert [status for status, _ in held] == ["firing", "resolved"]
    assert held[1][1] >= 200  # resolved once the people left
    # Held only above half-way, it ends while the crowd thins and the short-term level then learns the rest of it.
    assert crowd(CameraDetectorSettings(crowd_hold_share=0.5))[1][1] < 170


def test_a_crowd_the_background_model_absorbs_holds_while_the_view_keeps_its_detail() -> None:
    """A bus station: the crowd stands, the edge box's background learns it, its walkers fall back to the usual."""

    def crowd(sharpness_in_crowd: float, brightness_late: float = 130.0) -> list[tuple[str, int]]:
        walkers = [4.0, 5.0, 3.0] * 40 + [14.0] * 12 + [4.0, 5.0, 3.0] * 36 + [4.0, 5.0, 3.0] * 20
        sharpness = [4000.0] * 120 + [sharpness_in_crowd] * 120 + [4000.0] * 60
        brightness = [130.0] * 180 + [brightness_late] * 120
        clips = [
            observation("MA-05", T0 + 10 * i, motion_ratio=0.002 * p, blobs=p, pedestrians=p, sharpness=s, brightness=b)
            for i, (p, s, b) in enumerate(zip(walkers, sharpness, brightness, strict=True))
        ]
        alerts = alerts_of(run(CameraDetector(profile()), [[o] for o in clips]))
        return [(a.payload.status, round((a.event_time - T0) / 10)) for a in alerts if a.payload.kind == "crowd"]

    held = crowd(sharpness_in_crowd=5200.0)  # the standing crowd's detail: 30 % more edges in view
    assert [status for status, _ in held] == ["firing", "resolved"]
    assert held[1][1] >= 240  # resolved once the crowd left the view (clip 240), not as its walkers were absorbed (132)
    assert crowd(sharpness_in_crowd=4000.0)[1][1] < 150  # nothing else tells: it ends with its walkers
    # Dusk: the light falls, and the detail it brings is no evidence of the crowd any more.
    assert crowd(sharpness_in_crowd=5200.0, brightness_late=100.0)[1][1] < 200


def test_a_view_that_changed_at_once_is_no_crowd() -> None:
    """Rain ending: the light changes, the background model relearns the view, people look many for a while."""

    def crowds(settings: CameraDetectorSettings) -> list[str]:
        usual = [(p, 0.001 * p) for p in [1.0, 2.0, 1.5] * 40]
        light = [(34.0, 0.34), (37.0, 0.33)] + [(p, 0.001 * p) for p in [7.5, 1.25, 1.5, 3.5, 3.25, 5.0, 6.0, 6.0]]
        clips = [
            observation("TC-02", T0 + 10 * i, motion_ratio=m, blobs=p, pedestrians=p)
            for i, (p, m) in enumerate(usual + light)
        ]
        alerts = alerts_of(run(CameraDetector(profile(), settings), [[o] for o in clips]))
        return [a.payload.status for a in alerts if a.payload.kind == "crowd"]

    assert crowds(CameraDetectorSettings()) == []
    assert crowds(CameraDetectorSettings(view_changed_motion=0.5)) == ["firing"]


def test_people_the_fog_hid_are_no_crowd_when_it_lifts() -> None:
    def crowd_alerts_as_the_view_turns(sharpness_after: float) -> list[Alert]:
        def clip(i: int, blobs: float, sharpness: float) -> CameraObservation:
            return observation("TC-02", T0 + 10 * i, motion_ratio=0.001 * blobs, blobs=blobs, sharpness=sharpness)

        fog = [clip(i, b, 90.0) for i, b in enumerate([4.0, 5.0, 3.0] * 40)]
        after = [clip(120 + i, 16.0, sharpness_after) for i in range(60)]
        alerts = alerts_of(run(CameraDetector(profile()), [[o] for o in fog + after]))
        return [a for a in alerts if a.payload.kind == "crowd"]

    assert crowd_alerts_as_the_view_turns(3200.0) == []
    assert [a.payload.status for a in crowd_alerts_as_the_view_turns(90.0)] == ["firing"]


def test_state_round_trips_and_bad_state_names_the_camera() -> None:
    detector = CameraDetector(profile())
    run(detector, [[observation("TC-02", T0 + 10 * i)] for i in range(5)])
    exported = detector.export_state("TC-02")
    assert exported is not None
    assert CameraState.from_dict("TC-02", exported).to_dict() == exported
    with pytest.raises(StateError, match="TC-02"):
        detector.load_state("TC-02", {**exported, "last": "yesterday"})
    with pytest.raises(StateError, match="hours"):
        detector.load_state("TC-02", {**exported, "activity": {**exported["activity"], "hours": [[0, 0, 0]]}})
    with pytest.raises(StateError, match="sharpness_step"):
        detector.load_state("TC-02", {**exported, "tamper": {**exported["tamper"], "sharpness_step": -1.0}})
    with pytest.raises(StateError, match=r"activity\.night"):
        detector.load_state("TC-02", {**exported, "activity": {**exported["activity"], "night": -0.5}})


def test_a_state_saved_before_the_usual_sharpness_step_was_kept_still_loads() -> None:
    detector = CameraDetector(profile())
    run(detector, [[observation("TC-02", T0 + 10 * i)] for i in range(5)])
    exported = detector.export_state("TC-02")
    assert exported is not None
    old = {**exported, "tamper": {k: v for k, v in exported["tamper"].items() if k != "sharpness_step"}}
    loaded = CameraDetector(profile())
    loaded.load_state("TC-02", old)
    assert CameraState.from_dict("TC-02", old).tamper.sharpness_step == 0.0
    assert run(loaded, [[observation("TC-02", T0 + 50 + 10 * i)] for i in range(5)]) == []
    older = {**old, "activity": {k: v for k, v in exported["activity"].items() if k != "presence"}}
    assert CameraState.from_dict("TC-02", older).activity.presence == 0.0


def test_a_state_that_kept_the_recent_levels_as_pairs_still_loads() -> None:
    detector = CameraDetector(profile())
    run(detector, [[observation("TC-02", T0 + 10 * i)] for i in range(5)])
    exported = detector.export_state("TC-02")
    assert exported is not None
    activity = {k: v for k, v in exported["activity"].items() if k not in ("recent_people", "recent_motion")}
    people, motion = exported["activity"]["recent_people"], exported["activity"]["recent_motion"]
    pairs = [[b, m] for b, m in zip(people, motion, strict=True)]
    assert len(pairs) == 5
    paired = {**exported, "activity": {**activity, "recent": pairs}}
    assert CameraState.from_dict("TC-02", paired).to_dict() == exported
    with pytest.raises(StateError, match=r"activity\.recent"):
        CameraState.from_dict("TC-02", {**exported, "activity": {**activity, "recent": [[1.0]]}})
    with pytest.raises(StateError, match="recent_motion"):
        CameraState.from_dict("TC-02", {**exported, "activity": {**exported["activity"], "recent_motion": []}})


def test_settings_are_validated_and_the_registry_finds_the_detector() -> None:
    with pytest.raises(SettingsError, match="reference_alpha"):
        CameraDetectorSettings(reference_alpha=2.0)
    with pytest.raises(SettingsError, match="defocus_step_multiple"):
        CameraDetectorSettings(defocus_step_multiple=0.0)
    with pytest.raises(SettingsError, match="presence_allowance"):
        CameraDetectorSettings(presence_allowance=1.0)
    with pytest.raises(SettingsError, match="empty_proof_observations"):
        CameraDetectorSettings(empty_proof_observations=0)
    with pytest.raises(SettingsError, match="offline_min_seconds"):
        CameraDetectorSettings(offline_min_seconds=900.0, offline_max_seconds=600.0)
    (detector,) = detectors_for(profile())
    assert detector.topic == "ioc.camera.observations"


def test_a_gathering_the_short_term_level_learns_is_a_crowd_against_the_five_minutes_before() -> None:
    def crowd(camera: str, walkers: list[float], s: CameraDetectorSettings | None = None) -> list[tuple[str, int]]:
        clips = [
            observation(camera, T0 + 10 * i, motion_ratio=0.002 + 0.002 * p, blobs=p, pedestrians=p)
            for i, p in enumerate(walkers)
        ]
        alerts = alerts_of(run(CameraDetector(profile(), s), [[o] for o in clips]))
        return [(a.payload.status, round((a.event_time - T0) / 10)) for a in alerts if a.payload.kind == "crowd"]

    quiet = [0.0, 1.0, 0.5] * 40  # a bridge: half a person in view
    gathering = [0.5 + 0.25 * i for i in range(12)] + [3.5] * 40 + [0.5] * 30  # three more people over two minutes
    # The median of thirty clips crosses once fifteen of them hold the crowd; the quick tiers never do.
    assert crowd("TC-08", quiet + gathering) == [("firing", 145), ("resolved", 183)]
    assert crowd("TC-08", quiet + gathering, CameraDetectorSettings(crowd_long_floor_per_root=99.0)) == []
    # A market filling over an hour keeps the five minutes before it close behind.
    filling = [3.0 + 6.0 * i / 360 + (0.5 if i % 3 else -1.0) for i in range(360)]
    assert crowd("TC-01", filling) == []
