"""The deterministic receptionist: intent detection and slot filling behind the same tools as Claude.

It is the embedded default when no Anthropic key is set, and it takes over mid-call when Claude
fails, so a call never dies with the LLM. It keeps a small dialogue state (the task at hand,
what it is waiting for), rebuilt from the shared `CallState` when it takes over mid-call, and
acts only through tool calls, so every rule the tool runner enforces holds for it too.

On an outbound call the greeting asked for the patient by first name: the brain first works out
who answered and says why it calls only to the patient (anyone else gets a polite goodbye and no
details), then confirms, moves or cancels the appointment the call is about.
"""

import copy
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import count
from typing import Any
from uuid import UUID

from frontdesk.agent.brains.base import BrainContext, BrainEvent, TextDelta
from frontdesk.agent.clinic_profile import ClinicProfile, speak_date, speak_time
from frontdesk.agent.conversation import ToolResultBlock, ToolUseBlock
from frontdesk.agent.opening import purpose_statement
from frontdesk.agent.tool_runner import appointment_summary
from frontdesk.agent.tools import TransferReason
from frontdesk.agent.understanding.answering import Answerer, who_answered
from frontdesk.agent.understanding.intents import (
    Intent,
    Understanding,
    match_provider,
    match_service,
    opt_out_channel,
    understand,
)
from frontdesk.agent.understanding.when import WEEKDAYS, TimePreference
from frontdesk.log_redaction import remember_names

# How far ahead a search without a date looks, and how far it widens when nothing fits.
DEFAULT_SEARCH_DAYS = 14
WIDEN_DAYS = 7
MAX_MISUNDERSTOOD = 2
MAX_IDENTITY_ASKS = 3


class Task(StrEnum):
    """What the caller and the agent are working on."""

    book = "book"
    reschedule = "reschedule"
    cancel = "cancel"
    confirm = "confirm_appointment"
    insurance = "insurance"
    message = "message"


class Awaiting(StrEnum):
    """What the agent last asked the caller for."""

    nothing = "nothing"
    service = "service"
    identity = "identity"
    when = "when"
    choice = "choice"
    confirm = "confirm"
    which_appointment = "which_appointment"
    carrier = "carrier"
    message = "message"
    anything_else = "anything_else"
    patient = "patient"  # outbound: asked for the patient by name
    appointment_answer = "appointment_answer"  # outbound: stated why, asked "will you make it?"
    change_choice = "change_choice"  # outbound: they can't make it; reschedule or cancel?


