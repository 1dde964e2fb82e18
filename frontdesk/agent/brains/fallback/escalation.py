"""Handing the call on: 911 first for a medical emergency, the right team for billing or clinical
questions, a person when asked, a message when no one can take the call, and goodbyes."""

import re

from frontdesk.agent.brains.fallback.dialogue import MAX_MISUNDERSTOOD, Awaiting, Task
from frontdesk.agent.brains.fallback.phrases import EMERGENCY
from frontdesk.agent.brains.fallback.reply import Reply
from frontdesk.agent.tools import TransferReason
from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.reading import Understanding

# What the agent says as it transfers, and the reason the transfer records, per intent.
_HANDOFFS: dict[Intent, tuple[tuple[str, ...], TransferReason]] = {
    Intent.emergency: ((EMERGENCY, "I'm connecting you with our team as well."), TransferReason.distress),
    Intent.distress: (
        ("I'm so sorry you're going through this. Let me get you to someone on our team right away.",),
        TransferReason.distress,
    ),
    Intent.billing: (("Our billing team can help with that. Let me transfer you.",), TransferReason.billing),
    Intent.clinical: (
        ("That's a question for our clinical team. Let me connect you with our nurse line.",),
        TransferReason.clinical,
    ),
    Intent.human: (
        ("Of course, let me connect you with someone from our team.",),
        TransferReason.caller_request,
    ),
}
ESCALATIONS = tuple(_HANDOFFS)
_CALL_BACK = re.compile(r"\b(call|ring) me\b|\bgive me a (ring|call)\b")


def escalate(r: Reply, intent: Intent, heard: Understanding) -> None:
    """Transfer for an intent of ESCALATIONS; after hours a message instead, unless it is urgent."""
    d = r.dialogue
    d.task = Task.message
    after_hours_message = r.profile.escalation.after_hours_policy == "take_message"
    if not r.is_open() and after_hours_message and intent in (Intent.human, Intent.billing, Intent.clinical):
        r.ask(
            Awaiting.message,
            "We're closed right now, so I can't put you through, but I can take a message and have "
            "someone call you back when we open.",
            "What would you like me to pass on?",
        )
        return
    if intent == Intent.human and heard.has(Intent.clinical, 3):
        intent = Intent.clinical  # "is that normal? can I talk to somebody?": the nurse line
    words, reason = _HANDOFFS[intent]
    r.speak(*words)
    r.use("transfer_to_human", reason=reason.value)


def message_asked(r: Reply, heard: Understanding) -> None:
    """The caller asks to leave a message or to be called back: a callback request is the
    message; otherwise the agent asks what to pass on."""
    r.dialogue.task = Task.message
    if _CALL_BACK.search(heard.text):
        r.speak("Of course, I'll pass that on.")
        take_message(r, heard.text)
    else:
        r.ask(Awaiting.message, "Of course. What would you like me to pass on?")


def take_message(r: Reply, words: str) -> None:
    """Leave the caller's words for the team (a message holds at most 500 characters)."""
    r.use("take_message", reason=words if len(words) <= 500 else words[:497] + "...")


def urgent_to_clinical_team(r: Reply, opening: str) -> None:
    """A dental urgency the agent does not book goes to the clinical (on-call) team at once."""
    r.dialogue.task = Task.message
    r.speak(opening, "Let me put you through to our clinical team right away.")
    r.use("transfer_to_human", reason=TransferReason.clinical.value)


def offer_human(r: Reply) -> None:
    """Something went wrong the agent cannot fix: a person takes over."""
    r.dialogue.task = Task.message
    r.speak("Let me connect you with someone from our team who can help.")
    r.use("transfer_to_human", reason=TransferReason.failure.value)


def not_understood(r: Reply) -> None:
    """Say what the agent can do; after too many misses, a person takes over."""
    d = r.dialogue
    d.misunderstood += 1
    if d.misunderstood > MAX_MISUNDERSTOOD:
        r.speak("I'm sorry, I'm not able to help with that myself.")
        d.task = Task.message
        r.use("transfer_to_human", reason=TransferReason.out_of_scope.value)
        return
    r.ask(
        Awaiting.nothing,
        "I'm sorry, I didn't quite get that. I can book, reschedule or cancel appointments, "
        "and answer questions about our hours, location and insurance. What can I do for you?",
    )


def goodbye(r: Reply) -> None:
    """End the call warmly."""
    if r.state.direction == "outbound":
        r.speak("Thanks for your time. Have a great day!")
    else:
        r.speak(f"Thank you for calling {r.profile.name}. Have a great day!")
    r.use("end_call")


def leave(r: Reply, words: str) -> None:
    """End a call with someone who is not the patient: polite words, no details."""
    r.dialogue.awaiting = Awaiting.nothing
    r.speak(words)
    r.use("end_call")
