"""Correlation of incident bursts with unusual camera activity, per district."""

from __future__ import annotations

from iocsim.contract import Alert, AlertDetails, Evidence
from iocsim.streams.detectors.correlation import RULE, CorrelationDetector
from iocsim.streams.lifecycle import AlertLifecycle, LifecycleSettings, Signal, fingerprint

T0 = 1747000000.0


def alert(kind: str, entity: str, district: str, status: str, t: float, starts_at: float) -> Alert:
    rule = {"incident_burst": "incidents.burst", "crowd": "cameras.crowd"}.get(kind, f"x.{kind}")
    key = fingerprint(rule, entity)
    return Alert(
        event_id=f"{key}-{starts_at:.3f}-{status}",
        entity_id=entity,
        district=district,
        commune=entity if kind == "incident_burst" else None,
        event_time=t,
        payload=AlertDetails(
            fingerprint=key,
            rule=rule,
            kind=kind,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            severity="warning",
            starts_at=starts_at,
            evidence=Evidence(observed=1.0, baseline=0.0, threshold=1.0, event_time=t),
        ),
    )


def transitions(signals: list[Signal]) -> list[tuple[str, str]]:
    alerts = AlertLifecycle(LifecycleSettings()).process(signals)
    return [(a.entity_id, a.payload.status) for a in alerts]


def test_a_burst_and_a_crowd_in_one_district_fire_once_and_resolve_when_neither_fires() -> None:
    detector = CorrelationDetector()
    burst = alert("incident_burst", "tua-chua/huoi-so", "tua-chua", "firing", T0, T0 - 60)
    crowd = alert("crowd", "TC-12", "tua-chua", "firing", T0 + 600, T0 + 570)
    signals = detector.update([burst]) + detector.update([crowd])
    signals += detector.update([crowd, burst])  # replayed: nothing new
    signals += detector.tick(T0 + 700)
    signals += detector.update([alert("crowd", "TC-12", "tua-chua", "resolved", T0 + 1800, T0 + 570)])
    assert transitions(signals) == [("tua-chua", "firing")]
    signals += detector.update([alert("incident_burst", "tua-chua/huoi-so", "tua-chua", "resolved", T0 + 2400, T0)])
    assert transitions(signals) == [("tua-chua", "firing"), ("tua-chua", "resolved")]
    fired = next(s for s in signals if s.active)
    assert (fired.rule, fired.kind, fired.severity) == (RULE, "correlated_incident", "critical")
    assert "tua-chua/huoi-so" in fired.summary and "TC-12" in fired.summary
    assert fired.evidence.observed == 0.0


def test_a_crowd_that_ended_minutes_before_the_reports_still_correlates_with_them() -> None:
    detector = CorrelationDetector()
    signals = detector.update(
        [
            alert("crowd", "TC-12", "tua-chua", "firing", T0, T0),
            alert("crowd", "TC-12", "tua-chua", "resolved", T0 + 300, T0),
        ]
    )
    signals += detector.update(
        [alert("incident_burst", "tua-chua/huoi-so", "tua-chua", "firing", T0 + 1200, T0 + 1140)]
    )
    assert transitions(signals) == [("tua-chua", "firing")]
    assert signals[-1].evidence.observed == 840.0
    signals += detector.update(
        [alert("incident_burst", "tua-chua/huoi-so", "tua-chua", "resolved", T0 + 4000, T0 + 1140)]
    )
    assert transitions(signals) == [("tua-chua", "firing"), ("tua-chua", "resolved")]


def test_different_districts_or_distant_starts_do_not_correlate() -> None:
    detector = CorrelationDetector()
    signals = detector.update(
        [
            alert("incident_burst", "tua-chua/huoi-so", "tua-chua", "firing", T0, T0),
            alert("crowd", "MA-01", "muong-ang", "firing", T0 + 60, T0 + 30),
            alert("incident_burst", "muong-nhe/sin-thau", "muong-nhe", "firing", T0 + 60, T0 + 60),
            alert("incident_burst", "muong-nhe/sin-thau", "muong-nhe", "resolved", T0 + 1800, T0 + 60),
            alert("night_intrusion", "MN-04", "muong-nhe", "firing", T0 + 3700, T0 + 3610),
        ]
    )
    assert [s for s in signals if s.active] == []


def test_its_own_alerts_and_other_kinds_are_ignored() -> None:
    detector = CorrelationDetector()
    own = alert("correlated_incident", "tua-chua", "tua-chua", "firing", T0, T0)
    other = alert("camera_covered", "TC-02", "tua-chua", "firing", T0, T0)
    assert detector.state_keys([own, other]) == set()
    assert detector.update([own, other]) == []


def test_state_survives_export_and_import() -> None:
    first = CorrelationDetector()
    first.update([alert("incident_burst", "tua-chua/huoi-so", "tua-chua", "firing", T0, T0)])
    exported = first.export_state("tua-chua")
    assert exported is not None
    second = CorrelationDetector()
    second.load_state("tua-chua", exported)
    signals = second.update([alert("night_intrusion", "TC-04", "tua-chua", "firing", T0 + 60, T0 + 30)])
    assert [(s.entity_id, s.active) for s in signals] == [("tua-chua", True)]
    assert second.tick(T0 + 200) == []
    assert [s.active for s in second.tick(T0 + 400)] == [True]  # heartbeat keeps the alert fresh