@dataclass
class Dialogue:
    """The fallback brain's working memory for one call."""

    task: Task | None = None
    awaiting: Awaiting = Awaiting.nothing
    service: str | None = None  # slug
    provider_id: str | None = None
    when: TimePreference = field(default_factory=TimePreference)  # when the caller wants to come
    existing_when: TimePreference = field(default_factory=TimePreference)  # the appointment to change
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None  # ISO
    identified: bool = False
    identify_attempts: int = 0
    identity_asks: int = 0
    appointment_id: str | None = None  # handle of the appointment being changed
    upcoming: list[dict[str, str]] = field(default_factory=list)
    offered: list[dict[str, str]] = field(default_factory=list)  # the slots offered last
    chosen: dict[str, str] | None = None
    widened: int = 0
    message_reason: str | None = None
    misunderstood: int = 0
    goodbye_after_action: bool = False
    pending_tool: str | None = None
    outbound_begun: bool = False
    patient_on_line: bool = False  # outbound: the person said they are the patient


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
        self._ctx = context
        self._say: list[str] = []
        self._call: ToolUseBlock | None = None
        last = context.conversation.messages[-1] if context.conversation.messages else None
        results = [b for b in last.content if isinstance(b, ToolResultBlock)] if last else []
        if results and self.dialogue.pending_tool:
            tool, self.dialogue.pending_tool = self.dialogue.pending_tool, None
            self._after_tool(tool, results[-1])
        else:
            self._adopt_call_state()
            self._on_utterance(understand(context.conversation.last_caller_text(), self._local_now()))
        for sentence in self._say:
            yield TextDelta(sentence + " ")
        if self._call is not None:
            yield self._call

    # -- helpers -------------------------------------------------------------------------------

    @property
    def _profile(self) -> ClinicProfile:
        return self._ctx.profile

    def _local_now(self) -> datetime:
        return self._now().astimezone(self._profile.tz)

    def _speak(self, *sentences: str) -> None:
        self._say.extend(s for s in sentences if s)

    def _use(self, tool: str, **arguments: Any) -> None:
        self._call = ToolUseBlock(id=f"fallback_{next(self._ids)}", name=tool, input=arguments)
        self.dialogue.pending_tool = tool

    def _ask(self, awaiting: Awaiting, *sentences: str) -> None:
        self.dialogue.awaiting = awaiting
        self._speak(*sentences)

    def _adopt_call_state(self) -> None:
        """Take over what another brain already established (identity) when starting mid-call."""
        d = self.dialogue
        patient = self._ctx.state.patient
        if patient is not None and not d.identified:
            d.identified = True
            d.first_name, d.last_name = patient.first_name, patient.last_name
            d.date_of_birth = patient.date_of_birth.isoformat() if patient.date_of_birth else None
        if self._ctx.state.direction == "outbound" and not d.outbound_begun:
            self._begin_outbound()

    # -- a new caller utterance ----------------------------------------------------------------

    def _on_utterance(self, heard: Understanding) -> None:
        d = self.dialogue
        if not heard.text:
            self._ask(d.awaiting, "Sorry, I didn't catch that. Could you say it again?")
            return
        if heard.wants_repeat:
            self._speak(self._ctx.conversation.last_agent_text() or "How can I help you today?")
            return
        intent = heard.primary
        if intent in (Intent.emergency, Intent.distress, Intent.human, Intent.billing, Intent.clinical):
            self._escalate(intent, heard)
            return
        if intent == Intent.opt_out:
            d.task = None
            self._speak("I'm sorry for the bother.")
            self._use("opt_out", channel=opt_out_channel(heard.text))
            return
        if d.awaiting == Awaiting.patient:
            self._on_answered(heard)
            return
        outbound_answer = d.awaiting in (Awaiting.appointment_answer, Awaiting.change_choice)
        if outbound_answer and self._on_appointment_answer(heard):
            return
        self._preset_call_appointment(intent)
        self._remember_details(heard)
        if intent in (Intent.book, Intent.reschedule, Intent.cancel) and _starts_task(d, intent):
            self._start_task(Task(intent.value))
            self._continue_task(heard)
            return
        if d.awaiting != Awaiting.nothing and self._answer_pending(heard):
            return
        if intent == Intent.hours:
            self._answer(f"We're open {self._profile.hours_sentence()}")
        elif intent == Intent.location:
            self._answer(f"We're at {self._profile.address}.")
        elif intent == Intent.insurance:
            d.task = Task.insurance
            self._check_insurance(heard)
        elif intent == Intent.goodbye:
            self._goodbye()
        elif intent == Intent.wrong_number:
            self._leave(f"That's all right. You've reached {self._profile.name}. Have a good day!")
        elif intent == Intent.confirm_appointment:
            self._start_task(Task.confirm)
            self._continue_task(heard)
        else:
            self._not_understood()

    def _remember_details(self, heard: Understanding) -> None:
        d = self.dialogue
        services = {s.slug: s.name for s in self._profile.services}
        if service := match_service(heard.text, services):
            d.service = service
        if provider := match_provider(heard.text, {str(p.id): p.name for p in self._profile.providers}):
            d.provider_id = provider
        if not heard.when.is_empty and heard.date_of_birth is None:  # a birth date is not a wish
            changing = d.task in (Task.reschedule, Task.cancel, Task.confirm) or heard.primary in (
                Intent.reschedule,
                Intent.cancel,
                Intent.confirm_appointment,
            )
            if changing and d.appointment_id is None and not _NEW_TIME.search(heard.text):
                d.existing_when = heard.when  # "my Tuesday cleaning": which appointment, not when to move it
            else:
                d.when = d.when.merge(heard.when)
        if heard.name and not d.identified:
            d.first_name, d.last_name = heard.name
            remember_names(*heard.name)  # the call knows it now: never in its logs
        if heard.date_of_birth and not d.identified:
            d.date_of_birth = heard.date_of_birth.isoformat()

    def _start_task(self, task: Task) -> None:
        d = self.dialogue
        d.task, d.offered, d.chosen, d.widened = task, [], None, 0
        d.misunderstood = 0
        self._ctx.state.booking_intent = self._ctx.state.booking_intent or task == Task.book

    def _answer_pending(self, heard: Understanding) -> bool:
        """Treat the utterance as the answer to the agent's last question; False when it is not one."""
        d = self.dialogue
        match d.awaiting:
            case Awaiting.anything_else:
                if heard.deny or heard.has(Intent.goodbye):
                    self._goodbye()
                    return True
                if heard.affirm and heard.primary is None:
                    self._ask(Awaiting.nothing, "Sure, what else can I help you with?")
                    return True
                return False
            case Awaiting.confirm:
                if heard.affirm and not heard.deny:
                    self._act_on_confirmation()
                    # "Yeah, that's all, thanks": the goodbye follows the tool's result.
                    d.goodbye_after_action = heard.has(Intent.goodbye)
                    return True
                if heard.deny or not heard.when.is_empty:
                    self._reconsider(heard)
                    return True
                self._ask(Awaiting.confirm, "Sorry, was that a yes?")
                return True
            case Awaiting.message:
                d.message_reason = heard.text
                self._speak("Thank you, I'll pass that on.")
                self._use("take_message", reason=_message_text(heard))
                return True
            case Awaiting.carrier:
                self._check_insurance(heard)
                return True
            case _ if d.task in (Task.book, *_CHANGES):
                self._continue_task(heard)
                return True
        return False

    # -- outbound: who answered, why we call -------------------------------------------------

    def _begin_outbound(self) -> None:
        """Set up an outbound call: the appointment it is about, and (right after the greeting)
        waiting to hear who answered. A brain taking over later finds that question settled."""
        d, state = self.dialogue, self._ctx.state
        d.outbound_begun = True
        if (handle := state.call_appointment()) is not None:
            d.upcoming = [appointment_summary(handle, state.appointments[handle], self._profile)]
        agent_messages = [m for m in self._ctx.conversation.messages if m.role == "assistant"]
        if len(agent_messages) <= 1:  # only the greeting so far
            d.awaiting = Awaiting.patient
        else:
            d.patient_on_line = True

    def _called_name(self) -> str | None:
        known = self._ctx.state.known_caller
        return known.first_name if known else None

    def _on_answered(self, heard: Understanding) -> None:
        """The answer to "May I speak with Maria?": the purpose for the patient, nothing for others."""
        d = self.dialogue
        name = self._called_name()
        who = name or "the patient"
        match who_answered(heard.text, name):
            case Answerer.patient:
                self._state_purpose()
            case Answerer.fetching:
                self._ask(Awaiting.patient, "Sure, I'll hold.")
            case Answerer.asks_why:
                self._ask(
                    Awaiting.patient,
                    f"This is {self._profile.agent_name} from {self._profile.name}. I'm sorry, I can only "
                    f"discuss it with {who}. Is {who} available?",
                )
            case Answerer.someone_else:
                self._leave("No problem, we'll try again another time. Thank you, and have a good day!")
            case Answerer.wrong_number:
                self._leave("I'm sorry for the mix-up. Have a good day!")
            case Answerer.unclear if heard.has(Intent.goodbye):
                self._leave("Goodbye!")
            case Answerer.unclear:
                d.misunderstood += 1
                if d.misunderstood > MAX_MISUNDERSTOOD:
                    self._leave("I'll try again another time. Goodbye!")
                else:
                    self._ask(Awaiting.patient, f"Sorry, am I speaking with {who}?")

    def _state_purpose(self) -> None:
        """The patient is on the line: say why we call and ask the one question that follows."""
        d, state = self.dialogue, self._ctx.state
        d.patient_on_line, d.misunderstood = True, 0
        name = self._called_name()
        if state.known_caller is not None and not d.first_name:
            # Only to spare the patient repeating it when a booking needs their details.
            d.first_name, d.last_name = state.known_caller.first_name, state.known_caller.last_name
        thanks = f"Thanks, {name}." if name else "Thank you."
        purpose = purpose_statement(self._profile, state)
        if state.call_appointment() is not None:
            self._ask(Awaiting.appointment_answer, thanks, purpose, _WILL_YOU_COME)
        elif state.campaign_kind == "recall":
            d.service = match_service(purpose, {s.slug: s.name for s in self._profile.services})
            self._ask(Awaiting.appointment_answer, thanks, purpose, _BOOK_A_VISIT)
        else:
            self._ask(Awaiting.anything_else, thanks, purpose, "Is there anything I can help you with?")

    def _on_appointment_answer(self, heard: Understanding) -> bool:
        """The answer to "will you make it?" (or "would you like to book?"); False when it is none."""
        d, handle = self.dialogue, self._ctx.state.call_appointment()
        if heard.primary in (Intent.book, Intent.reschedule, Intent.cancel):
            return False  # the usual flows take it, on the call's appointment
        yes = (heard.affirm or heard.has(Intent.confirm_appointment)) and not heard.deny
        if d.awaiting == Awaiting.change_choice:
            if heard.deny:
                self._ask(Awaiting.anything_else, "Okay, I'll leave it as it is.", _ANYTHING_ELSE)
            elif yes:
                self._ask(Awaiting.change_choice, _RESCHEDULE_OR_CANCEL)
            return heard.deny or yes
        if handle is None:  # a recall: "would you like to book a visit?"
            if yes:
                self._start_task(Task.book)
                self._continue_task(heard)
            elif heard.deny:
                self._ask(
                    Awaiting.anything_else, "No problem, call us whenever you're ready.", _ANYTHING_ELSE
                )
            return yes or heard.deny
        if yes:
            d.goodbye_after_action = heard.has(Intent.goodbye)
            self._use("confirm_appointment", appointment_id=handle)
        elif heard.deny:
            self._ask(Awaiting.change_choice, "No problem.", _RESCHEDULE_OR_CANCEL)
        return yes or heard.deny

    def _answer(self, answer: str) -> None:
        """Answer a question, then go back to the outbound call's open question, or offer more help."""
        d = self.dialogue
        if d.awaiting == Awaiting.change_choice:
            self._ask(Awaiting.change_choice, answer, _RESCHEDULE_OR_CANCEL)
        elif d.awaiting == Awaiting.appointment_answer:
            pending = _WILL_YOU_COME if self._ctx.state.call_appointment() else _BOOK_A_VISIT
            self._ask(Awaiting.appointment_answer, answer, pending)
        else:
            self._ask(Awaiting.anything_else, answer, _ANYTHING_ELSE)

    def _preset_call_appointment(self, intent: Intent | None) -> None:
        """On an outbound call, "move it" or "cancel it" is about the appointment the call is about
        (the patient said who they are; no other appointment is discussed without identification)."""
        d, state = self.dialogue, self._ctx.state
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

    def _leave(self, words: str) -> None:
        """End a call with someone who is not the patient: polite words, no details."""
        self.dialogue.awaiting = Awaiting.nothing
        self._speak(words)
        self._use("end_call")

    # -- booking, rescheduling, cancelling -----------------------------------------------------

    def _continue_task(self, heard: Understanding) -> None:
        """Ask for the next missing piece of the current task, or act when nothing is missing."""
        d = self.dialogue
        if d.awaiting == Awaiting.choice and d.offered and self._choose(heard):
            return
        if d.awaiting == Awaiting.which_appointment and self._pick_appointment(heard):
            return
        if d.task in _CHANGES and not d.identified and d.appointment_id is None:
            self._identify_or_ask()
            return
        if d.task in _CHANGES and d.appointment_id is None:
            self._ask_which_appointment()
            return
        if d.task == Task.cancel:
            self._read_back_cancellation()
            return
        if d.task == Task.confirm:
            appointment = self._appointment(d.appointment_id)
            self._ask(
                Awaiting.confirm,
                f"I have your {appointment['service'].lower()} on {appointment['when']}. Shall I confirm it?",
            )
            return
        if d.task == Task.book and d.service is None:
            names = _spoken_list([s.name.lower() for s in self._profile.services])
            self._ask(Awaiting.service, f"What would you like to come in for? We offer {names}.")
            return
        if d.task == Task.book and not d.identified and not (d.first_name and d.date_of_birth):
            self._identify_or_ask()
            return
        if d.task == Task.book and not d.identified and d.identify_attempts == 0:
            self._identify_or_ask()
            return
        if d.when.is_empty:
            verb = "move it to" if d.task == Task.reschedule else "come in"
            self._ask(Awaiting.when, f"What day and time would you like to {verb}?")
            return
        if d.awaiting == Awaiting.choice and heard.deny:
            self._search(next_options=True)
            return
        self._search()

    def _identify_or_ask(self) -> None:
        d = self.dialogue
        if d.first_name and d.last_name and d.date_of_birth:
            d.identify_attempts += 1
            self._use(
                "identify_patient",
                first_name=d.first_name,
                last_name=d.last_name,
                date_of_birth=d.date_of_birth,
            )
            return
        d.identity_asks += 1
        if d.identity_asks > MAX_IDENTITY_ASKS:
            self._speak("I'm sorry, I'm having trouble getting your details.")
            self._offer_human()
            return
        if d.first_name and d.last_name:
            missing = "your date of birth"
        elif d.date_of_birth:
            missing = "your first and last name"
        else:
            missing = "your first and last name and your date of birth"
        self._ask(Awaiting.identity, f"Can I have {missing}, please?")

    def _ask_which_appointment(self) -> None:
        d = self.dialogue
        if not d.upcoming:
            d.task = None
            self._ask(
                Awaiting.anything_else,
                "I don't see any upcoming appointments for you.",
                "Would you like to book one?",
            )
            return
        if len(d.upcoming) == 1:
            d.appointment_id = d.upcoming[0]["appointment_id"]
            self._continue_task(Understanding(text=""))
            return
        named = [a for a in d.upcoming if _slot_fits(a, d.existing_when)]
        if not d.existing_when.is_empty and len(named) == 1:
            d.appointment_id = named[0]["appointment_id"]
            self._continue_task(Understanding(text=""))
            return
        options = _spoken_list([f"your {a['service'].lower()} on {a['when']}" for a in d.upcoming], "or")
        self._ask(Awaiting.which_appointment, f"Which appointment: {options}?")

    def _pick_appointment(self, heard: Understanding) -> bool:
        d = self.dialogue
        for index, appointment in enumerate(d.upcoming):
            said = heard.text
            service = appointment["service"].lower()
            weekday = appointment["when"].split(",")[0].lower()
            if heard.option_index in (index, index - len(d.upcoming)) or service in said or weekday in said:
                d.appointment_id = appointment["appointment_id"]
                if not _NEW_TIME.search(said):
                    d.when = TimePreference()  # the day named was the appointment's, not a new one
                self._continue_task(Understanding(text=""))
                return True
        return False

    def _read_back_cancellation(self) -> None:
        appointment = self._appointment(self.dialogue.appointment_id)
        self._ask(
            Awaiting.confirm,
            f"Just to confirm, you'd like to cancel your {appointment['service'].lower()} on "
            f"{appointment['when']}?",
        )

    def _appointment(self, handle: str | None) -> dict[str, str]:
        return next(a for a in self.dialogue.upcoming if a["appointment_id"] == handle)

    def _search(self, next_options: bool = False) -> None:
        """Ask get_availability for the caller's preference (widened when nothing fit)."""
        d = self.dialogue
        today = self._local_now().date()
        pref = d.when
        start = max(pref.date_from or today, today)
        end = pref.date_to or start + timedelta(days=DEFAULT_SEARCH_DAYS)
        if pref.earliest and pref.date_from is None:
            start, end = today, today + timedelta(days=DEFAULT_SEARCH_DAYS)
        after, before = (
            pref.time_window() if (pref.part_of_day or pref.after or pref.before or pref.at) else (None, None)
        )
        if d.widened >= 1:
            after = before = None  # the caller's time of day did not fit: any time those days
        if d.widened >= 2:
            end = end + timedelta(days=WIDEN_DAYS * (d.widened - 1))
        service = d.service or self._current_service()
        arguments: dict[str, Any] = {
            "service": service,
            "date_from": start.isoformat(),
            "date_to": end.isoformat(),
        }
        if d.provider_id:
            provider = self._profile.provider_by_id(UUID(d.provider_id))
            arguments["provider"] = provider.name if provider else None
        if after is not None and before is not None:
            arguments["after"] = after.strftime("%H:%M")
            arguments["before"] = before.strftime("%H:%M")
        if pref.weekdays:
            arguments["weekdays"] = [WEEKDAYS[i] for i in sorted(pref.weekdays)]
        if not next_options and d.widened == 0:
            self._speak("Let me check.")
        self._use("get_availability", **{k: v for k, v in arguments.items() if v is not None})

    def _current_service(self) -> str:
        d = self.dialogue
        if d.appointment_id:
            return self._appointment(d.appointment_id)["service"]
        return self._profile.services[0].slug

    def _choose(self, heard: Understanding) -> bool:
        """Pick the slot the caller chose among those offered; False when they chose none."""
        d = self.dialogue
        chosen: dict[str, str] | None = None
        if heard.option_index is not None and -len(d.offered) <= heard.option_index < len(d.offered):
            chosen = d.offered[heard.option_index]
        elif heard.when.at is not None or heard.when.date_from is not None:
            matches = [s for s in d.offered if _slot_fits(s, heard.when)]
            chosen = matches[0] if len(matches) == 1 else None
        elif heard.affirm:
            # "Yes" to several times: the first (the earliest); the read-back lets them say no.
            chosen = d.offered[0]
        if chosen is None:
            return False
        d.chosen = chosen
        verb = "move your appointment to" if d.task == Task.reschedule else "book"
        name = self._service_name()
        what = "" if d.task == Task.reschedule else f"{'an' if name[0] in 'aeiou' else 'a'} {name} on "
        self._ask(Awaiting.confirm, f"Just to confirm, I'll {verb} {what}{chosen['when']}. Is that right?")
        return True

    def _service_name(self) -> str:
        service = self._profile.service_by_slug(self.dialogue.service or "")
        return service.name.lower() if service else "visit"

    def _act_on_confirmation(self) -> None:
        d = self.dialogue
        if d.task == Task.cancel:
            self._use("cancel_appointment", appointment_id=d.appointment_id)
        elif d.task == Task.confirm:
            self._use("confirm_appointment", appointment_id=d.appointment_id)
        elif d.task == Task.reschedule and d.chosen:
            self._use("reschedule_appointment", appointment_id=d.appointment_id, slot_id=d.chosen["slot_id"])
        elif d.task == Task.book and d.chosen:
            patient = {"first_name": d.first_name, "last_name": d.last_name, "date_of_birth": d.date_of_birth}
            self._use("book_appointment", slot_id=d.chosen["slot_id"], patient=patient)
        else:
            self._ask(Awaiting.anything_else, "Okay.", _ANYTHING_ELSE)

    def _reconsider(self, heard: Understanding) -> None:
        d = self.dialogue
        if d.task in (Task.cancel, Task.confirm):
            d.task = None
            self._ask(Awaiting.anything_else, "No problem, I'll leave it as it is.", _ANYTHING_ELSE)
            return
        d.chosen = None
        if heard.when.is_empty:
            self._ask(Awaiting.when, "No problem. What day or time would work better?")
            return
        d.widened = 0
        self._search()

    # -- tool results --------------------------------------------------------------------------

    def _after_tool(self, tool: str, result: ToolResultBlock) -> None:
        d = self.dialogue
        data: dict[str, Any] = {} if result.is_error else json.loads(result.content)
        if result.is_error:
            self._after_refusal(tool, result.content)
            return
        match tool:
            case "identify_patient":
                self._after_identify(data)
            case "get_availability":
                self._after_availability(data)
            case "book_appointment" | "reschedule_appointment" | "cancel_appointment" | "confirm_appointment":
                done = {
                    "book_appointment": "You're all set",
                    "reschedule_appointment": "Done, I've moved it",
                    "cancel_appointment": "Your appointment is cancelled",
                    "confirm_appointment": "Thank you, you're confirmed",
                }[tool]
                d.task, d.offered, d.chosen, d.appointment_id = None, [], None, None
                d.when = TimePreference()
                self._refresh_upcoming(data, cancelled=tool == "cancel_appointment")
                detail = f"for {data['when']}" if tool != "cancel_appointment" else ""
                confirmation = (
                    "You'll get a text confirmation shortly."
                    if tool in ("book_appointment", "reschedule_appointment")
                    else ""
                )
                if d.goodbye_after_action:
                    d.goodbye_after_action = False
                    self._speak(f"{done} {detail}.".replace(" .", "."), confirmation)
                    self._goodbye()
                    return
                self._ask(
                    Awaiting.anything_else,
                    f"{done} {detail}.".replace(" .", "."),
                    confirmation,
                    _ANYTHING_ELSE,
                )
            case "verify_insurance":
                self._after_insurance(data)
            case "opt_out":
                self._speak(_OPTED_OUT[data["channel"]], "Have a good day!")
                self._use("end_call")
            case "take_message" if d.goodbye_after_action:
                d.task, d.goodbye_after_action = None, False
                self._goodbye()
            case "take_message":
                d.task = None
                when = "today" if self._profile.is_open(self._now()) else "when we open"
                self._ask(
                    Awaiting.anything_else,
                    f"Someone from our team will call you back {when}.",
                    _ANYTHING_ELSE,
                )
            case "transfer_to_human" | "end_call":
                pass  # the call is leaving the agent; the words were said before the tool ran

    def _after_refusal(self, tool: str, reason: str) -> None:
        d = self.dialogue
        d.goodbye_after_action = False
        if tool == "opt_out":
            # No number to change (withheld), or no database: the staff do it by hand.
            d.task, d.goodbye_after_action = Task.message, True
            self._speak("I'll make sure our team takes you off the list.")
            self._use("take_message", reason="The caller asked not to be called or texted again.")
            return
        if tool == "transfer_to_human":
            # After hours or no number: a message and a callback instead.
            self._ask(
                Awaiting.message,
                "I can't put you through right now, but I can take a message and have someone call you back.",
                "What would you like me to pass on?",
            )
            return
        if tool in ("book_appointment", "reschedule_appointment") and "taken" in reason.lower():
            d.chosen = None
            self._speak("I'm sorry, that time was just taken.")
            self._search(next_options=True)
            return
        self._speak("I'm sorry, I wasn't able to do that.")
        self._offer_human()

    def _refresh_upcoming(self, data: dict[str, Any], cancelled: bool) -> None:
        """Keep the appointments we know as the tool left them (moved, confirmed, or gone)."""
        d = self.dialogue
        handle = data["appointment_id"]
        known = [a["appointment_id"] for a in d.upcoming]
        summary = {key: data[key] for key in ("appointment_id", "when", "service")}
        if cancelled:
            d.upcoming = [a for a in d.upcoming if a["appointment_id"] != handle]
        elif handle in known:
            d.upcoming[known.index(handle)] = summary
        else:
            d.upcoming.append(summary)

    def _after_identify(self, data: dict[str, Any]) -> None:
        d = self.dialogue
        if not data.get("found"):
            if d.task == Task.book:
                d.identified = True  # a new patient: their details come with the booking
                self._continue_task(Understanding(text=""))
                return
            if d.identify_attempts >= 2:
                self._speak("I'm sorry, I still can't find your record.")
                self._offer_human()
                return
            d.date_of_birth = None
            self._ask(
                Awaiting.identity,
                "I couldn't find a patient with that name and date of birth.",
                "Could you give me your full name and date of birth again?",
            )
            return
        d.identified = True
        d.upcoming = list(data.get("upcoming", []))
        self._speak(f"Thanks, {d.first_name}.")
        self._continue_task(Understanding(text=""))

    def _after_availability(self, data: dict[str, Any]) -> None:
        d = self.dialogue
        slots: list[dict[str, str]] = data.get("slots", [])
        if not slots:
            if d.widened < 3:
                d.widened += 1
                if d.widened == 1:
                    self._speak("I don't have anything that fits exactly.")
                self._search(next_options=True)
                return
            self._ask(
                Awaiting.when, "I'm sorry, I don't have any openings then. Is there another day that works?"
            )
            d.widened = 0
            return
        d.offered = slots
        d.widened = 0
        question = "Would that work?" if len(slots) == 1 else "Which would you prefer?"
        self._ask(Awaiting.choice, _spoken_offers([s["when"] for s in slots]), question)

    # -- insurance, escalation, goodbye --------------------------------------------------------

    def _check_insurance(self, heard: Understanding) -> None:
        carrier = _carrier_named(heard.text, self._profile.accepted_insurance)
        if carrier is None:
            self._ask(Awaiting.carrier, "Which insurance carrier do you have?")
            return
        self._use("verify_insurance", carrier=carrier)

    def _after_insurance(self, data: dict[str, Any]) -> None:
        self.dialogue.task = None
        if data.get("accepted"):
            answer = f"Yes, we accept {data['carrier']}."
        else:
            accepted = _spoken_list(self._profile.accepted_insurance) or "no insurance plans directly"
            answer = f"I'm sorry, we don't accept {data['carrier']}. We accept {accepted}."
        self._answer(answer)

    def _escalate(self, intent: Intent, heard: Understanding) -> None:
        d = self.dialogue
        d.task = Task.message
        d.message_reason = heard.text
        closed = not self._profile.is_open(self._now())
        if (
            closed
            and self._profile.escalation.after_hours_policy == "take_message"
            and intent in (Intent.human, Intent.billing, Intent.clinical)
        ):
            self._ask(
                Awaiting.message,
                "We're closed right now, so I can't put you through, but I can take a message and have "
                "someone call you back when we open.",
                "What would you like me to pass on?",
            )
            return
        if intent == Intent.emergency:
            self._speak(
                "If this is a medical emergency, please hang up and dial 911 right now.",
                "I'm connecting you with our team as well.",
            )
            self._use("transfer_to_human", reason=TransferReason.distress.value)
        elif intent == Intent.distress:
            self._speak(
                "I'm so sorry you're going through this. Let me get you to someone on our team right away."
            )
            self._use("transfer_to_human", reason=TransferReason.distress.value)
        elif intent == Intent.billing:
            self._speak("Our billing team can help with that. Let me transfer you.")
            self._use("transfer_to_human", reason=TransferReason.billing.value)
        elif intent == Intent.clinical:
            self._speak("That's a question for our clinical team. Let me connect you with our nurse line.")
            self._use("transfer_to_human", reason=TransferReason.clinical.value)
        else:
            self._speak("Of course, let me connect you with someone from our team.")
            self._use("transfer_to_human", reason=TransferReason.caller_request.value)

    def _offer_human(self) -> None:
        self.dialogue.task = Task.message
        self._speak("Let me connect you with someone from our team who can help.")
        self._use("transfer_to_human", reason=TransferReason.failure.value)

    def _not_understood(self) -> None:
        d = self.dialogue
        d.misunderstood += 1
        if d.misunderstood > MAX_MISUNDERSTOOD:
            self._speak("I'm sorry, I'm not able to help with that myself.")
            self.dialogue.task = Task.message
            self._use("transfer_to_human", reason=TransferReason.out_of_scope.value)
            return
        self._ask(
            Awaiting.nothing,
            "I'm sorry, I didn't quite get that. I can book, reschedule or cancel appointments, "
            "and answer questions about our hours, location and insurance. What can I do for you?",
        )

    def _goodbye(self) -> None:
        if self._ctx.state.direction == "outbound":
            self._speak("Thanks for your time. Have a great day!")
        else:
            self._speak(f"Thank you for calling {self._profile.name}. Have a great day!")
        self._use("end_call")


