"""The caller's questions (hours, location, insurance, "are you a robot?", "why do you need my
birthday?", "when is my appointment?"), answered before whatever was under way resumes."""

from typing import Any

from frontdesk.agent.brains.fallback.appointments import continue_task, resume, start_task
from frontdesk.agent.brains.fallback.dialogue import CHANGES, Awaiting, Task
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
from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.reading import Understanding


def answer_question(r: Reply, question: Intent, heard: Understanding) -> None:
    """Answer one of the QUESTIONS intents."""
    match question:
        case Intent.hours:
            answer(r, f"We're open {r.profile.hours_sentence()}")
        case Intent.location:
            answer(r, f"We're at {r.profile.address}.")
        case Intent.bot_question:
            answer(r, bot_answer(r.profile.agent_name, r.profile.name))
        case Intent.why_question:
            answer(r, WHY_DETAILS)
        case Intent.my_appointment:
            if r.dialogue.task is None or r.dialogue.task == Task.lookup:
                start_task(r, Task.lookup)
            continue_task(r, heard)
        case Intent.insurance:
            check_insurance(r, heard)


def answer(r: Reply, words: str) -> None:
    """Say an answer, then go back to the question that was open: the task's, the outbound call's,
    or "anything else?"."""
    d = r.dialogue
    r.speak(words)
    if d.task in (Task.book, *CHANGES):
        resume(r)
    elif d.awaiting == Awaiting.change_choice:
        r.ask(Awaiting.change_choice, RESCHEDULE_OR_CANCEL)
    elif d.awaiting == Awaiting.appointment_answer:
        r.ask(Awaiting.appointment_answer, WILL_YOU_COME if r.state.call_appointment() else BOOK_A_VISIT)
    else:
        r.ask(Awaiting.anything_else, ANYTHING_ELSE)


def check_insurance(r: Reply, heard: Understanding) -> None:
    """Verify the carrier the caller named, or ask which one they have."""
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
