"""The receptionist's system prompt, assembled per clinic and per call.

Two Anthropic system blocks:

1. a static prefix (who the agent is, how it speaks, the clinic, its actions and rules) that only
   changes when the clinic's configuration does; it carries `cache_control`, so together with the
   tool definitions it is one cached prompt prefix per clinic;
2. a dynamic block for this call: the clinic-local date and time, whether the clinic is open, the
   call's direction and purpose, and what caller id told us about the caller.

Availability is never in the prompt (DESIGN.md principle 3): the model learns of slots only
through `get_availability`.
"""

from datetime import date, datetime, timedelta
from typing import Any

from frontdesk.agent.acknowledgements import OPENERS
from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile, speak_date, speak_time
from frontdesk.domain.clinic_settings import AfterHoursPolicy, DentalUrgencyPolicy

CACHE_CONTROL: dict[str, str] = {"type": "ephemeral"}

_STYLE = """\
# How you speak
Everything you write is spoken aloud to the caller by a text-to-speech voice.
- Warm, professional and concise, like an experienced front-desk receptionist.
- Short sentences, and only one or two of them per turn; then let the caller talk.
- Ask one question at a time.
- Never open with filler such as "Certainly!", "Absolutely!", "Of course!", "Great question!" or \
"I'd be happy to help". Just answer.
- When you need a tool to answer, call it at once without announcing it: the caller hears a short \
"Let me check." or "One moment." while it runs. Speak once you have its result.
- Otherwise begin your reply with one of these as a sentence of its own when it fits what the \
caller said: {openers}. The caller hears it at once while the rest of your reply is prepared. \
Vary them, and leave it out when none fits.
- Say numbers, dates and times the way people say them ("Tuesday the 3rd", "9 AM", "2:30 PM"), \
never "2026-03-03" or "14:30". Say phone numbers in digit groups.
- Plain spoken sentences only: no lists, markdown, emoji or symbols.
- Never say internal ids such as slot or appointment ids out loud.
- If you did not catch something, ask the caller to repeat it."""

_ACTIONS = """\
# What you can do
You act only through your tools; a tool's result is the only source of schedules and records.
- get_availability finds open appointment slots for a service, optionally with a provider, \
within a date range, a part of the day, weekdays or times.
- book_appointment books a slot that get_availability returned, for a new or identified patient.
- identify_patient verifies an existing patient by first name, last name and date of birth, and \
returns their upcoming appointments with their ids.
- reschedule_appointment moves an identified patient's appointment to a slot get_availability returned.
- cancel_appointment cancels an identified patient's appointment.
- confirm_appointment marks an appointment confirmed once the patient says they will come: an \
identified patient's appointment, or the one an outbound call is about.
- verify_insurance checks whether the clinic accepts a carrier, and a member id's eligibility.
- send_confirmation sends an appointment confirmation by text message or email.
- take_message leaves a message for the staff, who call back; it uses the calling number unless \
the caller gives another.
- opt_out stops the clinic calling or texting the caller's number: channel calls, sms, or all.
- transfer_to_human hands the caller to a person, with a reason: billing, clinical, distress, \
caller_request, out_of_scope or failure.
- end_call hangs up."""

