"""What the fallback brain says more than once, and how it speaks lists and offers."""

ANYTHING_ELSE = "Is there anything else I can help you with?"
# The outbound call's questions once the patient is on the line.
WILL_YOU_COME = "Will you be able to make it?"
BOOK_A_VISIT = "Would you like to book a visit?"
RESCHEDULE_OR_CANCEL = "Would you like to reschedule it, or cancel it?"
OPTED_OUT = {
    "calls": "I've taken your number off our call list.",
    "sms": "I've stopped our text messages to this number.",
    "all": "I've taken your number off our call and text lists.",
}
EMERGENCY = "If this is a medical emergency, please hang up and dial 911 right now."
WHY_DETAILS = (
    "We use your name and date of birth to find your record, so we only ever discuss your "
    "appointments with you."
)


def spoken_list(items: list[str], joiner: str = "and") -> str:
    """ "a, b, and c" (or "a, b, or c")."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f", {joiner} " + items[-1]


def spoken_offers(descriptions: list[str]) -> str:
    """The offer, the date said once when the slots share it ("On Tuesday, December 1st, I have...")."""
    days = {d.split(" at ")[0] for d in descriptions}
    if len(days) == 1 and len(descriptions) > 1:
        times = [d.split(" at ", 1)[1] for d in descriptions]
        return f"On {days.pop()}, I have " + spoken_list(times, "or") + "."
    return "I have " + spoken_list(descriptions, "or") + "."


def bot_answer(agent_name: str, clinic: str) -> str:
    """The honest answer to "am I talking to a real person?"."""
    return (
        f"I'm {agent_name}, {clinic}'s virtual receptionist, so not a person, but I can book, move or "
        "cancel appointments and answer questions, and I can put you through to our team any time."
    )
