from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocsim.broker import ensure_topics
from iocsim.config import KafkaSettings
from iocsim.consumers.scoring import merge, render_text, score
from iocsim.contract import Alert, AlertDetails, AnomalyDetails, Evidence, TruthEvent, encode, encode_key
from iocsim.producers.publisher import Publisher

T0 = 1_747_000_000.0


def truth(kind: str, entity: str, start: float, end: float, n: int = 0, district: str = "d") -> TruthEvent:
    return TruthEvent(
        event_id=f"truth-{n}",
        entity_id=entity,
        district=district,
        event_time=T0 + start,
        payload=AnomalyDetails(kind=kind, start=T0 + start, end=T0 + end, scenario="s"),  # type: ignore[arg-type]
    )


def alert(
    kind: str,
    entity: str,
    at: float,
    status: str = "firing",
    fp: str | None = None,
    district: str = "d",
    rule: str | None = None,
) -> Alert:
    fingerprint = fp or f"{kind}-{entity}"
    return Alert(
        event_id=f"{fingerprint}-{at}-{status}",
        entity_id=entity,
        district=district,
        event_time=T0 + at,
        payload=AlertDetails(
            fingerprint=fingerprint,
            rule=rule or f"r.{kind}",
            kind=kind,
            status=status,  # type: ignore[arg-type]
            severity="warning",
            starts_at=T0 + at,
            evidence=Evidence(observed=1, baseline=0, threshold=0.5, event_time=T0 + at),
        ),
    )


def test_perfect_detection() -> None:
    result = score([truth("crowd", "TC-01", 100, 400)], [alert("crowd", "TC-01", 130)])
    (crowd,) = result.kinds
    assert (crowd.precision, crowd.recall, crowd.f1) == (1.0, 1.0, 1.0)
    assert crowd.detect_seconds == (30.0,)


def test_wrong_entity_early_alert_and_miss() -> None:
    truths = [truth("crowd", "TC-01", 100, 400, 0), truth("crowd", "TC-02", 1000, 1200, 1)]
    alerts = [alert("crowd", "TC-03", 150), alert("crowd", "TC-01", 50), alert("crowd", "TC-02", 1010)]
    (crowd,) = score(truths, alerts, grace_seconds=0).kinds
    assert crowd.detected == 1 and crowd.true_alerts == 1 and crowd.alerts == 3
    assert crowd.recall == 0.5 and crowd.precision == pytest.approx(1 / 3)


def test_duplicate_transitions_count_once_and_resolved_are_ignored() -> None:
    alerts = [alert("camera_covered", "MA-03", 60)] * 3 + [alert("camera_covered", "MA-03", 900, "resolved")]
    (covered,) = score([truth("camera_covered", "MA-03", 0, 600)], alerts).kinds
    assert covered.alerts == 1 and covered.precision == 1.0


def test_grace_period_after_the_end() -> None:
    t = [truth("portal_outage", "portal", 0, 100)]
    assert score(t, [alert("portal_outage", "portal", 150)], grace_seconds=60).kinds[0].detected == 1
    assert score(t, [alert("portal_outage", "portal", 150)], grace_seconds=10).kinds[0].detected == 0


def test_an_alert_on_the_message_that_starts_an_anomaly_detects_it_despite_rounding() -> None:
    """A closure at 100.0004 s is published at 100.000 s, to the millisecond: detected at once, not a false alarm."""
    t = [truth("counter_closure", "hcc-a", 100.0004, 400)]
    (closure,) = score(t, [alert("counter_closure", "hcc-a", 100.0)]).kinds
    assert (closure.detected, closure.alerts, closure.detect_seconds) == (1, 1, (0.0,))
    (closure,) = score(t, [alert("counter_closure", "hcc-a", 99.998)]).kinds
    assert (closure.detected, closure.alerts) == (0, 1)


def test_kinds_without_truth_are_reported_unscored() -> None:
    result = score([], [alert("report_overdue", "c1", 10)])
    assert result.kinds == () and result.unscored_alerts == {"report_overdue": 1}


