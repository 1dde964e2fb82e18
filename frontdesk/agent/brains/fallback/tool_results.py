"""What the fallback brain says and does once a tool has answered (or refused)."""

import json
from typing import Any

from frontdesk.agent.brains.fallback.appointments import NOTHING_SAID, continue_task, offer, search
from frontdesk.agent.brains.fallback.dialogue import Awaiting, Task
from frontdesk.agent.brains.fallback.escalation import goodbye, offer_human
from frontdesk.agent.brains.fallback.phrases import ANYTHING_ELSE, OPTED_OUT
from frontdesk.agent.brains.fallback.questions import after_insurance, service_of
from frontdesk.agent.brains.fallback.reply import Reply
from frontdesk.agent.conversation import ToolResultBlock
from frontdesk.agent.understanding.when import TimePreference

_DONE = {
    "book_appointment": "You're all set",
    "reschedule_appointment": "Done, I've moved it",
    "cancel_appointment": "Your appointment is cancelled",
    "confirm_appointment": "Thank you, you're confirmed",
}


def after_tool(r: Reply, tool: str, result: ToolResultBlock) -> None:
    """Carry on from a tool's result."""
    d = r.dialogue
    if result.is_error:
        _after_refusal(r, tool, result.content)
        return
    data: dict[str, Any] = json.loads(result.content)
    match tool:
        case "identify_patient":
            _after_identify(r, data)
        case "get_availability":
            _after_availability(r, data)
        case "book_appointment" | "reschedule_appointment" | "cancel_appointment" | "confirm_appointment":
            _after_change(r, tool, data)
        case "verify_insurance":
            after_insurance(r, data)
        case "opt_out":
            r.speak(OPTED_OUT[data["channel"]], "Have a good day!")
            r.use("end_call")
        case "take_message" if d.goodbye_after_action:
            d.task, d.goodbye_after_action = None, False
            goodbye(r)
        case "take_message":
            d.task = None
            when = "today" if r.is_open() else "when we open"
            r.ask(Awaiting.anything_else, f"Someone from our team will call you back {when}.", ANYTHING_ELSE)
        case "transfer_to_human" | "end_call":
            pass  # the call is leaving the agent; the words were said before the tool ran


def _after_change(r: Reply, tool: str, data: dict[str, Any]) -> None:
    d = r.dialogue
    d.task, d.offered, d.chosen, d.appointment_id, d.urgent = None, [], None, None, False
    d.when, d.same_time = TimePreference(), False
    _refresh_upcoming(r, data, cancelled=tool == "cancel_appointment")
    detail = f" for {data['when']}" if tool != "cancel_appointment" else ""
    booked = tool in ("book_appointment", "reschedule_appointment")
    d.just_changed = data["appointment_id"] if booked else None
    confirmation = "You'll get a text confirmation shortly." if booked else ""
    if d.carrier_to_check is not None:
        carrier, d.carrier_to_check = d.carrier_to_check, None
        r.speak(f"{_DONE[tool]}{detail}.", confirmation)
        r.use("verify_insurance", carrier=carrier)
        return
    if d.goodbye_after_action:
        d.goodbye_after_action = False
        r.speak(f"{_DONE[tool]}{detail}.", confirmation)
        goodbye(r)
        return
    if tool == "cancel_appointment":
        # A front desk offers the cancelled visit another time; a yes books the same service.
        d.service = service_of(r, data["appointment_id"])
        r.ask(Awaiting.rebook, f"{_DONE[tool]}.", "Would you like to book another time?")
        return
    r.ask(Awaiting.anything_else, f"{_DONE[tool]}{detail}.", confirmation, ANYTHING_ELSE)


def _after_refusal(r: Reply, tool: str, reason: str) -> None:
    d = r.dialogue
    d.goodbye_after_action = False
    if tool == "opt_out":
        # No number to change (withheld), or no database: the staff do it by hand.
        d.task, d.goodbye_after_action = Task.message, True
        r.speak("I'll make sure our team takes you off the list.")
        r.use("take_message", reason="The caller asked not to be called or texted again.")
        return
    if tool == "transfer_to_human":
        # After hours or no number: a message and a callback instead.
        r.ask(
            Awaiting.message,
            "I can't put you through right now, but I can take a message and have someone call you back.",
            "What would you like me to pass on?",
        )
        return
    if tool in ("book_appointment", "reschedule_appointment") and "taken" in reason.lower():
        d.chosen = None
        r.speak("I'm sorry, that time was just taken.")
        search(r, next_options=True)
        return
    r.speak("I'm sorry, I wasn't able to do that.")
    offer_human(r)


def _refresh_upcoming(r: Reply, data: dict[str, Any], cancelled: bool) -> None:
    """Keep the appointments we know as the tool left them (moved, confirmed, or gone)."""
    d = r.dialogue
    handle = data["appointment_id"]
    known = [a["appointment_id"] for a in d.upcoming]
    summary = {key: data[key] for key in ("appointment_id", "when", "service")}
    if cancelled:
        d.upcoming = [a for a in d.upcoming if a["appointment_id"] != handle]
    elif handle in known:
        d.upcoming[known.index(handle)] = summary
    else:
        d.upcoming.append(summary)


def _after_identify(r: Reply, data: dict[str, Any]) -> None:
    d = r.dialogue
    if not data.get("found"):
        if d.task == Task.book:
            d.identified = True  # a new patient: their details come with the booking
            r.speak(f"Thanks, {d.first_name}." if d.first_name else "")
            continue_task(r, NOTHING_SAID)
            return
        if d.identify_attempts >= 2:
            r.speak("I'm sorry, I still can't find your record.")
            offer_human(r)
            return
        d.date_of_birth = None
        r.ask(
            Awaiting.identity,
            "I couldn't find a patient with that name and date of birth.",
            "Could you give me your full name and date of birth again?",
        )
        return
    d.identified = True
    d.upcoming = list(data.get("upcoming", []))
    r.speak(f"Thanks, {d.first_name}.")
    continue_task(r, NOTHING_SAID)


def _after_availability(r: Reply, data: dict[str, Any]) -> None:
    d = r.dialogue
    slots: list[dict[str, str]] = data.get("slots", [])
    if not slots:
        if d.widened < (4 if (d.when.around or d.when.at) is not None else 3):
            d.widened += 1
            if d.widened == 1:
                r.speak("I don't have anything that fits exactly.")
            search(r, next_options=True)
            return
        d.widened = 0
        r.ask(Awaiting.when, "I'm sorry, I don't have any openings then. Is there another day that works?")
        return
    d.widened = 0
    offer(r, slots)
