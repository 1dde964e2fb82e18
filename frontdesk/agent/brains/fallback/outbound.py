"""Outbound calls: the greeting asked for the patient by first name. The agent first works out who
answered and says why it calls only to the patient (anyone else gets a polite goodbye and no
details), then asks the one question that follows: will they make it, or would they like to book."""

import re

from frontdesk.agent.brains.fallback.appointments import (
    SAME_DAY_AS_APPOINTMENT,
    continue_task,
    start_task,
    week_of_moved_appointment,
)
from frontdesk.agent.brains.fallback.dialogue import MAX_MISUNDERSTOOD, Awaiting, Task
from frontdesk.agent.brains.fallback.escalation import leave
from frontdesk.agent.brains.fallback.phrases import (
    ANYTHING_ELSE,
    BOOK_A_VISIT,
    RESCHEDULE_OR_CANCEL,
    WILL_YOU_COME,
)
from frontdesk.agent.brains.fallback.reply import Reply
from frontdesk.agent.opening import purpose_statement
from frontdesk.agent.tool_runner import appointment_summary
from frontdesk.agent.understanding.answering import Answerer, who_answered
from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.reading import Understanding
from frontdesk.agent.understanding.services import match_service


def begin_outbound(r: Reply) -> None:
    """Set up an outbound call: the appointment it is about, and (right after the greeting)
    waiting to hear who answered. A brain taking over later finds that question settled."""
    d, state = r.dialogue, r.state
    d.outbound_begun = True
    if (handle := state.call_appointment()) is not None:
        d.upcoming = [appointment_summary(handle, state.appointments[handle], r.profile)]
    agent_messages = [m for m in r.context.conversation.messages if m.role == "assistant"]
    if len(agent_messages) <= 1:  # only the greeting so far
        d.awaiting = Awaiting.patient
    else:
        d.patient_on_line = True


def _called_name(r: Reply) -> str | None:
    known = r.state.known_caller
    return known.first_name if known else None


def on_answered(r: Reply, heard: Understanding) -> None:
    """The answer to "May I speak with Maria?": the purpose for the patient, nothing for others."""
    d = r.dialogue
    name = _called_name(r)
    who = name or "the patient"
    match who_answered(heard.text, name):
        case Answerer.patient:
            _state_purpose(r)
        case Answerer.fetching:
            r.ask(Awaiting.patient, "Sure, I'll hold.")
        case Answerer.asks_why:
            r.ask(
                Awaiting.patient,
                f"This is {r.profile.agent_name} from {r.profile.name}. I'm sorry, I can only "
                f"discuss it with {who}. Is {who} available?",
            )
        case Answerer.someone_else:
            leave(r, "No problem, we'll try again another time. Thank you, and have a good day!")
        case Answerer.wrong_number:
            leave(r, "I'm sorry for the mix-up. Have a good day!")
        case Answerer.unclear if heard.has(Intent.goodbye):
            leave(r, "Goodbye!")
        case Answerer.unclear:
            d.misunderstood += 1
            if d.misunderstood > MAX_MISUNDERSTOOD:
                leave(r, "I'll try again another time. Goodbye!")
            else:
                r.ask(Awaiting.patient, f"Sorry, am I speaking with {who}?")


def _state_purpose(r: Reply) -> None:
    """The patient is on the line: say why we call and ask the one question that follows."""
    d, state = r.dialogue, r.state
    d.patient_on_line, d.misunderstood = True, 0
    name = _called_name(r)
    known = state.known_caller
    if known is not None and not d.first_name:
        # The patient said it is them: their record spares them repeating it when they book.
        d.first_name, d.last_name = known.first_name, known.last_name
        d.date_of_birth = known.date_of_birth.isoformat() if known.date_of_birth else None
    thanks = f"Thanks, {name}." if name else "Thank you."
    purpose = purpose_statement(r.profile, state)
    if state.call_appointment() is not None:
        r.ask(Awaiting.appointment_answer, thanks, purpose, WILL_YOU_COME)
    elif state.campaign_kind == "recall":
        d.service = match_service(purpose, {s.slug: s.name for s in r.profile.services})
        r.ask(Awaiting.appointment_answer, thanks, purpose, BOOK_A_VISIT)
    else:
        r.ask(Awaiting.anything_else, thanks, purpose, "Is there anything I can help you with?")


