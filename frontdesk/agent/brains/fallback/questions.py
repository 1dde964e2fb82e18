"""The caller's questions (hours, location, insurance, "are you a robot?", "why do you need my
birthday?", "when is my appointment?"), answered before whatever was under way resumes."""

import re
from typing import Any

from frontdesk.agent.brains.fallback.appointments import continue_task, resume, start_task
from frontdesk.agent.brains.fallback.dialogue import CHANGES, Awaiting, Task
from frontdesk.agent.brains.fallback.escalation import goodbye
from frontdesk.agent.brains.fallback.phrases import (
    ANYTHING_ELSE,
    BOOK_A_VISIT,
    RESCHEDULE_OR_CANCEL,
    WHY_DETAILS,
    WILL_YOU_COME,
    bot_answer,
    spoken_list,
)
from frontdesk.agent.brains.fallback.reply import Reply
from frontdesk.agent.tool_runner import appointment_summary
from frontdesk.agent.understanding.intents import DENTAL_SERVICE_WORDS, Intent
from frontdesk.agent.understanding.reading import Understanding

# "What do you take?", "which plans do you accept?": the list, not a check of one carrier.
_WHICH_CARRIERS = re.compile(
    r"\b(what|which)\b.{0,20}\b(do|does) (you|y'all|you guys|the office|the clinic) (take|accept)\b|"
    r"\b(what|which) (insurance|insurances|plans|carriers|insurers)\b"
)


def answer_question(r: Reply, question: Intent, heard: Understanding) -> None:
    """Answer one of the QUESTIONS intents; a carrier asked about in the same breath ("what time
    do you close Saturday, and do you take MetLife?") is checked right after."""
    words = direct_answer(r, question, heard)
    if words is not None and heard.carrier is not None:
        r.speak(words)
        check_insurance(r, heard)  # its answer resumes the call
    elif words is not None:
        answer(r, words)
    elif question == Intent.my_appointment:
        if r.dialogue.task is None or r.dialogue.task == Task.lookup:
            start_task(r, Task.lookup)
        continue_task(r, heard)
    else:
        check_insurance(r, heard)


def direct_answer(r: Reply, question: Intent, heard: Understanding) -> str | None:
    """The answer to a question the profile answers at once (no tool), or None."""
    call_appointment = r.state.call_appointment() if r.dialogue.patient_on_line else None
    match question:
        case Intent.visit_length:
            return _visit_length(r, heard.service or r.dialogue.service or service_of(r, call_appointment))
        case Intent.my_appointment if call_appointment is not None and heard.service in (
            None,
            service_of(r, call_appointment),
        ):
            # "Is that with the hygienist or the dentist?" about the appointment the call is about.
            return _said_appointment(r, call_appointment)
        case Intent.hours:
            return f"We're open {r.profile.hours_sentence()}"
        case Intent.location:
            return f"We're at {r.profile.address}."
        case Intent.bot_question:
            return bot_answer(r.profile.agent_name, r.profile.name)
        case Intent.services:
            return _services_answer(r, heard)
        case Intent.why_question:
            return WHY_DETAILS
    return None


# "Do you do braces? Or like Invisalign?": the treatment asked about, when it is none of ours.
_TREATMENT = re.compile(r"\b(" + "|".join(DENTAL_SERVICE_WORDS) + r")\b")


def _services_answer(r: Reply, heard: Understanding) -> str:
    """What the clinic offers, and whether that includes the treatment asked about."""
    names = [s.name.lower() for s in r.profile.services]
    offered = f"We offer {spoken_list(names)}." if names else "I can take a message for our team."
    asked = _TREATMENT.search(heard.text)
    if asked is None:
        return offered
    service = r.profile.service_by_slug(heard.service or "")
    if service is not None and asked.group(1).startswith(service.name.lower()[:5]):
        return f"Yes, we do offer {service.name.lower()}. {offered}"
    return f"I'm sorry, we don't offer {asked.group(1)} here. {offered}"


def service_of(r: Reply, handle: str | None) -> str | None:
    """The slug of the service of an appointment the call knows (by its handle)."""
    if handle is None:
        return None
    service_id = r.state.appointments[handle].service_id
    return next((s.slug for s in r.profile.services if s.id == service_id), None)


def _said_appointment(r: Reply, handle: str) -> str:
    """The appointment, its day and time, and who it is with: "Sarah Kim, our hygienist"."""
    record = r.state.appointments[handle]
    summary = appointment_summary(handle, record, r.profile)
    provider = r.profile.provider_by_id(record.provider_id)
    role = f", our {provider.role}" if provider else ""
    return f"Your {summary['service'].lower()} is on {summary['when']}{role}."


def _visit_length(r: Reply, slug: str | None) -> str:
    """How long a visit takes: the one asked about, or each the clinic offers."""
    service = r.profile.service_by_slug(slug or "")
    if service is not None:
        name = service.name.lower()
        return f"{'An' if name[0] in 'aeiou' else 'A'} {name} takes about {service.duration_minutes} minutes."
    lengths = spoken_list(
        [f"{s.name.lower()} about {s.duration_minutes} minutes" for s in r.profile.services]
    )
    return f"It depends on the visit: {lengths}."


def answer(r: Reply, words: str) -> None:
    """Say an answer, then go back to the question that was open: the task's, the outbound call's,
    or "anything else?"."""
    d = r.dialogue
    r.speak(words)
    if d.goodbye_after_action and d.task is None:
        d.goodbye_after_action = False
        goodbye(r)  # "... so maybe we'll go with Aetna. I'll call back, thanks"
    elif d.task in (Task.book, *CHANGES):
        resume(r)
    elif d.awaiting == Awaiting.change_choice:
        r.ask(Awaiting.change_choice, RESCHEDULE_OR_CANCEL)
    elif d.awaiting == Awaiting.appointment_answer:
        r.ask(Awaiting.appointment_answer, WILL_YOU_COME if r.state.call_appointment() else BOOK_A_VISIT)
    else:
        r.ask(Awaiting.anything_else, ANYTHING_ELSE)


def check_insurance(r: Reply, heard: Understanding) -> None:
    """Verify the carrier the caller named, or ask which one they have."""
    if heard.carrier is None and _WHICH_CARRIERS.search(heard.text):
        if r.dialogue.task == Task.insurance:
            r.dialogue.task = None
        accepted = spoken_list(r.profile.accepted_insurance) or "no insurance plans directly"
        answer(r, f"We accept {accepted}.")
        return
    if heard.carrier is None:
        if r.dialogue.task is None:
            r.dialogue.task = Task.insurance
        r.ask(Awaiting.carrier, "Sure, which insurance carrier do you have?")
        return
    r.use("verify_insurance", carrier=heard.carrier)


def after_insurance(r: Reply, data: dict[str, Any]) -> None:
    """Say whether the clinic takes the carrier."""
    if r.dialogue.task == Task.insurance:
        r.dialogue.task = None
    if data.get("accepted"):
        words = f"Yes, we accept {data['carrier']}."
    else:
        accepted = spoken_list(r.profile.accepted_insurance) or "no insurance plans directly"
        words = f"I'm sorry, we don't accept {data['carrier']}. We accept {accepted}."
    answer(r, words)
