from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from iocsim.sim.queueing import TicketEvent, Walkins, simulate_session


def walkins(arrival: list[float], patience: list[float], service: list[float]) -> Walkins:
    return Walkins(np.array(arrival), np.array(patience), np.array(service))


def steps_of(events: list[TicketEvent], ticket: int) -> list[tuple[str, float]]:
    return [(e.step, e.time) for e in events if e.ticket == ticket]


def test_one_counter_serves_in_arrival_order() -> None:
    events = simulate_session(walkins([0, 1, 2], [100, 100, 100], [10, 10, 10]), [(0, 1)], send_home_at=1000)
    called = [(e.ticket, e.time, e.wait_seconds) for e in events if e.step == "ticket_called"]
    assert called == [(0, 0, 0), (1, 10, 9), (2, 20, 18)]
    assert steps_of(events, 2) == [("ticket_issued", 2), ("ticket_called", 20), ("ticket_served", 30)]


def test_impatient_person_leaves_and_the_next_is_called() -> None:
    events = simulate_session(walkins([0, 1, 2], [100, 5, 100], [10, 10, 10]), [(0, 1)], send_home_at=1000)
    assert steps_of(events, 1) == [("ticket_issued", 1), ("ticket_abandoned", 6)]
    assert ("ticket_called", 10) in steps_of(events, 2)


def test_closed_counters_let_the_queue_grow_until_people_give_up() -> None:
    events = simulate_session(walkins([0, 1, 2], [50, 60, 70], [5, 5, 5]), [(0, 0)], send_home_at=1000)
    assert [e.queue_length for e in events if e.step == "ticket_issued"] == [1, 2, 3]
    assert [(e.ticket, e.time) for e in events if e.step == "ticket_abandoned"] == [(0, 50), (1, 61), (2, 72)]


def test_reopened_counter_calls_the_waiting_and_closing_one_finishes_its_ticket() -> None:
    schedule = [(0.0, 1), (5.0, 0), (30.0, 2)]
    events = simulate_session(walkins([0, 1, 2], [100, 100, 100], [10, 10, 10]), schedule, send_home_at=1000)
    assert steps_of(events, 0) == [("ticket_issued", 0), ("ticket_called", 0), ("ticket_served", 10)]
    assert [(e.ticket, e.time, e.counters_open) for e in events if e.step == "ticket_called"][1:] == [
        (1, 30, 2),
        (2, 30, 2),
    ]


def test_those_still_waiting_at_the_end_of_overtime_are_sent_home() -> None:
    events = simulate_session(walkins([0, 1], [1e6, 1e6], [100, 100]), [(0, 1)], send_home_at=50)
    assert steps_of(events, 1) == [("ticket_issued", 1), ("ticket_abandoned", 50)]
    assert steps_of(events, 0)[-1] == ("ticket_served", 100)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 3600), st.floats(0.5, 3600), st.floats(1, 1800)),
        min_size=1,
        max_size=60,
    ),
    st.lists(st.tuples(st.floats(0, 3600), st.integers(0, 4)), max_size=4),
    st.integers(0, 4),
)
def test_queue_invariants(
    people: list[tuple[float, float, float]], changes: list[tuple[float, int]], initial: int
) -> None:
    people.sort()
    arrival, patience, service = (list(column) for column in zip(*people, strict=True))
    schedule = [(0.0, initial), *sorted(changes)]
    send_home_at = 4000.0
    events = simulate_session(walkins(arrival, patience, service), schedule, send_home_at)

    assert [e.time for e in events] == sorted(e.time for e in events)
    steps: dict[int, list[str]] = defaultdict(list)
    waiting = busy = 0
    called_order = []
    for e in events:
        steps[e.ticket].append(e.step)
        waiting += {"ticket_issued": 1, "ticket_called": -1, "ticket_abandoned": -1}.get(e.step, 0)
        busy += {"ticket_called": 1, "ticket_served": -1}.get(e.step, 0)
        assert 0 <= busy <= max([initial, *(n for _, n in changes)])
        assert e.queue_length == waiting >= 0
        if e.step in ("ticket_called", "ticket_abandoned"):
            assert e.wait_seconds is not None
            assert abs(e.wait_seconds - (e.time - arrival[e.ticket])) < 1e-9
            assert e.wait_seconds >= 0
        if e.step == "ticket_abandoned":
            assert e.wait_seconds is not None
            assert e.wait_seconds <= patience[e.ticket] + 1e-9
            if e.time < send_home_at:
                assert busy >= e.counters_open, "nobody gives up while a counter is free"
        if e.step == "ticket_called":
            called_order.append(e.ticket)
            assert e.time <= send_home_at
    assert waiting == 0
    assert sorted(steps) == list(range(len(arrival)))
    for ticket_steps in steps.values():
        assert ticket_steps in (
            ["ticket_issued", "ticket_called", "ticket_served"],
            ["ticket_issued", "ticket_abandoned"],
        )
    assert called_order == sorted(called_order), "FIFO: tickets are called in the order they were issued"
