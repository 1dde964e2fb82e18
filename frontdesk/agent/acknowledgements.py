"""The agent's ready phrases: short fixed words the caller hears at once, from the phrase cache.

Two kinds, both rendered once per voice by the realtime layer, so no speech synthesis waits on
them:

- an **acknowledgement** the platform says when a reply begins with a tool call ("Let me
  check."), instead of a silence as long as the tool round and the next message
  (`Acknowledgement` marks it in the reply's text stream). A tool that ends or hands over the call
  gets none: its own words matter;
- an **opener** the model may begin a reply with ("Okay.", "Thank you."), as the prompt asks: a
  reply's first sentence that is exactly one of them is heard as soon as it is written, while the
  rest is synthesized. None of them is filler that style.py strips ("Certainly!").
"""

from typing import Final


class Acknowledgement(str):
    """Words of a reply that are a fixed acknowledgement, spoken from the phrase cache."""

    __slots__ = ()


LOOKING: Final = Acknowledgement("Let me check.")
WORKING: Final = Acknowledgement("One moment.")
ACKNOWLEDGEMENTS: Final = (LOOKING, WORKING)

OPENERS: Final = (
    "Okay.",
    "Alright.",
    "Got it.",
    "Thank you.",
    "You're welcome.",
    "I'm sorry.",
    "Yes.",
    "No.",
)

READY_PHRASES: Final = frozenset({*ACKNOWLEDGEMENTS, *OPENERS})

_BY_TOOL: Final = {
    "get_availability": LOOKING,
    "identify_patient": LOOKING,
    "verify_insurance": LOOKING,
    "book_appointment": WORKING,
    "reschedule_appointment": WORKING,
    "cancel_appointment": WORKING,
    "confirm_appointment": WORKING,
    "send_confirmation": WORKING,
    "take_message": WORKING,
}


def acknowledgement_for(tool: str) -> Acknowledgement | None:
    """The phrase said before `tool` runs when nothing was said yet, or None."""
    return _BY_TOOL.get(tool)


def is_ready_phrase(clause: str) -> bool:
    """Whether a clause of a reply is one of the ready phrases (played from the phrase cache)."""
    return clause.strip() in READY_PHRASES
