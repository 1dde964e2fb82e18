"""What the agent says when a reply begins with a tool call: a short fixed phrase, so the caller
hears the agent at once instead of a silence as long as the tool round and the next message.

The phrases are few and fixed so the realtime layer renders them once per voice and plays them
from its phrase cache, with no speech synthesis on the way (`Acknowledgement` marks them in the
reply's text stream). A tool that ends or hands over the call gets none: its own words matter.
"""

from typing import Final


class Acknowledgement(str):
    """Words of a reply that are a fixed acknowledgement, spoken from the phrase cache."""

    __slots__ = ()


LOOKING: Final = Acknowledgement("Let me check.")
WORKING: Final = Acknowledgement("One moment.")
ACKNOWLEDGEMENTS: Final = (LOOKING, WORKING)

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
