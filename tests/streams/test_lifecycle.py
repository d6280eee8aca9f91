from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocsim.contract import ALERTS, Alert, Evidence, decode, encode
from iocsim.streams.errors import SettingsError, StateError
from iocsim.streams.lifecycle import AlertLifecycle, LifecycleSettings, RuleTiming, Signal, fingerprint

RULE = "camera_covered"


def signal(t: float, active: bool, entity: str = "cam-01", rule: str = RULE, severity: str = "warning") -> Signal:
    return Signal(
        rule=rule,
        kind="camera_covered",
        entity_id=entity,
        district="tua-chua",
        commune=None,
        active=active,
        event_time=t,
        severity=severity,  # type: ignore[arg-type]
        evidence=Evidence(observed=3.0, baseline=120.0, threshold=20.0, event_time=t),
        summary="brightness collapsed",
    )


def statuses(alerts: list[Alert]) -> list[tuple[str, float, float, float | None]]:
    return [(a.payload.status, a.event_time, a.payload.starts_at, a.payload.ends_at) for a in alerts]


def test_fires_at_once_and_resolves_with_default_timing() -> None:
    lifecycle = AlertLifecycle()
    alerts = lifecycle.process([signal(0, False), signal(60, True), signal(120, True), signal(180, False)])
    assert statuses(alerts) == [("firing", 60, 60, None), ("resolved", 180, 60, 180)]
    key = fingerprint(RULE, "cam-01")
    assert [a.event_id for a in alerts] == [f"{key}-60.000-firing", f"{key}-60.000-resolved"]
    assert all(a.payload.fingerprint == key and a.entity_id == "cam-01" for a in alerts)


def test_fires_only_after_condition_held_for_seconds() -> None:
    lifecycle = AlertLifecycle(LifecycleSettings(rules={RULE: RuleTiming(for_seconds=120)}))
    brief = lifecycle.process([signal(0, True), signal(60, True), signal(90, False)])
    assert brief == []
    held = lifecycle.process([signal(100, True), signal(160, True), signal(220, True), signal(280, True)])
    assert statuses(held) == [("firing", 220, 100, None)]


def test_hysteresis_absorbs_flapping_before_resolving() -> None:
    lifecycle = AlertLifecycle(LifecycleSettings(default=RuleTiming(resolve_after_seconds=300)))
    flapping = [signal(t, t % 120 == 0) for t in range(0, 1200, 60)]
    alerts = lifecycle.process([*flapping, signal(1200, False), signal(1500, False)])
    assert statuses(alerts) == [("firing", 0, 0, None), ("resolved", 1500, 0, 1140)]


def test_no_duplicate_firing_while_active_and_resolved_keeps_firing_severity() -> None:
    lifecycle = AlertLifecycle()
    alerts = lifecycle.process([signal(t, True, severity="critical") for t in range(0, 600, 60)])
    alerts += lifecycle.process([signal(600, False, severity="info")])
    assert [a.payload.status for a in alerts] == ["firing", "resolved"]
    assert [a.payload.severity for a in alerts] == ["critical", "critical"]


def test_replayed_and_late_signals_change_nothing() -> None:
    lifecycle = AlertLifecycle()
    first = lifecycle.process([signal(0, True), signal(60, False)])
    assert len(first) == 2
    assert lifecycle.process([signal(0, True), signal(30, True), signal(60, False)]) == []


def test_batch_order_does_not_matter() -> None:
    batch = [signal(t, t in (60, 120)) for t in (0, 60, 120, 180)]
    assert AlertLifecycle().process(batch) == AlertLifecycle().process(list(reversed(batch)))


def test_entities_and_rules_have_separate_alerts() -> None:
    alerts = AlertLifecycle().process([signal(0, True, "cam-01"), signal(0, True, "cam-02"), signal(0, True, rule="x")])
    assert len({a.payload.fingerprint for a in alerts}) == 3


def test_expire_resolves_silent_entities_only() -> None:
    lifecycle = AlertLifecycle(LifecycleSettings(stale_seconds=600))
    lifecycle.process([signal(0, True, "cam-01"), signal(0, True, "cam-02"), signal(500, True, "cam-02")])
    assert lifecycle.expire(599) == []
    expired = lifecycle.expire(700)
    assert [(a.entity_id, a.payload.status, a.event_time, a.payload.ends_at) for a in expired] == [
        ("cam-01", "resolved", 700, 0)
    ]
    assert lifecycle.firing() == [fingerprint(RULE, "cam-02")]
    assert lifecycle.expire(800) == []


