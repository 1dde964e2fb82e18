"""A call's clock: the offset a ?clock= instant asks for, and the clock it gives."""

from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.domain.call_clock import CallClockError, call_clock, clock_offset

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_an_instant_becomes_the_seconds_from_now() -> None:
    assert clock_offset("2026-11-23T09:30:00-05:00", NOW) == -21.5 * 3600  # 14:30 UTC the day before
    assert clock_offset("2026-11-24T12:00:30Z", NOW) == 30.0


@pytest.mark.parametrize(
    ("clock", "problem"),
    [("next monday", "ISO 8601"), ("2026-11-23T09:30", "UTC offset"), ("1900-01-01T00:00:00Z", "ten years")],
)
def test_a_bad_instant_is_refused_saying_why(clock: str, problem: str) -> None:
    with pytest.raises(CallClockError, match=problem):
        clock_offset(clock, NOW)


def test_the_call_clock_runs_at_real_speed_shifted_by_the_offset() -> None:
    real = datetime.now(UTC)
    shifted = call_clock(-86400.0)()
    assert shifted.tzinfo is not None
    # The shifted clock read just after real time: a day behind, give or take the moment between.
    assert timedelta(hours=23) < real - shifted < timedelta(hours=25)
    assert abs(call_clock()() - datetime.now(UTC)) < timedelta(minutes=1)