_ANYTHING_ELSE = "Is there anything else I can help you with?"
# The outbound call's questions once the patient is on the line.
_WILL_YOU_COME = "Will you be able to make it?"
_BOOK_A_VISIT = "Would you like to book a visit?"
_RESCHEDULE_OR_CANCEL = "Would you like to reschedule it, or cancel it?"
# The tasks that change an existing appointment (and so need to know which one).
_CHANGES = (Task.reschedule, Task.cancel, Task.confirm)
_OPTED_OUT = {
    "calls": "I've taken your number off our call list.",
    "sms": "I've stopped our text messages to this number.",
    "all": "I've taken your number off our call and text lists.",
}
# "move it to Friday", "for next week": a date that is the new time, not the appointment's.
_NEW_TIME = re.compile(
    r"\b(to|for|into|until|instead)\s+(the\s+)?(next|this|following|\d|tomorrow|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|morning|afternoon|evening|early|later|week)"
)


def _starts_task(d: Dialogue, intent: Intent) -> bool:
    """A booking-type intent starts a task unless it only restates the one under way."""
    return d.task != Task(intent.value) or d.awaiting in (Awaiting.nothing, Awaiting.anything_else)


def _spoken_offers(descriptions: list[str]) -> str:
    """The offer, the date said once when the slots share it ("On Tuesday, December 1st, I have...")."""
    days = {d.split(" at ")[0] for d in descriptions}
    if len(days) == 1 and len(descriptions) > 1:
        return (
            f"On {days.pop()}, I have "
            + _spoken_list([d.split(" at ", 1)[1] for d in descriptions], "or")
            + "."
        )
    return "I have " + _spoken_list(descriptions, "or") + "."


