"""The deterministic receptionist: the same tools as Claude, no LLM.

It is the embedded default when no Anthropic key is set, and it takes over mid-call when Claude
fails, so a call never dies with the LLM. Each caller utterance is read whole (`understand`), its
details go into the dialogue's frame, and the brain then acts in a fixed order of precedence:
safety first, then the caller's question, then the task, asking only for what is still missing.
The dialogue is rebuilt from the shared `CallState` when the brain takes over mid-call, and the
brain acts only through tool calls, so every rule the tool runner enforces holds for it too.
"""

import copy
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from itertools import count

from frontdesk.agent.brains.base import BrainContext, BrainEvent, TextDelta
from frontdesk.agent.brains.fallback.appointments import (
    act_on_confirmation,
    continue_task,
    reconsider,
    start_task,
    urgent_visit,
    week_of_moved_appointment,
)
from frontdesk.agent.brains.fallback.dialogue import CHANGES, Awaiting, Dialogue, Task
from frontdesk.agent.brains.fallback.escalation import (
    ESCALATIONS,
    escalate,
    goodbye,
    leave,
    message_asked,
    not_understood,
    take_message,
)
from frontdesk.agent.brains.fallback.outbound import (
    begin_outbound,
    on_answered,
    on_appointment_answer,
    preset_call_appointment,
)
from frontdesk.agent.brains.fallback.phrases import ANYTHING_ELSE
from frontdesk.agent.brains.fallback.questions import answer_question, check_insurance, direct_answer
from frontdesk.agent.brains.fallback.reply import Reply
from frontdesk.agent.brains.fallback.tool_results import after_tool
from frontdesk.agent.conversation import ToolResultBlock
from frontdesk.agent.understanding.intents import Intent, opt_out_channel
from frontdesk.agent.understanding.reading import BOOKED_VISIT, QUESTIONS, Understanding, understand

_ANOTHER_VISIT = re.compile(r"\b(book|schedule|new|another|also|second|as well)\b")
_THANKS = re.compile(r"\b(thanks|thank you|cheers)\b")


class FallbackBrain:
    """A receptionist that needs no LLM."""

    name = "fallback"

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._ids = count(1)
        self.dialogue = Dialogue()

    def checkpoint(self) -> object:
        """The dialogue state as it is now (the engine may rewind a speculative reply)."""
        return copy.deepcopy(self.dialogue)

    def restore(self, saved: object) -> None:
        """Back to a dialogue state `checkpoint()` returned."""
        if not isinstance(saved, Dialogue):
            raise TypeError(f"not a saved dialogue state: {type(saved).__name__}")
        self.dialogue = copy.deepcopy(saved)

    async def step(self, context: BrainContext) -> AsyncIterator[BrainEvent]:
        """The next agent message: words, then at most one tool call."""
        r = Reply(context, self.dialogue, self._now, self._ids)
        last = context.conversation.messages[-1] if context.conversation.messages else None
        results = [b for b in last.content if isinstance(b, ToolResultBlock)] if last else []
        if results and self.dialogue.pending_tool:
            tool, self.dialogue.pending_tool = self.dialogue.pending_tool, None
            after_tool(r, tool, results[-1])
        else:
            _adopt_call_state(r)
            asked = self.dialogue.awaiting == Awaiting.identity
            heard = understand(context.conversation.last_caller_text(), r.local_now(), r.vocabulary, asked)
            on_utterance(r, heard)
        for sentence in r.words:
            yield TextDelta(sentence + " ")
        if r.call is not None:
            yield r.call


def _adopt_call_state(r: Reply) -> None:
    """Take over what another brain already established (identity) when starting mid-call."""
    d, patient = r.dialogue, r.state.patient
    if patient is not None and not d.identified:
        d.identified = True
        d.first_name, d.last_name = patient.first_name, patient.last_name
        d.date_of_birth = patient.date_of_birth.isoformat() if patient.date_of_birth else None
    if r.state.direction == "outbound" and not d.outbound_begun:
        begin_outbound(r)


