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
(px) against its usual value and the level it fires at; crowd gives blobs
against the expected level and the level it fires at; intrusion gives blobs
against the usual level for the hour and the per-clip allowance; offline
gives the silence (s) against the camera's interval and the silence limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iocsim.contract import CAMERA_OBSERVATIONS, AlertKind, CameraObservation, Envelope, Evidence, Severity
from iocsim.sim.calendar import ProvinceCalendar
from iocsim.sim.profiles import Profile
from iocsim.streams.detector import Detector
from iocsim.streams.detectors.camera_rules import Verdict, judge_activity, judge_tamper, larger, median, smaller
from iocsim.streams.detectors.camera_settings import (
    CAMERA_RULES,
    COVERED_RULE,
    CROWD_RULE,
    DEFOCUSED_RULE,
    INTRUSION_RULE,
    OFFLINE_RULE,
    TURNED_RULE,
    CameraDetectorSettings,
    camera_lifecycle_rules,
    camera_lifecycle_settings,
)
from iocsim.streams.detectors.camera_state import CameraState
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
    CROWD_RULE: ("crowd", "warning", "unusual crowd at camera {id} ({observed:.1f} blobs)"),
    INTRUSION_RULE: ("night_intrusion", "critical", "people loitering at camera {id} at night"),
}


class CameraDetector:
    """All camera rules over one state per camera (see module docstring)."""

    name = "cameras"
    topic = CAMERA_OBSERVATIONS

    def __init__(self, profile: Profile, settings: CameraDetectorSettings | None = None) -> None:
        self.profile = profile
        self.settings = settings or CameraDetectorSettings()
        self.calendar = ProvinceCalendar(profile.calendar)
        self._states: dict[str, CameraState] = {}

    def state_keys(self, messages: Sequence[Envelope]) -> set[str]:
        return {m.entity_id for m in messages if isinstance(m, CameraObservation)}

    def load_state(self, key: str, state: dict[str, Any]) -> None:
        self._states[key] = CameraState.from_dict(key, state)

    def export_state(self, key: str) -> dict[str, Any] | None:
        state = self._states.get(key)
        return None if state is None else state.to_dict()

    def forget(self, key: str) -> None:
        self._states.pop(key, None)

    def camera_ids(self) -> list[str]:
        return sorted(self._states)

    def update(self, messages: Sequence[Envelope]) -> list[Signal]:
        by_camera: dict[str, list[CameraObservation]] = {}
        for m in messages:
            if isinstance(m, CameraObservation):
                by_camera.setdefault(m.entity_id, []).append(m)
        signals: list[Signal] = []
        for key in sorted(by_camera):
            for observation in sorted(by_camera[key], key=lambda o: o.event_time):
                signals.extend(self._observe(key, observation))
        return signals

    def tick(self, event_time: float) -> list[Signal]:
        signals: list[Signal] = []
        for key in sorted(self._states):
            state = self._states[key]
            if state.last is None or event_time <= state.last:
                continue
            interval = self._interval(state)
            silence, limit = event_time - state.last, self._silence_limit(state, interval)
            if silence > limit:
                state.offline = True
            gate = state.gate(OFFLINE_RULE)
            if state.offline and gate.offer(event_time, True, self.settings.quiet_seconds, interval):
                verdict = Verdict(OFFLINE_RULE, True, silence, interval, limit)
                signals.append(self._signal(key, state, verdict, event_time, None))
        return signals

    def _observe(self, key: str, o: CameraObservation) -> list[Signal]:
        s, t = self.settings, o.event_time
        state = self._states.get(key)
        if state is None:
            camera = self.profile.camera_by_id.get(key)
            state = self._states[key] = CameraState(
                district=o.district, commune=o.commune, scene=camera.scene if camera else None
            )
        elif state.last is not None and t <= state.last:
            return []
        verdicts: list[Verdict] = []
        if state.last is not None:
            verdicts.append(self._back_online(state, t))
        state.last = t
        verdicts.extend(judge_tamper(state.tamper, o.payload, t, s))
        verdicts.extend(judge_activity(state, o.payload, self.calendar.hour(t), s, state.tamper.any_active()))
        signals = []
        for verdict in verdicts:
            if state.gate(verdict.rule).offer(t, verdict.active, s.quiet_seconds):
                signals.append(self._signal(key, state, verdict, t, o.payload.snapshot_ref))
        return signals

    def _back_online(self, state: CameraState, t: float) -> Verdict:
        """Learn the interval and ordinary outage lengths from the gap before ``t``; clear the offline verdict."""
        assert state.last is not None
        gap = t - state.last
        interval = self._interval(state)
        limit = self._silence_limit(state, interval)
        state.gaps.append(gap)
        del state.gaps[: -self.settings.gap_memory]
        if gap > 1.5 * interval and not state.offline:
            outage = smaller(gap - interval, limit)
            prior = state.outage if state.outage is not None else self.settings.outage_prior_seconds
            state.outage = prior + self.settings.outage_alpha * (outage - prior)
        state.offline = False
        return Verdict(OFFLINE_RULE, False, gap, interval, limit)

    def _interval(self, state: CameraState) -> float:
        return median(state.gaps) if state.gaps else self.settings.interval_prior_seconds

    def _silence_limit(self, state: CameraState, interval: float) -> float:
        """How long a silence may last before the camera counts as offline; ``interval`` is :meth:`_interval`."""
        s = self.settings
        outage = state.outage if state.outage is not None else s.outage_prior_seconds
        limit = s.offline_outage_multiple * outage
        return smaller(s.offline_max_seconds, larger(larger(s.offline_min_seconds, limit), 3 * interval))

    def _signal(self, key: str, state: CameraState, v: Verdict, t: float, snapshot: str | None) -> Signal:
        kind, severity, summary = _RULES[v.rule]
        return Signal(
            rule=v.rule,
            kind=kind,
            entity_id=key,
            district=state.district,
            commune=state.commune,
            active=v.active,
            event_time=t,
            severity=severity,
            evidence=Evidence(
                observed=round(v.observed, 4),
                baseline=round(v.baseline, 4),
                threshold=round(v.threshold, 4),
                event_time=t,
                snapshot_ref=snapshot,
            ),
            summary=summary.format(id=key, observed=v.observed),
        )


def detectors_for(profile: Profile) -> list[Detector]:
    """What a worker runs on ``ioc.camera.observations`` by default."""
    return [CameraDetector(profile)]