def test_a_district_surge_explains_commune_bursts_inside_it() -> None:
    surge = truth("category_surge", "muong-nhe", 1000, 4000, 0, district="muong-nhe")
    burst = truth("incident_burst", "tuan-giao/quai-nua", 500, 900, 1, district="tuan-giao")
    alerts = [
        alert("incident_burst", "tuan-giao/quai-nua", 600, district="tuan-giao"),
        alert("incident_burst", "muong-nhe/sen-thuong", 1200, district="muong-nhe"),
        alert("incident_burst", "muong-nhe/leng-su-sin", 4000 + 899, district="muong-nhe"),
        alert("incident_burst", "muong-nhe/chung-chai", 4000 + 901, district="muong-nhe"),
        alert("incident_burst", "muong-cha/sa-tong", 1500, district="muong-cha"),
    ]
    bursts = next(k for k in score([surge, burst], alerts, grace_seconds=900).kinds if k.kind == "incident_burst")
    assert (bursts.alerts, bursts.true_alerts, bursts.explained_alerts, bursts.false_alerts) == (5, 1, 2, 2)
    assert bursts.precision == pytest.approx(1 / 3) and bursts.detected == 1
    assert bursts.as_dict()["explained_alerts"] == 2


def test_a_backlog_explains_late_alerts_in_its_aftermath_only() -> None:
    backlog = truth("processing_backlog", "hcc-muong-ang", 0, 86400, 0)
    alerts = [
        alert("processing_backlog", "hcc-muong-ang", 86400 + 9 * 3600),
        alert("processing_backlog", "hcc-muong-ang", 86400 + 8 * 86400, fp="much-later"),
        alert("processing_backlog", "hcc-tua-chua", 86400 + 3600),
    ]
    (backlogs,) = score([backlog], alerts, grace_seconds=900).kinds
    assert (backlogs.detected, backlogs.true_alerts, backlogs.explained_alerts, backlogs.false_alerts) == (0, 0, 1, 2)


def test_only_a_wider_kind_explains() -> None:
    closure = truth("counter_closure", "hcc-muong-nhe", 0, 4000, 0, district="muong-nhe")
    alerts = [alert("queue_surge", "hcc-muong-nhe", 100, district="muong-nhe")]
    (_, surges) = score([closure], alerts).kinds
    assert surges.kind == "queue_surge" and surges.explained_alerts == 0 and surges.precision == 0.0


def test_merged_runs_add_up_and_never_match_across_runs() -> None:
    one = score([truth("crowd", "TC-01", 100, 400, 0)], [alert("crowd", "TC-01", 130), alert("report_overdue", "c", 9)])
    other = score([truth("crowd", "TC-02", 100, 400, 1)], [alert("crowd", "TC-01", 200)])
    (crowd,) = merge([one, other]).kinds
    assert (crowd.anomalies, crowd.detected, crowd.alerts, crowd.true_alerts) == (2, 1, 2, 1)
    assert crowd.detect_seconds == (30.0,) and merge([one, other]).unscored_alerts == {"report_overdue": 1}
    (together,) = score(
        [truth("crowd", "TC-01", 100, 400, 0), truth("crowd", "TC-02", 100, 400, 1)],
        [alert("crowd", "TC-01", 130), alert("crowd", "TC-01", 200, fp="again")],
    ).kinds
    assert together.true_alerts == 2
    with pytest.raises(ValueError, match="grace"):
        merge([one, score([], [], grace_seconds=60)])


def test_the_score_names_each_missed_anomaly_and_false_alarm() -> None:
    truths = [
        truth("crowd", "TC-01", 100, 400, 0),
        truth("crowd", "TC-02", 1000, 1600, 1),
        truth("category_surge", "muong-nhe", 0, 4000, 2, district="muong-nhe"),
    ]
    alerts = [
        alert("crowd", "TC-01", 130),
        alert("crowd", "TC-03", 2000),
        alert("incident_burst", "muong-nhe/sen-thuong", 1200, district="muong-nhe"),
    ]
    result = score(truths, alerts, grace_seconds=0)
    assert [(o.entity_id, o.detect_seconds) for o in result.outcomes] == [
        ("TC-01", 30.0),
        ("TC-02", None),
        ("muong-nhe", None),
    ]
    assert [o.truth_id for o in result.missed] == ["truth-1", "truth-2"] and result.outcomes[1].scenario == "s"
    assert [(f.kind, f.entity_id, f.fired_at) for f in result.false_alarms] == [("crowd", "TC-03", T0 + 2000)]
    listed = json.loads(json.dumps(result.as_dict()))
    assert [a["detected"] for a in listed["anomalies"]] == [True, False, False]
    assert listed["false_alarms"] == [{"kind": "crowd", "entity_id": "TC-03", "fired_at": T0 + 2000}]
    text = render_text(result, listed=1)
    assert "missed (2, the first 1; the JSON lists all):" in text and "TC-02" in text and "muong-nhe " not in text
    assert "false alarms (1):\n  crowd                TC-03" in text
    assert "missed" not in render_text(result, listed=0)
    other = score([truth("crowd", "TC-04", 0, 60, 3)], [alert("crowd", "TC-05", 9)], grace_seconds=0)
    merged = merge([result, other])
    assert len(merged.outcomes) == 4 and [f.entity_id for f in merged.false_alarms] == ["TC-03", "TC-05"]