def on_utterance(r: Reply, heard: Understanding) -> None:
    """Act on one caller utterance: safety, then who answered (outbound), then the caller's
    question, then the task, then whatever the agent had asked."""
    d = r.dialogue
    just_changed, d.just_changed = d.just_changed, None
    if not heard.text:
        r.ask(d.awaiting, "Sorry, I didn't catch that. Could you say it again?")
        return
    if heard.wants_repeat:
        r.speak(r.context.conversation.last_agent_text() or "How can I help you today?")
        return
    intent = heard.primary
    if intent in ESCALATIONS:
        escalate(r, intent, heard)
        return
    if intent == Intent.opt_out:
        d.task = None
        r.speak("I'm sorry for the bother.")
        r.use("opt_out", channel=opt_out_channel(heard.text))
        return
    if intent == Intent.message and d.awaiting != Awaiting.message:
        message_asked(r, heard)
        return
    if d.awaiting == Awaiting.patient:
        on_answered(r, heard)
        return
    if d.awaiting == Awaiting.message:  # whatever they say now is the message
        _answer_pending(r, heard)
        return
    outbound_answer = d.awaiting in (Awaiting.appointment_answer, Awaiting.change_choice)
    words = direct_answer(r, intent, heard) if outbound_answer and intent in QUESTIONS else None
    if words is not None and heard.affirm and r.state.call_appointment() is not None:
        # "Yes, I'll be there. What's the suite number?": answered, and the yes still confirms.
        r.speak(words)
        if on_appointment_answer(r, heard):
            return
    if outbound_answer and intent not in QUESTIONS and on_appointment_answer(r, heard):
        return
    preset_call_appointment(r, intent)
    d.take_in(heard)
    week_of_moved_appointment(r, heard)
    task = _task_to_start(d, heard)
    moved = task == Task.reschedule or (task is None and not heard.when.is_empty)
    if just_changed is not None and moved and intent not in QUESTIONS:
        # "Oh wait, I meant Thursday", "can we move it to two fifteen the same day?" right after
        # the booking: the appointment just made moves.
        start_task(r, Task.reschedule)
        d.appointment_id = just_changed
        week_of_moved_appointment(r, heard)
        r.speak("No problem, let's move it.")
        continue_task(r, heard)
        return
    if intent == Intent.dental_urgent and d.task != Task.book:
        urgent_visit(r, heard)
    elif intent in QUESTIONS:
        if task is not None:
            start_task(r, task)  # "Are you open Saturdays? I need a cleaning": answered, then booked
        d.goodbye_after_action = heard.has(Intent.goodbye)  # answered, then the caller's goodbye
        answer_question(r, intent, heard)
    elif task is not None:
        start_task(r, task)
        if heard.carrier is not None:
            check_insurance(r, heard)  # "I've got Aetna, I need an exam": checked, then the booking
        else:
            continue_task(r, heard)
    elif d.awaiting != Awaiting.nothing and _answer_pending(r, heard):
        return
    elif intent == Intent.goodbye or (d.task is None and intent is None and _THANKS.search(heard.text)):
        goodbye(r)  # "alright, I'll sort it out, thanks"
    elif intent == Intent.wrong_number:
        leave(r, f"That's all right. You've reached {r.profile.name}. Have a good day!")
    elif intent == Intent.confirm_appointment:
        start_task(r, Task.confirm)
        continue_task(r, heard)
    elif d.task in (Task.book, Task.lookup, *CHANGES) and _gives_details(heard):
        continue_task(r, heard)
    else:
        not_understood(r)


def _task_to_start(d: Dialogue, heard: Understanding) -> Task | None:
    """The appointment task an utterance starts: one it asks for that is not the one under way
    (restating it mid-task only continues it), or a booking when the caller names a visit."""
    asked = heard.task
    if asked in (Intent.book, Intent.reschedule, Intent.cancel):
        task = Task(asked.value)
        idle = d.awaiting in (Awaiting.nothing, Awaiting.anything_else)
        # Mid-task, only a plain request changes the task ("if she's got anything" does not), and
        # "is there anything Thursday?" while moving an appointment asks about the move.
        plain = heard.intents[asked] >= 3 and not (
            task == Task.book and d.task == Task.reschedule and not _ANOTHER_VISIT.search(heard.text)
        )
        if idle or d.task is None or (d.task != task and plain):
            return task
        return None
    # "I'm after a cleaning, Monday afternoon": a visit named with no other task is a booking.
    # ...but not "how long does a filling take?", "when is my cleaning?" nor "do you do fillings?".
    named = heard.service is not None and not BOOKED_VISIT.search(heard.text)
    asks_of_it = heard.primary in (Intent.visit_length, Intent.my_appointment, Intent.services)
    if d.task is None and named and not asks_of_it and heard.primary in (None, *QUESTIONS):
        return Task.book
    return None


def _gives_details(heard: Understanding) -> bool:
    given = (heard.service, heard.provider_id, heard.name, heard.date_of_birth)
    return any(detail is not None for detail in given) or not heard.when.is_empty


def _answer_pending(r: Reply, heard: Understanding) -> bool:
    """Treat the utterance as the answer to the agent's last question; False when it is not one."""
    d = r.dialogue
    match d.awaiting:
        case Awaiting.anything_else:
            # "Alright, perfect, thank you" to "anything else?" is the caller's goodbye.
            thanked = heard.primary is None and _THANKS.search(heard.text) is not None
            if heard.deny or heard.has(Intent.goodbye) or thanked:
                goodbye(r)
                return True
            if heard.affirm and heard.primary is None:
                r.ask(Awaiting.nothing, "Sure, what else can I help you with?")
                return True
            return False
        case Awaiting.confirm:
            if heard.affirm and not heard.deny:
                act_on_confirmation(r, heard)
                return True
            if heard.deny or _gives_details(heard):
                reconsider(r, heard)
                return True
            r.ask(Awaiting.confirm, "Sorry, was that a yes?")
            return True
        case Awaiting.rebook:
            if heard.has(Intent.goodbye):
                goodbye(r)
            elif heard.deny:  # "no, no need to rebook, thanks"
                r.ask(Awaiting.anything_else, "No problem.", ANYTHING_ELSE)
            elif heard.affirm or not heard.when.is_empty:  # "sure, maybe in a month"
                start_task(r, Task.book)
                continue_task(r, heard)
            else:
                return False
            return True
        case Awaiting.message:
            r.speak("Thank you, I'll pass that on.")
            take_message(r, heard.text)
            return True
        case Awaiting.carrier:
            check_insurance(r, heard)
            return True
        case _ if d.task in (Task.book, *CHANGES):
            continue_task(r, heard)
            return True
    return False
