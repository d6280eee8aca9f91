"""Detector of the camera feed (``ioc.camera.observations``): offline, tampered, crowded, intruded cameras.

Rules (kind; severity): ``cameras.offline`` (camera_offline; warning),
``cameras.covered`` (camera_covered; critical), ``cameras.defocused``
(camera_defocused; warning), ``cameras.turned`` (camera_turned; critical),
``cameras.crowd`` (crowd; warning), ``cameras.night_intrusion``
(night_intrusion; critical). How each is judged: :mod:`camera_rules` and
:class:`CameraDetectorSettings`.

It reads nothing but the contract and, as prior knowledge, the province
profile (scene type of each camera, local time), so it judges any producer's
observations. State is one plain dict per camera id. Observations not newer
than the camera's last one (replays, stragglers) are ignored, so at-least-once
delivery adds nothing. Offline is decided on :meth:`tick`, since silence
sends no message: after a silence longer than the camera's ordinary link
drops, learned from its own stream.

Evidence: covered and defocused give brightness or sharpness against the
healthy reference and the level it fires below; turned gives displacement
(px) against its usual value and the level it fires at; crowd gives people
(pedestrians, or blobs from an edge box that does not report them) against
the expected level and the level it fires at; intrusion gives people against
the usual level for the hour and the CUSUM's per-clip allowance (a person
half hidden in the dark, caught by time in view, counts less than the
allowance); offline
gives the silence (s) against the camera's interval and the silence limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from iocsim.contract import CAMERA_OBSERVATIONS, AlertKind, CameraObservation, Envelope, Evidence, Severity
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.profiles import Profile
from iocsim.streams.detector import Detector
from iocsim.streams.detectors.camera_link import LinkTrail, back_online, interval, mean_outage, silence_limit
from iocsim.streams.detectors.camera_readings import LocalHours, Readings, readings
from iocsim.streams.detectors.camera_rules import ActivityTrail, TamperTrail, judge_activity, judge_tamper
from iocsim.streams.detectors.camera_settings import (
    CAMERA_RULES,
    COVERED_RULE,
    CROWD_RULE,
    DEFOCUSED_RULE,
    INTRUSION_RULE,
    OFFLINE_RULE,
    TURNED_RULE,
    CameraDetectorSettings,
    ScenePrior,
    camera_lifecycle_rules,
    camera_lifecycle_settings,
    scene_prior,
)
from iocsim.streams.detectors.camera_state import CameraState, Gate
from iocsim.streams.detectors.keyed_states import KeyedStates
from iocsim.streams.lifecycle import Signal

__all__ = [
    "CAMERA_RULES",
    "CameraDetector",
    "CameraDetectorSettings",
    "camera_lifecycle_rules",
    "camera_lifecycle_settings",
    "detectors_for",
]

_RULES: dict[str, tuple[AlertKind, Severity, str]] = {
    OFFLINE_RULE: ("camera_offline", "warning", "camera {id} has sent nothing for {observed:.0f} s"),
    COVERED_RULE: ("camera_covered", "critical", "camera {id} lens looks covered (brightness {observed:.0f})"),
    DEFOCUSED_RULE: ("camera_defocused", "warning", "camera {id} lost focus (sharpness {observed:.0f})"),
    TURNED_RULE: ("camera_turned", "critical", "camera {id} view moved by {observed:.1f} px"),
    CROWD_RULE: ("crowd", "warning", "unusual crowd at camera {id} ({observed:.1f} people moving)"),
    INTRUSION_RULE: ("night_intrusion", "critical", "people loitering at camera {id} at night"),
}

_OBSERVED = (COVERED_RULE, DEFOCUSED_RULE, TURNED_RULE, CROWD_RULE, INTRUSION_RULE)
"""The rules judged on each observation, in the order their signals are given."""

Evidenced = tuple[float, float, float]
"""A verdict's evidence: observed value, its baseline and the threshold."""
Passed = tuple[float, int, str, bool, Evidenced, int | None]
"""A verdict to signal: time, order among the rules, rule, active, evidence, observation (None: between two)."""


