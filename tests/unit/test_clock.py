"""The sandbox clock: immutable states (freeze, set, advance, unfreeze) checked against 2000-2099, adopted by
a process's Clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from enkash_sandbox.clock import EARLIEST, LATEST, Clock, ClockOutOfRange, ClockState, utcnow_real

AT = datetime(2030, 5, 17, 9, 30, 0)
SLACK = timedelta(seconds=5)


def near(a: datetime, b: datetime) -> bool:
    return abs(a - b) < SLACK


def test_a_new_state_tells_real_time():
    state = ClockState()
    assert state.frozen_at is None and state.offset == timedelta(0)
    assert near(state.now(), utcnow_real())
    assert state.now().tzinfo is None  # naive UTC, like every timestamp in the store


def test_freeze_at_an_instant_stops_time_there():
    frozen = ClockState().freeze(AT)
    assert frozen.now() == AT
    assert frozen.now() == AT  # still: it does not tick
    assert frozen.describe() == {
        "now": "2030-05-17T09:30:00.000Z",
        "frozen": True,
        "frozen_at": AT.isoformat(),
        "offset_seconds": 0.0,
    }


def test_freeze_without_an_instant_freezes_the_current_time():
    shifted = ClockState(offset=timedelta(days=400))
    frozen = shifted.freeze()
    assert near(frozen.now(), utcnow_real() + timedelta(days=400))


def test_changes_return_new_states_and_leave_the_old_one_alone():
    original = ClockState()
    frozen = original.freeze(AT)
    advanced = frozen.advance(60)
    assert original.frozen_at is None
    assert frozen.now() == AT
    assert advanced.now() == AT + timedelta(seconds=60)
    with pytest.raises(AttributeError):
        frozen.frozen_at = None  # type: ignore[misc]  # frozen dataclass


def test_advance_a_frozen_clock_moves_the_frozen_instant_exactly():
    state = ClockState().freeze(AT).advance(3600.5).advance(-0.5)
    assert state.now() == AT + timedelta(hours=1)
    assert state.frozen_at == AT + timedelta(hours=1)


def test_advance_a_running_clock_moves_its_offset():
    state = ClockState().advance(86400 * 10)
    assert state.frozen_at is None
    assert state.offset == timedelta(days=10)
    assert near(state.now(), utcnow_real() + timedelta(days=10))
    assert near(state.advance(-86400 * 10).now(), utcnow_real())


def test_set_on_a_running_clock_keeps_it_running_from_there():
    state = ClockState().set(AT)
    assert state.frozen_at is None
    assert near(state.now(), AT)
    assert state.now() >= AT  # it runs on from the instant set


def test_set_on_a_frozen_clock_keeps_it_frozen():
    state = ClockState().freeze(datetime(2040, 1, 1)).set(AT)
    assert state.frozen_at == AT and state.now() == AT


def test_unfreeze_carries_on_from_the_frozen_instant():
    running = ClockState().freeze(AT).unfreeze()
    assert running.frozen_at is None
    assert near(running.now(), AT)
    same = ClockState(offset=timedelta(seconds=7))
    assert same.unfreeze() is same  # nothing to unfreeze


@pytest.mark.parametrize("at", [EARLIEST, LATEST, datetime(2000, 1, 1, 0, 0, 0), datetime(2099, 12, 31, 0, 0, 0)])
def test_the_bounds_themselves_are_accepted(at):
    assert ClockState().freeze(at).now() == at
    assert ClockState().freeze(AT).set(at).now() == at


@pytest.mark.parametrize(
    "at", [datetime(1999, 12, 31, 23, 59, 59), datetime(2099, 12, 31, 0, 0, 1), datetime(2100, 1, 1), datetime(1, 1, 1)]
)
def test_instants_outside_2000_to_2099_are_refused(at):
    with pytest.raises(ClockOutOfRange, match="between 2000-01-01 and 2099-12-31"):
        ClockState().freeze(at)
    with pytest.raises(ClockOutOfRange):
        ClockState().freeze(AT).set(at)
    with pytest.raises(ClockOutOfRange):
        ClockState().set(at)


@pytest.mark.parametrize("seconds", [100 * 366 * 86400, -100 * 366 * 86400, 1e12, -1e12, 1e20])
def test_advancing_out_of_range_is_refused_not_overflowed(seconds):
    for state in (ClockState(), ClockState().freeze(AT)):
        with pytest.raises(ClockOutOfRange):
            state.advance(seconds)


def test_advancing_to_just_inside_the_bound_is_accepted():
    state = ClockState().freeze(LATEST - timedelta(seconds=10)).advance(10)
    assert state.now() == LATEST
    with pytest.raises(ClockOutOfRange):
        state.advance(1)


def test_clock_out_of_range_is_a_value_error():
    assert issubclass(ClockOutOfRange, ValueError)


def test_a_clock_adopts_a_state_and_tells_its_time():
    clock = Clock()
    assert clock.current == ClockState()
    assert near(clock.now(), utcnow_real())
    frozen = ClockState().freeze(AT)
    clock.adopt(frozen)
    assert clock.current is frozen
    assert clock.now() == AT
    assert clock.state()["frozen"] is True and clock.state()["now"] == "2030-05-17T09:30:00.000Z"
    clock.adopt(ClockState())
    assert near(clock.now(), utcnow_real())
    assert clock.state()["frozen"] is False and clock.state()["frozen_at"] is None
