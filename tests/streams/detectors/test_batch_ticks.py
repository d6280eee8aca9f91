from iocsim.streams.detectors.batch_ticks import BatchTicks


def test_the_first_message_ticks_and_the_next_tick_waits_a_full_step() -> None:
    ticks = BatchTicks(60.0)
    assert ticks.due(1000.0)
    ticks.ticked(1000.0)
    assert not ticks.due(1059.9)
    assert ticks.due(1060.0)


def test_a_tick_older_than_the_last_one_does_not_move_the_clock_back() -> None:
    ticks = BatchTicks(60.0)
    ticks.ticked(1000.0)
    ticks.ticked(500.0)
    assert ticks.last == 1000.0
    assert not ticks.due(1030.0)