@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 5000)), max_size=30))
def test_precision_and_recall_are_ratios(points: list[tuple[int, float]]) -> None:
    truths = [truth("crowd", f"C{i}", 1000 * i, 1000 * i + 300, i) for i in range(3)]
    alerts = [alert("crowd", f"C{c}", at, fp=f"fp{c}-{at}") for c, at in points]
    result = score(truths, alerts)
    for k in result.kinds:
        assert 0 <= k.detected <= k.anomalies and 0 <= k.true_alerts <= k.alerts
        assert k.explained_alerts == 0 and k.false_alerts == k.alerts - k.true_alerts
        for value in (k.precision, k.recall, k.f1):
            assert value is None or 0.0 <= value <= 1.0
    assert len(result.outcomes) == sum(k.anomalies for k in result.kinds)
    assert len(result.outcomes) - len(result.missed) == sum(k.detected for k in result.kinds)
    assert len(result.false_alarms) == sum(k.false_alerts for k in result.kinds)


@pytest.mark.broker
def test_score_command_reads_both_topics(fresh_broker) -> None:  # type: ignore[no-untyped-def]
    publisher = Publisher(fresh_broker.address, KafkaSettings())
    publisher.send(truth("crowd", "TC-01", 100, 400))
    publisher.send(alert("crowd", "TC-01", 160))
    publisher.send(alert("crowd", "TC-09", 160))
    publisher.send_raw("ioc.alerts", b"x", b"not json")
    publisher.close()
    result = subprocess.run(
        [sys.executable, "-m", "iocsim.cli", "score", "--brokers", str(fresh_broker.address), "--json", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (crowd,) = json.loads(result.stdout)["kinds"]
    assert crowd["recall"] == 1.0 and crowd["precision"] == 0.5 and crowd["detect_median_s"] == 60.0
    assert "1 invalid messages on ioc.alerts" in result.stderr


def _score(address: object, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iocsim.cli", "score", "--brokers", str(address), *flags],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.broker
def test_score_command_reads_a_detector_under_test_on_its_own_topic(fresh_broker) -> None:  # type: ignore[no-untyped-def]
    ensure_topics(fresh_broker.address, {"acme.alerts": 1})
    publisher = Publisher(fresh_broker.address, KafkaSettings())
    publisher.send(truth("crowd", "TC-01", 100, 400))
    publisher.send(alert("crowd", "TC-07", 150))
    for theirs in (
        alert("crowd", "TC-01", 160, rule="acme.crowd"),
        alert("crowd", "TC-08", 170, rule="acme.crowd"),
        alert("crowd", "TC-09", 180, rule="other.crowd"),
    ):
        publisher.send_raw("acme.alerts", encode_key(theirs), encode(theirs))
    publisher.close()

    everything = _score(fresh_broker.address, "--alerts-topic", "acme.alerts", "--json", "-")
    assert everything.returncode == 0, everything.stderr
    (crowd,) = json.loads(everything.stdout)["kinds"]
    assert crowd["alerts"] == 3 and crowd["detected"] == 1 and crowd["detect_median_s"] == 60.0

    acme = _score(fresh_broker.address, "--alerts-topic", "acme.alerts", "--rules", "acme.", "--listed", "0")
    assert acme.returncode == 0, acme.stderr
    row = next(line for line in acme.stdout.splitlines() if line.startswith("crowd"))
    assert row.split()[1:6] == ["1", "1", "2", "0.50", "1.00"]
    assert "false alarms" not in acme.stdout

    listed = _score(fresh_broker.address, "--alerts-topic", "acme.alerts", "--listed", "1")
    assert "false alarms (2, the first 1; the JSON lists all):" in listed.stdout


@pytest.mark.broker
def test_score_command_names_a_topic_the_broker_lacks(fresh_broker) -> None:  # type: ignore[no-untyped-def]
    result = _score(fresh_broker.address, "--alerts-topic", "acme.alerts")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"iocsim score: error: --alerts-topic: topic acme.alerts does not exist on {fresh_broker.address}"
    )
    result = _score(fresh_broker.address, "--alerts-topic", "ioc.truth")
    assert result.stderr.strip() == "iocsim score: error: --alerts-topic: ioc.truth carries TruthEvents"
    result = _score(fresh_broker.address, "--rules", " , ")
    assert result.stderr.strip() == "iocsim score: error: --rules: ' , ' names no rule prefix"