def on_appointment_answer(r: Reply, heard: Understanding) -> bool:
    """The answer to "will you make it?" (or "would you like to book?"); False when it is none."""
    d, handle = r.dialogue, r.state.call_appointment()
    # "Could I come in later that same day?" moves the call's appointment; other task requests
    # go to the usual flows, on the call's appointment.
    same_visit = handle is not None and _new_day(heard)
    if heard.primary in (Intent.reschedule, Intent.cancel) or (
        heard.primary == Intent.book and not same_visit
    ):
        return False
    yes = (heard.affirm or heard.has(Intent.confirm_appointment)) and not heard.deny
    if d.awaiting == Awaiting.change_choice:
        if heard.deny:
            r.ask(Awaiting.anything_else, "Okay, I'll leave it as it is.", ANYTHING_ELSE)
        elif yes:
            r.ask(Awaiting.change_choice, RESCHEDULE_OR_CANCEL)
        return heard.deny or yes
    if handle is None:  # a recall: "would you like to book a visit?"
        if yes or not heard.when.is_empty:
            start_task(r, Task.book)
            # "Sure, could I see Sarah Kim, Thursday afternoon?" (the patient's name is known).
            d.when = d.when.merge(heard.when)
            d.provider_id = heard.provider_id or d.provider_id
            d.service = heard.service or d.service
            continue_task(r, heard)
        elif heard.deny:
            r.ask(Awaiting.anything_else, "No problem, call us whenever you're ready.", ANYTHING_ELSE)
        return yes or heard.deny or not heard.when.is_empty
    if not yes and not heard.deny and (not heard.when.is_empty or _new_day(heard)):
        _move(r, handle, heard)  # "could we do later that same day instead, in the afternoon?"
        return True
    if yes:
        d.goodbye_after_action = heard.has(Intent.goodbye)
        d.carrier_to_check = heard.carrier  # "I'll be there. You still take Delta, right?"
        r.use("confirm_appointment", appointment_id=handle)
    elif heard.deny:
        r.ask(Awaiting.change_choice, "No problem.", RESCHEDULE_OR_CANCEL)
    return yes or heard.deny


# "Could we do Friday instead?", "later that same day": a new time for the call's appointment.
_NEW_DAY = re.compile(r"\binstead\b")


def _new_day(heard: Understanding) -> bool:
    return _NEW_DAY.search(heard.text) is not None or SAME_DAY_AS_APPOINTMENT.search(heard.text) is not None


def _move(r: Reply, handle: str, heard: Understanding) -> None:
    """Reschedule the call's appointment to the time the patient asks for."""
    d = r.dialogue
    start_task(r, Task.reschedule)
    d.appointment_id = handle
    d.when = d.when.merge(heard.when)
    week_of_moved_appointment(r, heard)  # "later that same day", "the week after"
    d.same_time = d.same_time or heard.same_time  # "Wednesday instead, same time"
    continue_task(r, heard)


def preset_call_appointment(r: Reply, intent: Intent | None) -> None:
    """On an outbound call, "move it" or "cancel it" is about the appointment the call is about
    (the patient said who they are; no other appointment is discussed without identification)."""
    d, state = r.dialogue, r.state
    handle = state.call_appointment()
    if (
        intent in (Intent.reschedule, Intent.cancel, Intent.confirm_appointment)
        and d.patient_on_line
        and handle is not None
        and state.appointments[handle].status in ("booked", "confirmed")
        and d.appointment_id is None
        and not d.identified
    ):
        d.appointment_id = handle