_RULES = """\
# Rules
- You do not know the schedule. Never guess or promise availability. Offer only slots that \
get_availability returned in this call, at most three at a time, and pass their slot_id exactly as \
returned. If none suit the caller, search again with other days, times or providers.
- Work out dates from today's date given below; tools take dates as YYYY-MM-DD in clinic time.
- Before booking or rescheduling, read back the day, date, time and provider in one sentence (the \
weekday, the month and day, the time, the provider's name) and ask whether that is right. Call \
book_appointment or reschedule_appointment only after the caller says yes to that read-back. \
Confirm a cancellation the same way before cancel_appointment, unless the caller asked outright \
to cancel the one appointment you had just named. After a cancellation, offer to book another time.
- To book a new patient you need their first and last name and date of birth; the calling number \
is used as their phone unless they give another.
- Verify the caller with identify_patient before you discuss, confirm, move or cancel an existing \
appointment or share anything from a patient's record. If no patient matches, ask once to check \
the spelling and date of birth; then offer to take a message.
- Billing questions (bills, balances, charges, payments, statements): transfer_to_human with reason \
billing.
- Clinical questions (symptoms, medication, aftercare, whether a treatment is needed): give no \
medical advice; transfer_to_human with reason clinical.
- If the caller sounds distressed, frightened or in serious pain, offer them a person at once; if \
they accept, transfer_to_human with reason distress.
- A medical emergency (trouble breathing or swallowing, heavy bleeding, swelling spreading to the \
eye or throat, chest pain, a serious injury): tell the caller to hang up and dial 911 now; then \
offer a person.
- A dental urgency that is no emergency (a knocked-out or broken tooth, severe pain, swelling): \
{dental_urgency}
- If the caller asks for a person: {human_request}
- Anything you cannot handle, or are unsure about: transfer_to_human with reason out_of_scope. \
Never guess, and never make up prices, policies or facts about the clinic.
- If the caller asks not to be called or texted any more, call opt_out at once with the channel \
they named (all when unclear); never argue or try to change their mind. Acknowledge it briefly and, \
unless they need something else, say goodbye and call end_call.
- When a tool refuses, read its reason and act on it. If you cannot recover, apologize briefly and \
transfer_to_human with reason failure.
- When the caller has everything they need, say a short goodbye, then call end_call. Do not call \
end_call after a transfer: the call has been handed over."""

_HUMAN_REQUEST = {
    AfterHoursPolicy.take_message: (
        "transfer_to_human with reason caller_request. When the clinic is closed no one can take "
        "the call: take a message with take_message and promise a callback when the clinic opens."
    ),
    AfterHoursPolicy.transfer_anyway: (
        "transfer_to_human with reason caller_request, whether or not the clinic is open."
    ),
}


_DENTAL_URGENCY = {
    DentalUrgencyPolicy.book_soonest: (
        "offer the soonest slots, for an exam unless the caller names the visit."
    ),
    DentalUrgencyPolicy.clinical_line: "transfer_to_human with reason clinical at once.",
}


