"""A call's clock: real time, or real time shifted by a fixed offset.

The test-call suite places each scenario's call at the moment the scenario says it happens
(`now:`), on a stack that allows it (`call_clock_override`): the voice webhook turns the
`?clock=` instant of its URL into an offset from real time, and everything the call decides by
the time (the prompt's date, opening hours, availability, the booking lead time) reads this
clock. A production stack refuses the query parameter.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

CLOCK_QUERY: Final = "clock"  # the voice webhook's query parameter: an ISO 8601 instant with offset
MAX_OFFSET: Final = timedelta(days=3650)


class CallClockError(ValueError):
    """A ?clock= the stack cannot honour; the message says why."""


def clock_offset(clock: str, now: datetime) -> float:
    """Seconds from `now` to the instant `clock` (ISO 8601 with a UTC offset)."""
    try:
        instant = datetime.fromisoformat(clock)
    except ValueError:
        raise CallClockError(f"?{CLOCK_QUERY}= must be an ISO 8601 instant, got {clock[:40]!r}") from None
    if instant.tzinfo is None:
        raise CallClockError(f"?{CLOCK_QUERY}= needs a UTC offset, e.g. 2026-11-23T09:30:00-05:00")
    offset = instant - now
    if abs(offset) > MAX_OFFSET:
        raise CallClockError(f"?{CLOCK_QUERY}= is more than ten years away")
    return offset.total_seconds()


def call_clock(offset_seconds: float = 0.0) -> Callable[[], datetime]:
    """The clock of a call shifted by `offset_seconds` (0: real time), aware in UTC."""
    shift = timedelta(seconds=offset_seconds)
    return lambda: datetime.now(UTC) + shift