def test_alerts_follow_the_contract() -> None:
    alerts = AlertLifecycle().process([signal(10, True), signal(20, False)])
    for alert in alerts:
        assert decode(ALERTS, encode(alert)) == alert


def test_state_is_json_and_rejects_broken_input() -> None:
    lifecycle = AlertLifecycle()
    lifecycle.process([signal(0, True)])
    state = json.loads(json.dumps(lifecycle.to_state()))
    restored = AlertLifecycle.from_state(state)
    assert restored.to_state() == lifecycle.to_state()
    key = fingerprint(RULE, "cam-01")
    with pytest.raises(StateError, match=f"{key}.phase"):
        AlertLifecycle.from_state({key: {**state[key], "phase": "burning"}})
    with pytest.raises(StateError, match=f"{key}.since"):
        AlertLifecycle.from_state({key: {k: v for k, v in state[key].items() if k != "since"}})


def test_settings_name_the_bad_field() -> None:
    with pytest.raises(SettingsError, match=r"rules\.x\.for_seconds"):
        LifecycleSettings(rules={"x": RuleTiming(for_seconds=-1)})
    with pytest.raises(SettingsError, match="stale_seconds"):
        LifecycleSettings(stale_seconds=0)


# --- properties ----------------------------------------------------------------

signals = st.lists(
    st.builds(
        signal,
        t=st.integers(0, 40).map(lambda i: i * 30.0),
        active=st.booleans(),
        entity=st.sampled_from(["cam-01", "cam-02"]),
        rule=st.sampled_from([RULE, "crowd"]),
    ),
    max_size=40,
)
timings = st.builds(
    LifecycleSettings,
    default=st.builds(RuleTiming, st.sampled_from([0.0, 30.0, 90.0]), st.sampled_from([0.0, 60.0, 120.0])),
)


def run_in_batches(lifecycle: AlertLifecycle, stream: list[Signal], size: int) -> list[Alert]:
    out: list[Alert] = []
    for start in range(0, len(stream), size):
        out += lifecycle.process(stream[start : start + size])
    return out


@settings(max_examples=150, deadline=None)
@given(stream=signals, config=timings, size=st.integers(1, 8))
def test_transitions_alternate_starting_with_firing(stream: list[Signal], config: LifecycleSettings, size: int) -> None:
    alerts = run_in_batches(AlertLifecycle(config), stream, size)
    by_key: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_key.setdefault(alert.payload.fingerprint, []).append(alert)
    for seq in by_key.values():
        assert [a.payload.status for a in seq] == ["firing", "resolved"] * (len(seq) // 2) + ["firing"] * (len(seq) % 2)
        assert [a.event_time for a in seq] == sorted(a.event_time for a in seq)
        for fired, resolved in zip(seq[::2], seq[1::2], strict=False):
            assert resolved.payload.starts_at == fired.payload.starts_at <= fired.event_time
            assert resolved.payload.ends_at is not None and fired.event_time < resolved.payload.ends_at
    assert len({a.event_id for a in alerts}) == len(alerts)


@settings(max_examples=150, deadline=None)
@given(stream=signals, config=timings, cut=st.integers(0, 40))
def test_replaying_a_prefix_adds_nothing(stream: list[Signal], config: LifecycleSettings, cut: int) -> None:
    lifecycle = AlertLifecycle(config)
    lifecycle.process(stream)
    assert lifecycle.process(stream[: min(cut, len(stream))]) == []


@settings(max_examples=150, deadline=None)
@given(stream=signals, config=timings, cut=st.integers(0, 40), size=st.integers(1, 8))
def test_restoring_state_mid_stream_changes_nothing(
    stream: list[Signal], config: LifecycleSettings, cut: int, size: int
) -> None:
    uninterrupted = AlertLifecycle(config)
    expected = run_in_batches(uninterrupted, stream[:cut], size) + run_in_batches(uninterrupted, stream[cut:], size)
    first = AlertLifecycle(config)
    head = run_in_batches(first, stream[:cut], size)
    second = AlertLifecycle.from_state(json.loads(json.dumps(first.to_state())), config)
    assert head + run_in_batches(second, stream[cut:], size) == expected