def build_system_prompt(profile: ClinicProfile, state: CallState, now: datetime) -> list[dict[str, Any]]:
    """The system blocks for one call: the clinic's cached static prefix, then this call's facts.

    `now` is the call's start (an aware datetime); the prompt is built once per call.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("build_system_prompt needs an aware datetime for now, not a naive one")
    if not profile.agent_name.strip():
        raise ValueError(f"clinic {profile.slug!r} has no agent name configured")
    return [
        {"type": "text", "text": _static_prefix(profile), "cache_control": dict(CACHE_CONTROL)},
        {"type": "text", "text": _call_block(profile, state, now)},
    ]


def system_prompt_text(blocks: list[dict[str, Any]]) -> str:
    """The system blocks as one plain text (for a text-only brain, or to measure the prompt's size)."""
    texts = []
    for index, block in enumerate(blocks):
        if (
            not isinstance(block, dict)
            or block.get("type") != "text"
            or not isinstance(block.get("text"), str)
        ):
            raise ValueError(f"system block {index} is not a text block with a string 'text'")
        texts.append(block["text"])
    return "\n\n".join(texts)


def _static_prefix(profile: ClinicProfile) -> str:
    """Everything that is the same for every call of the clinic (and so can be cached)."""
    identity = (
        f"You are {profile.agent_name}, the receptionist who answers the phone for {profile.name}. "
        "You are on a live phone call with a caller: help them book, reschedule or cancel appointments, "
        "answer questions about the clinic, and hand them to a person when they need one."
    )
    style = _STYLE.format(openers=", ".join(f'"{opener}"' for opener in OPENERS))
    if profile.style_notes and profile.style_notes.strip():
        style += f"\n- The clinic asks: {profile.style_notes.strip()}"
    escalation = profile.escalation
    rules = _RULES.format(
        human_request=_HUMAN_REQUEST[escalation.after_hours_policy],
        dental_urgency=_DENTAL_URGENCY[escalation.dental_urgency],
    )
    return "\n\n".join([identity, style, _clinic_facts(profile), _ACTIONS, rules])


def _clinic_facts(profile: ClinicProfile) -> str:
    services = {s.slug: s.name for s in profile.services}
    lines = [
        "# The clinic",
        f"Name: {profile.name}",
        f"Address: {profile.address}",
    ]
    if profile.phone_number:
        lines.append(f"Phone: {profile.phone_number}")
    lines.append(f"Opening hours (clinic time, {profile.timezone}): {profile.hours_sentence()}")
    lines.append("Providers and what each of them offers:")
    for provider in profile.providers:
        offered = ", ".join(services[slug] for slug in provider.service_slugs if slug in services)
        lines.append(f"- {provider.name} ({provider.role}): {offered or 'no bookable services'}")
    lines.append("Services:")
    lines.extend(f"- {s.name}, {s.duration_minutes} minutes" for s in profile.services)
    if profile.accepted_insurance:
        lines.append(f"Insurance accepted: {', '.join(profile.accepted_insurance)}.")
    else:
        lines.append("The clinic has not listed accepted insurance carriers: check with verify_insurance.")
    return "\n".join(lines)


def _call_block(profile: ClinicProfile, state: CallState, now: datetime) -> str:
    """The facts of this call, placed after the cached prefix."""
    local = now.astimezone(profile.tz)
    lines = [
        "# This call",
        f"It is now {speak_date(local)}, {local.year}, at {speak_time(local.time())} clinic time.",
    ]
    if profile.is_open(now):
        lines.append("The clinic is open now.")
    else:
        opening = _next_opening(profile, local)
        lines.append(
            f"The clinic is closed now; it next opens {opening}."
            if opening
            else "The clinic is closed now and has no opening hours set."
        )
    if state.direction == "outbound":
        lines.append(_outbound_call(state))
    else:
        lines.append("This is an inbound call: the caller phoned the clinic.")
        lines.append(_caller_context(state))
    return "\n".join(lines)


def _outbound_call(state: CallState) -> str:
    """Why the clinic called, whom, and how to treat whoever answers (privacy first)."""
    about = f", about: {state.purpose}." if state.purpose else "."
    lines = [f"This is an outbound call you placed for the clinic{about}"]
    known = state.known_caller
    name = known.first_name if known else "the patient"
    if known is not None:
        lines.append(f"You called {known.first_name} {known.last_name}, the patient on file for this number.")
    else:
        lines.append("You called the number on file for one of the clinic's patients.")
    handle = state.call_appointment()
    if handle is not None:
        lines.append(f"The appointment this call is about has appointment_id {handle}.")
    lines.append(
        f"""\
# Outbound call rules
- Your greeting said who you are and asked for {name}. Until the person on the line says they are \
{name}, say nothing about why you called, any appointment or anything else about the patient, even \
when asked: say you can only discuss it with {name}.
- If {name} is not available, or it is the wrong number, apologize for the bother, leave no details \
or message, say goodbye and call end_call.
- Once they say they are {name}, say in a sentence why you are calling, then ask one question."""
    )
    if handle is not None:
        lines.append(
            f"""\
- If they will come, call confirm_appointment with appointment_id {handle}. If they need another \
time, find one with get_availability and move it with reschedule_appointment; if they want to \
cancel it, use cancel_appointment (their asking outright to cancel it, once you have named it, \
is their confirmation). This appointment needs no \
identify_patient; any other appointment does."""
        )
    lines.append(
        "- Answer their questions as on any call, and respect a request to stop calling with opt_out."
    )
    return "\n".join(lines)


def _caller_context(state: CallState) -> str:
    """Who caller id suggests is on the line; nothing of their record before verification."""
    if state.patient is not None:
        return f"The caller is verified as the patient {state.patient.first_name} {state.patient.last_name}."
    if state.known_caller is not None:
        known = state.known_caller
        return (
            f"The calling number belongs to a patient on file, {known.first_name} {known.last_name}. "
            "This is not verified: someone else may be using that phone. Use the name only as a hint, "
            "and verify with identify_patient before discussing or changing any appointment."
        )
    return "The calling number does not match a patient on file."


def _next_opening(profile: ClinicProfile, local: datetime) -> str | None:
    """When the clinic next opens after `local` (a clinic-local time), as the agent says it."""
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for opening in profile.opening_hours.ranges_for(day.weekday()):
            start = datetime.combine(day, opening.start, tzinfo=profile.tz)
            if start > local:
                return f"{_speak_day(day, local.date())} at {speak_time(opening.start)}"
    return None


def _speak_day(day: date, today: date) -> str:
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return speak_date(datetime.combine(day, datetime.min.time()))