class CameraDetector(KeyedStates[CameraState]):
    """All camera rules over one state per camera (see module docstring).

    A batch is judged camera by camera, each camera's new observations as one
    run (:mod:`camera_readings`); only the observations a gate lets through
    become signals.
    """

    name = "cameras"
    topic = CAMERA_OBSERVATIONS

    def __init__(self, profile: Profile, settings: CameraDetectorSettings | None = None) -> None:
        self.profile = profile
        self.settings = settings or CameraDetectorSettings()
        self.calendar = ProvinceCalendar(profile.calendar)
        self._hours = LocalHours(self.calendar)
        self._priors: dict[str | None, ScenePrior] = {}
        self._states: dict[str, CameraState] = {}

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        return {m.entity_id for m in messages if isinstance(m, CameraObservation)}

    def state_from_dict(self, key: str, data: dict[str, Any]) -> CameraState:
        return CameraState.from_dict(key, data)

    def camera_ids(self) -> list[str]:
        return sorted(self._states)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        by_camera: dict[str, list[CameraObservation]] = {}
        for m in messages:
            if isinstance(m, CameraObservation):
                by_camera.setdefault(m.entity_id, []).append(m)
        signals: list[Signal] = []
        for key in sorted(by_camera):
            signals.extend(self._observe(key, by_camera[key]))
        return signals

    def tick(self, event_time: float) -> list[Signal]:
        s = self.settings
        signals: list[Signal] = []
        for key in sorted(self._states):
            state = self._states[key]
            if state.last is None or event_time <= state.last:
                continue
            usual = interval(state, s)
            silence, limit = event_time - state.last, silence_limit(mean_outage(state, s), usual, s)
            if silence > limit:
                state.offline = True
            gate = state.gate(OFFLINE_RULE)
            if state.offline and gate.offer(event_time, True, s.quiet_seconds, usual):
                signals.append(self._signal(key, state, OFFLINE_RULE, True, (silence, usual, limit), event_time, None))
        return signals

    def _observe(self, key: str, observations: list[CameraObservation]) -> list[Signal]:
        """Judge one camera's observations of a batch, oldest first; those not newer than its last are ignored."""
        s = self.settings
        state = self._states.get(key)
        if state is None:
            first = min(observations, key=lambda o: o.event_time)
            camera = self.profile.camera_by_id.get(key)
            state = self._states[key] = CameraState(
                district=first.district, commune=first.commune, scene=camera.scene if camera else None
            )
        r = readings(observations, state.last, self._hours)
        if not r.times:
            return []
        if len(state.gates) < len(CAMERA_RULES):
            # in the order the rules' verdicts first meet them, as they are exported
            for rule in (OFFLINE_RULE,) * (state.last is not None) + _OBSERVED + (OFFLINE_RULE,) * (len(r.times) > 1):
                state.gate(rule)
        link = back_online(state, r, s)
        state.last = r.times[-1]
        tamper = judge_tamper(state.tamper, r, s)
        activity = judge_activity(state.activity, r, self._prior(state.scene), tamper.blind(), tamper.cleared, s)

        passed: list[Passed] = []
        if link.silences:
            passed.extend(self._silences(state.gates[OFFLINE_RULE], r.times, link))
        elif link.gaps:
            offline = [False] * len(r.times)
            for k in _passed(state.gates[OFFLINE_RULE], r.times, offline, link.first, s.quiet_seconds):
                passed.append((r.times[k], 0, OFFLINE_RULE, False, link.evidence(k, s), k))
        verdicts = (tamper.covered, tamper.defocused, tamper.turned, activity.crowd, activity.intrusion)
        for order, rule in enumerate(_OBSERVED, start=1):
            actives = verdicts[order - 1]
            for k in _passed(state.gates[rule], r.times, actives, 0, s.quiet_seconds):
                passed.append((r.times[k], order, rule, actives[k], self._evidence(rule, k, r, tamper, activity), k))
        passed.sort(key=lambda p: (p[0], p[1]))
        return [
            self._signal(
                key, state, rule, active, evidence, t, None if k is None else r.observations[k].payload.snapshot_ref
            )
            for t, _, rule, active, evidence, k in passed
        ]

    def _silences(self, gate: Gate, times: Sequence[float], link: LinkTrail) -> list[Passed]:
        """Offline verdicts of a run in which silences over the limit ended: offline at the limit, back after."""
        s = self.settings
        out: list[Passed] = []
        silent = set(link.silences)
        for k in range(link.first, len(times)):
            evidence = link.evidence(k, s)
            if k in silent:
                gap, usual, limit = evidence
                went = times[k] - gap + limit
                if gate.offer(went, True, s.quiet_seconds, usual):
                    out.append((went, 0, OFFLINE_RULE, True, (limit, usual, limit), None))
            if gate.offer(times[k], False, s.quiet_seconds):
                out.append((times[k], 0, OFFLINE_RULE, False, evidence, k))
        return out

    def _evidence(self, rule: str, k: int, r: Readings, tamper: TamperTrail, activity: ActivityTrail) -> Evidenced:
        """Observed value, baseline and threshold of a rule's verdict on observation ``k``."""
        s = self.settings
        reference_b, reference_s, usual_px, turn_at, usual_step = tamper.references[k]
        if rule == COVERED_RULE:
            healthy = math.expm1(reference_b)
            return r.brightness[k], healthy, healthy * s.covered_brightness_share
        if rule == DEFOCUSED_RULE:
            drop = max(-math.log(s.defocus_sharpness_share), s.defocus_step_multiple * usual_step)
            return r.sharpness[k], math.expm1(reference_s), math.expm1(reference_s - drop)
        if rule == TURNED_RULE:
            return r.displacement[k], usual_px, turn_at
        levels = activity.levels[k]
        if levels is None:
            return r.people[k], 0.0, 0.0
        _, expected_b, crowd_b, _ = levels
        if rule == CROWD_RULE:
            return math.expm1(activity.median_people(k)), expected_b, crowd_b
        return r.people[k], expected_b, s.intrusion_allowance

    def _prior(self, scene: str | None) -> ScenePrior:
        prior = self._priors.get(scene)
        if prior is None:
            prior = self._priors[scene] = scene_prior(scene, self.settings)
        return prior

    def _signal(
        self, key: str, state: CameraState, rule: str, active: bool, evidence: Evidenced, t: float, snapshot: str | None
    ) -> Signal:
        kind, severity, summary = _RULES[rule]
        observed, baseline, threshold = evidence
        return Signal(
            rule=rule,
            kind=kind,
            entity_id=key,
            district=state.district,
            commune=state.commune,
            active=active,
            event_time=t,
            severity=severity,
            evidence=Evidence(
                observed=round(observed, 4),
                baseline=round(baseline, 4),
                threshold=round(threshold, 4),
                event_time=t,
                snapshot_ref=snapshot,
            ),
            summary=summary.format(id=key, observed=observed),
        )


def _passed(gate: Gate, times: Sequence[float], actives: list[bool], first: int, quiet: float) -> list[int]:
    """Indices (from ``first``) of the verdicts the gate lets through; skips the run if it cannot pass any."""
    if not gate.active and True not in actives and (gate.quiet_until is None or gate.quiet_until < times[first]):
        return []
    offer = gate.offer
    return [k for k in range(first, len(times)) if offer(times[k], actives[k], quiet)]


def detectors_for(profile: Profile) -> list[Detector]:
    """What a worker runs on ``ioc.camera.observations`` by default."""
    return [CameraDetector(profile)]