def _spoken_list(items: list[str], joiner: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f", {joiner} " + items[-1]


def _message_text(heard: Understanding) -> str:
    """The caller's words as a message for staff, within take_message's 500-character limit."""
    return heard.text if len(heard.text) <= 500 else heard.text[:497] + "..."


_KNOWN_CARRIERS = (
    "delta dental",
    "cigna",
    "aetna",
    "metlife",
    "guardian",
    "humana",
    "unitedhealthcare",
    "united healthcare",
    "blue cross",
    "blue shield",
    "anthem",
    "kaiser",
    "medicaid",
    "medicare",
    "ameritas",
    "principal",
    "careington",
    "geha",
)
_NOT_CARRIER_WORDS = {
    "what",
    "about",
    "do",
    "you",
    "take",
    "accept",
    "have",
    "my",
    "i",
    "a",
    "the",
    "with",
    "got",
    "is",
    "it",
    "your",
    "any",
    "our",
    "dental",
    "and",
    "or",
    "if",
    "we",
}


def _carrier_named(text: str, accepted: list[str]) -> str | None:
    """The insurance carrier an utterance names: an accepted or well-known one, or "X insurance"."""
    for carrier in [*accepted, *_KNOWN_CARRIERS]:
        if re.search(r"\b" + re.escape(carrier.lower()) + r"\b", text):
            return carrier if carrier in accepted else carrier.title()
    if m := re.search(r"((?:\w+ ){0,2}\w+) (?:insurance|plan|coverage)\b", text):
        words = [w for w in m.group(1).split() if w not in _NOT_CARRIER_WORDS]
        if words:
            return " ".join(words).title()
    return None


def _slot_fits(slot: dict[str, str], when: TimePreference) -> bool:
    """Whether a spoken slot description ("Tuesday, December 1st at 9 AM with ...") fits a preference."""
    text = slot["when"].lower()
    if when.at is not None and f"at {speak_time(when.at).lower()}" not in text:
        return False
    if when.date_from is not None and when.date_from == when.date_to:
        day = datetime.combine(when.date_from, datetime.min.time())
        return speak_date(day).lower() in text
    return True
