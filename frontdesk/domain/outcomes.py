"""How a call ended, and which outcome wins when a call has several.

One definition for the call log, the agent's call state, the CallWorkflow and the test-call
suite. Plain str values (a StrEnum), so rows, workflow payloads and campaign rules can carry
them as strings; this module imports nothing else, so the workflow sandbox may import it.
"""

from enum import StrEnum
from typing import Final


class Outcome(StrEnum):
    """How a call ended, as the call log and the test-call suite record it."""

    booked = "booked"
    rescheduled = "rescheduled"
    cancelled = "cancelled"
    confirmed = "confirmed"
    transferred = "transferred"
    message_taken = "message_taken"
    answered = "answered"
    opted_out = "opted_out"
    voicemail = "voicemail"
    dropped = "dropped"


# Outcomes not listed weigh 2: what the call achieved (booked, transferred...). A caller who
# books and then leaves a message, or goes silent, still booked.
_WEIGHT: Final[dict[str, int]] = {Outcome.answered: 0, Outcome.dropped: 0, Outcome.message_taken: 1}


def outweighs(outcome: str, current: str | None) -> bool:
    """Whether `outcome` replaces `current` as the call's outcome: a later one of equal or more
    weight does (a booking outranks a message, which outranks a plain answer)."""
    return current is None or _WEIGHT.get(outcome, 2) >= _WEIGHT.get(current, 2)
