"""The Claude brain: the real anthropic SDK against the fake Messages API on 127.0.0.1.

Streaming text and tool calls, the whole tool loop of the receptionist, prompt caching marks,
the filler filter, and every way the vendor can fail handing the call to the fallback brain.
"""

import json
import socket
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import anthropic
import pytest
from pydantic import SecretStr

from frontdesk.agent.actions import (
    ActionRefused,
    InsuranceCheck,
    PatientRecord,
    SlotOption,
    SlotQuery,
)
from frontdesk.agent.brains.base import Brain, BrainContext, BrainError, TextDelta, ToolCallStarted
from frontdesk.agent.brains.claude import CONNECT_SECONDS, STREAM_IDLE_SECONDS, ClaudeBrain, make_claude_brain
from frontdesk.agent.brains.fallback import FallbackBrain
from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.conversation import Conversation, ToolUseBlock
from frontdesk.agent.engine import Receptionist
from frontdesk.agent.prompt import build_system_prompt
from frontdesk.agent.tools import TOOL_MODELS, ConfirmationChannel, PatientDetails, TransferReason
from frontdesk.config import Settings
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.outcomes import Outcome
from tests.agent.fake_anthropic import (
    FakeAnthropic,
    HttpError,
    Reply,
    Text,
    ToolUse,
    internal_error,
    overloaded,
)
from tests.agent.sample_clinics import CLEANING, EXAM, LEE, PATEL, bright_smile

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)  # a Monday; the clinic is open
MODEL = "claude-test-model"
GREETING = "Thank you for calling Bright Smile Dental, this is Ava. How can I help you today?"
ANA = {"first_name": "Ana", "last_name": "Lopez", "date_of_birth": "1988-03-03"}


def now() -> datetime:
    return NOW


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, clinic time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=NEW_YORK)


class MemoryActions:
    """A small in-memory clinic behind the `Actions` interface: a test double of the data layer.

    Slots come from a fixed list and disappear once booked; booking a slot that is not free is
    refused, as the database refuses a double booking.
    """

    def __init__(self, profile: ClinicProfile, slots: list[SlotOption]) -> None:
        self.profile = profile
        self.free = list(slots)
        self.patients: list[PatientRecord] = []
        self.appointments: list[AppointmentRecord] = []
        self.transfers: list[tuple[TransferReason, str]] = []
        self.messages: list[tuple[str, str]] = []
        self.ended: list[str] = []

    async def find_slots(self, query: SlotQuery) -> list[SlotOption]:
        def fits(slot: SlotOption) -> bool:
            local = slot.start.astimezone(self.profile.tz)
            return (
                slot.service_id == query.service_id
                and query.provider_id in (None, slot.provider_id)
                and query.date_from <= local.date() <= query.date_to
                and (query.after is None or local.time() >= query.after)
                and (query.before is None or local.time() < query.before)
            )

        return sorted((s for s in self.free if fits(s)), key=lambda s: s.start)

    async def patient_by_phone(self, phone: str) -> PatientRecord | None:
        return next((p for p in self.patients if p.phone == phone), None)

    async def identify_patient(
        self, first_name: str, last_name: str, date_of_birth: date
    ) -> PatientRecord | None:
        return next(
            (
                p
                for p in self.patients
                if (p.first_name.lower(), p.last_name.lower(), p.date_of_birth)
                == (first_name.lower(), last_name.lower(), date_of_birth)
            ),
            None,
        )

    async def upcoming_appointments(self, patient_id: UUID) -> list[AppointmentRecord]:
        return [a for a in self.appointments if a.patient_id == patient_id and a.status == "booked"]

    async def verify_insurance(self, carrier: str, member_id: str | None) -> InsuranceCheck:
        accepted = carrier.lower() in {c.lower() for c in self.profile.accepted_insurance}
        return InsuranceCheck(
            carrier=carrier,
            accepted=accepted,
            eligible=None if member_id is None else accepted,
            detail="accepted" if accepted else "not accepted",
        )

    async def book(
        self, slot: SlotOption, patient: PatientDetails, patient_id: UUID | None
    ) -> AppointmentRecord:
        self._take(slot)
        if patient_id is None:
            record = PatientRecord(
                id=uuid.uuid4(),
                first_name=patient.first_name,
                last_name=patient.last_name,
                date_of_birth=patient.date_of_birth,
                phone=patient.phone or "",
            )
            self.patients.append(record)
            patient_id = record.id
        appointment = AppointmentRecord(
            id=uuid.uuid4(), patient_id=patient_id, status="booked", **slot.model_dump()
        )
        self.appointments.append(appointment)
        return appointment

    async def reschedule(self, appointment_id: UUID, slot: SlotOption) -> AppointmentRecord:
        current = self._booked(appointment_id)
        self._take(slot)
        moved = replace(current, **slot.model_dump())
        self.appointments[self.appointments.index(current)] = moved
        self.free.append(
            SlotOption(
                provider_id=current.provider_id,
                service_id=current.service_id,
                start=current.start,
                end=current.end,
            )
        )
        return moved

    async def cancel(self, appointment_id: UUID) -> AppointmentRecord:
        current = self._booked(appointment_id)
        cancelled = replace(current, status="cancelled")
        self.appointments[self.appointments.index(current)] = cancelled
        return cancelled

    async def send_confirmation(self, appointment_id: UUID, channel: ConfirmationChannel) -> str:
        self._booked(appointment_id)
        return f"your {channel.value} on file"

    async def take_message(self, reason: str, callback_number: str) -> None:
        self.messages.append((reason, callback_number))

    async def transfer(self, reason: TransferReason, number: str) -> None:
        self.transfers.append((reason, number))

    async def end_call(self, outcome: str) -> None:
        self.ended.append(outcome)

    def _take(self, slot: SlotOption) -> None:
        if slot not in self.free:
            raise ActionRefused("That time was just taken. Search again with get_availability.")
        self.free.remove(slot)

    def _booked(self, appointment_id: UUID) -> AppointmentRecord:
        found = next((a for a in self.appointments if a.id == appointment_id and a.status == "booked"), None)
        if found is None:
            raise ActionRefused("That appointment is not booked.")
        return found


def slot(provider_id: UUID, service_id: UUID, start: datetime, minutes: int) -> SlotOption:
    return SlotOption(
        provider_id=provider_id, service_id=service_id, start=start, end=start + timedelta(minutes=minutes)
    )


def clinic_slots() -> list[SlotOption]:
    """Dr. Patel's exams on Tuesday and Wednesday, and one cleaning with Sam."""
    exams = [at(24, 9), at(24, 9, 30), at(24, 11), at(24, 14), at(25, 9)]
    return [slot(PATEL.id, EXAM.id, start, 30) for start in exams] + [
        slot(LEE.id, CLEANING.id, at(24, 10), 60)
    ]


class Call:
    """One call's receptionist over a chain of brains, with the in-memory clinic behind it."""

    def __init__(self, brains: list[Brain]) -> None:
        self.profile = bright_smile()
        self.actions = MemoryActions(self.profile, clinic_slots())
        self.state = CallState(caller_number="+15550199001")
        self.system = build_system_prompt(self.profile, self.state, NOW)
        self.receptionist = Receptionist(self.profile, self.actions, self.state, brains, self.system, now=now)
        self.receptionist.greet(GREETING)

    async def say(self, caller_text: str) -> list[str]:
        """What the agent streams back, chunk by chunk."""
        return [chunk async for chunk in self.receptionist.respond(caller_text)]


def context() -> BrainContext:
    """A brain's view of a call where the caller just said hello."""
    profile = bright_smile()
    state = CallState(caller_number="+15550199001")
    conversation = Conversation()
    conversation.add_caller_text("Hi there")
    return BrainContext(profile, conversation, state, build_system_prompt(profile, state, NOW))


async def events_of(brain: ClaudeBrain, ctx: BrainContext) -> list[TextDelta | ToolUseBlock]:
    return [event async for event in brain.step(ctx)]


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of a request's last message."""
    return [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]


# --- streaming --------------------------------------------------------------------------------


async def test_text_streams_as_one_delta_per_api_delta(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    fake_anthropic.script(Reply(Text("Hi", " there,", " how can I help?")))
    events = await events_of(ClaudeBrain(anthropic_client, MODEL), context())
    assert events == [TextDelta("Hi"), TextDelta(" there,"), TextDelta(" how can I help?")]
    body = fake_anthropic.requests[0].body
    assert (body["model"], body["max_tokens"], body["stream"]) == (MODEL, 400, True)
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}]


async def test_tool_input_pieces_become_complete_tool_calls_after_the_text(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    """Each call's start is told as its block opens (the words before it are whole then); the
    complete calls, their input parsed from the pieces, come at the message's end."""
    search = {
        "service": "exam",
        "provider": "Dr. Patel",
        "date_from": "2026-11-24",
        "date_to": "2026-11-27",
        "part_of_day": "morning",
    }
    fake_anthropic.script(
        Reply(
            Text("One moment", " while I look."),
            ToolUse("get_availability", search, pieces=6),
            ToolUse("end_call"),
        )
    )
    events = await events_of(ClaudeBrain(anthropic_client, MODEL), context())
    assert events == [
        TextDelta("One moment"),
        TextDelta(" while I look."),
        ToolCallStarted("get_availability"),
        ToolCallStarted("end_call"),
        ToolUseBlock(id="toolu_fake_1_1", name="get_availability", input=search),
        ToolUseBlock(id="toolu_fake_1_2", name="end_call", input={}),
    ]


@pytest.mark.parametrize(
    ("raw_json", "problem"),
    [
        ('{"slot_id": "S1", "patient": {"first_name": ', "is not valid JSON"),  # cut off mid-object
        ('["S1"]', "is not a JSON object"),
    ],
)
async def test_unparsable_tool_input_is_a_brain_error(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic, raw_json: str, problem: str
) -> None:
    fake_anthropic.script(Reply(ToolUse("book_appointment", raw_json=raw_json)))
    with pytest.raises(BrainError, match=f"input for tool 'book_appointment' {problem}"):
        await events_of(ClaudeBrain(anthropic_client, MODEL), context())


# --- failures: each is a BrainError, never a retry ----------------------------------------------


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (overloaded(), r"Claude API overloaded_error \(HTTP 529\): Overloaded"),
        (internal_error(), r"Claude API api_error \(HTTP 500\): Internal server error"),
        (HttpError(429, "rate_limit_error", "Number of requests has exceeded your rate limit"), "HTTP 429"),
        (
            Reply(Text("Let me check."), error="overloaded_error"),
            "Claude stream overloaded_error mid-message",
        ),
        (Reply(Text("Let me check."), ending="eof"), "ended before message_stop"),
        (Reply(Text("Let me check."), ending="reset"), "stream broke off: RemoteProtocolError"),
    ],
)
async def test_vendor_failures_are_brain_errors_without_retries(
    fake_anthropic: FakeAnthropic,
    anthropic_client: anthropic.AsyncAnthropic,
    reply: Reply | HttpError,
    message: str,
) -> None:
    fake_anthropic.script(reply)
    with pytest.raises(BrainError, match=message) as raised:
        await events_of(ClaudeBrain(anthropic_client, MODEL), context())
    assert "test-key" not in str(raised.value)
    assert len(fake_anthropic.requests) == 1


@pytest.mark.parametrize("stall", ["before_headers", "before_first_token"])
async def test_no_first_token_in_time_is_a_brain_error(
    fake_anthropic: FakeAnthropic,
    anthropic_client: anthropic.AsyncAnthropic,
    stall: Any,
) -> None:
    fake_anthropic.script(Reply(Text("Too late."), stall=stall))
    brain = ClaudeBrain(anthropic_client, MODEL, first_token_timeout=0.2)
    with pytest.raises(BrainError, match=r"no first token within 0.2s"):
        await events_of(brain, context())


async def test_a_stream_gone_quiet_mid_message_is_a_brain_error(fake_anthropic: FakeAnthropic) -> None:
    # The first token came in time; then the stream goes quiet for longer than the client's read timeout.
    fake_anthropic.script(Reply(Text("Let me check", " that for you."), stall="before_message_stop"))
    client = anthropic.AsyncAnthropic(
        api_key="test-key", base_url=fake_anthropic.url, max_retries=0, timeout=anthropic.Timeout(1.0)
    )
    spoken: list[TextDelta | ToolUseBlock] = []
    try:
        with pytest.raises(BrainError, match="stream broke off: ReadTimeout"):
            async for event in ClaudeBrain(client, MODEL).step(context()):
                spoken.append(event)
    finally:
        await client.close()
    assert spoken == [TextDelta("Let me check"), TextDelta(" that for you.")]


async def test_an_unreachable_api_is_a_brain_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = anthropic.AsyncAnthropic(api_key="test-key", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    try:
        with pytest.raises(BrainError, match="Claude is unreachable"):
            await events_of(ClaudeBrain(client, MODEL), context())
    finally:
        await client.close()


async def test_make_claude_brain_needs_a_key_and_never_retries(fake_anthropic: FakeAnthropic) -> None:
    assert make_claude_brain(Settings(_env_file=None, anthropic_api_key=None)) is None
    settings = Settings(
        _env_file=None,
        anthropic_api_key=SecretStr("sk-configured"),
        anthropic_base_url=fake_anthropic.url,
        anthropic_model=MODEL,
    )
    brain = make_claude_brain(settings)
    assert brain is not None and brain.name == "claude" and brain.model == MODEL
    assert brain.client.timeout == anthropic.Timeout(STREAM_IDLE_SECONDS, connect=CONNECT_SECONDS)
    fake_anthropic.script(overloaded())
    try:
        with pytest.raises(BrainError, match="overloaded_error"):
            await events_of(brain, context())
    finally:
        await brain.client.close()
    assert len(fake_anthropic.requests) == 1, "the SDK retried on the call path"
    headers = fake_anthropic.requests[0].headers
    assert "sk-configured" in (
        headers.get("x-api-key"),
        headers.get("authorization", "").removeprefix("Bearer "),
    )


def test_bad_brain_settings_get_clear_errors(anthropic_client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(ValueError, match="model name"):
        ClaudeBrain(anthropic_client, " ")
    with pytest.raises(ValueError, match="first_token_timeout"):
        ClaudeBrain(anthropic_client, MODEL, first_token_timeout=0)
    with pytest.raises(ValueError, match="max_tokens"):
        ClaudeBrain(anthropic_client, MODEL, max_tokens=0)


# --- the receptionist with Claude ---------------------------------------------------------------


async def test_the_request_carries_cache_marks_and_a_stable_prefix(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    fake_anthropic.script(
        Reply(Text("We are at 12 Elm Street in Springfield. Anything else?")),
        Reply(Text("We are open Monday through Friday, 8 AM to 5 PM.")),
    )
    call = Call([ClaudeBrain(anthropic_client, MODEL)])
    await call.say("Where are you?")
    await call.say("And your hours?")
    first, second = (r.body for r in fake_anthropic.requests)
    assert first["system"][:2] == call.system
    assert first["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert all("cache_control" not in block for block in first["system"][1:])
    assert first["system"][2]["text"].startswith("# Current focus\nGeneral front desk")
    assert [t["name"] for t in first["tools"]] == list(TOOL_MODELS)
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert all("cache_control" not in t for t in first["tools"][:-1])
    # tools + the cached system block are byte for byte the same on every turn: one cached prefix.
    assert (second["tools"], second["system"][:2]) == (first["tools"], first["system"][:2])
    assert first["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "(the call connects)"}]},
        {"role": "assistant", "content": [{"type": "text", "text": GREETING}]},
        {"role": "user", "content": [{"type": "text", "text": "Where are you?"}]},
    ]
    assert second["messages"][-2:] == [
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "We are at 12 Elm Street in Springfield. Anything else?"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "And your hours?"}]},
    ]
    assert fake_anthropic.rejections == []


async def test_the_tool_loop_books_a_slot_the_caller_confirmed(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    search = {"service": "exam", "date_from": "2026-11-24", "date_to": "2026-11-24"}
    read_back = "That is Tuesday, November 24th at 9 AM with Dr. Patel. Shall I book it?"
    fake_anthropic.script(
        Reply(Text("Let me check Tuesday for you."), ToolUse("get_availability", search, pieces=4)),
        Reply(Text("I have 9 AM, 11 AM or 2 PM", " with Dr. Patel. Which suits you?")),
        Reply(Text(read_back)),
        Reply(ToolUse("book_appointment", {"slot_id": "S1", "patient": ANA}, pieces=5)),
        Reply(Text("You're booked.", " See you Tuesday at 9 AM.")),
    )
    call = Call([ClaudeBrain(anthropic_client, MODEL)])

    chunks = await call.say("Can I get an exam on Tuesday?")
    first = "".join(chunks)
    assert (
        first == "Let me check Tuesday for you. I have 9 AM, 11 AM or 2 PM with Dr. Patel. Which suits you?"
    )
    # The first message's end is streamed before its tool round, so speech need not wait for it.
    boundary = chunks.index(" ")
    assert "".join(chunks[:boundary]) == "Let me check Tuesday for you."
    # The runner's result went back to Claude in the next request, answering its tool_use.
    requests = fake_anthropic.requests
    tool_use = requests[1].body["messages"][-2]["content"][-1]
    [result] = tool_results(requests[1].body)
    assert tool_use["type"] == "tool_use" and result["tool_use_id"] == tool_use["id"]
    assert result["is_error"] is False
    offered = json.loads(result["content"])["slots"]
    assert [s["slot_id"] for s in offered] == ["S1", "S2", "S3"]
    assert offered[0]["when"] == "Tuesday, November 24th at 9 AM with Dr. Patel"

    await call.say("The 9 AM one.")
    await call.say("Yes please. It's Ana Lopez, born March 3rd, 1988.")

    [booked] = call.actions.appointments
    assert (booked.provider_id, booked.start) == (PATEL.id, at(24, 9))
    assert call.state.outcome == Outcome.booked
    [result] = tool_results(fake_anthropic.requests[-1].body)
    assert json.loads(result["content"])["booked"] is True
    assert call.receptionist.conversation.last_agent_text() == "You're booked. See you Tuesday at 9 AM."
    assert fake_anthropic.pending == 0 and fake_anthropic.rejections == []


async def test_refusals_go_back_to_claude_as_error_results(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    search = {"service": "exam", "date_from": "2026-11-24", "date_to": "2026-11-24"}
    fake_anthropic.script(
        # An invented slot id, before any search.
        Reply(ToolUse("book_appointment", {"slot_id": "S9", "patient": ANA})),
        Reply(Text("Let me look at Tuesday first."), ToolUse("get_availability", search)),
        Reply(Text("Tuesday, November 24th at 9 AM with Dr. Patel is open. Shall I book it?")),
        Reply(ToolUse("book_appointment", {"slot_id": "S1", "patient": ANA})),
        Reply(Text("I'm sorry, that time was just taken. Shall I look for another?")),
    )
    call = Call([ClaudeBrain(anthropic_client, MODEL)])
    await call.say("Book me an exam Tuesday at 9.")
    [refusal] = tool_results(fake_anthropic.requests[1].body)
    assert refusal["is_error"] is True and "was not returned by get_availability" in refusal["content"]

    # Someone else takes the slot between the read-back and the caller's yes.
    call.actions.free.remove(call.state.offered["S1"])
    await call.say("Yes, I'm Ana Lopez, March 3rd 1988.")
    [taken] = tool_results(fake_anthropic.requests[-1].body)
    assert (
        taken["is_error"] is True
        and taken["content"] == "That time was just taken. Search again with get_availability."
    )
    assert call.actions.appointments == []
    assert call.state.outcome is None
    assert fake_anthropic.pending == 0 and fake_anthropic.rejections == []


async def test_an_identified_patient_cancels_through_the_tool_loop(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    call = Call([ClaudeBrain(anthropic_client, MODEL)])
    ana = PatientDetails.model_validate({**ANA, "phone": "+15550199001"})
    appointment = await call.actions.book(call.actions.free[0], ana, None)
    fake_anthropic.script(
        Reply(ToolUse("identify_patient", ANA)),
        Reply(
            Text("Thanks, Ana. I see your exam on Tuesday, November 24th at 9 AM with Dr. Patel. Cancel it?")
        ),
        Reply(ToolUse("cancel_appointment", {"appointment_id": "A1"})),
        Reply(Text("It's cancelled. Anything else?")),
    )
    await call.say("I need to cancel my appointment. Ana Lopez, March 3rd 1988.")
    [found] = tool_results(fake_anthropic.requests[1].body)
    assert json.loads(found["content"])["upcoming"] == [
        {"appointment_id": "A1", "when": "Tuesday, November 24th at 9 AM with Dr. Patel", "service": "Exam"}
    ]
    await call.say("Yes, cancel it.")
    assert [a.status for a in call.actions.appointments if a.id == appointment.id] == ["cancelled"]
    assert call.state.outcome == Outcome.cancelled
    assert fake_anthropic.pending == 0 and fake_anthropic.rejections == []


@pytest.mark.parametrize("filler", ["Certainly! ", "Absolutely! ", "Of course, ", "Great question! Sure, "])
async def test_filler_never_reaches_speech(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic, filler: str
) -> None:
    fake_anthropic.script(Reply(Text(filler, "I can", " help you book an exam.", " What day suits you?")))
    call = Call([ClaudeBrain(anthropic_client, MODEL)])
    spoken = "".join(await call.say("I need an exam."))
    assert spoken == "I can help you book an exam. What day suits you?"
    assert call.receptionist.conversation.last_agent_text() == spoken


async def test_words_out_before_claude_failed_are_broken_off_before_the_fallback_speaks(
    fake_anthropic: FakeAnthropic,
) -> None:
    """Claude's first words go out as they come; when its stream then breaks, the fallback's
    reply starts a new sentence after a break instead of running on from "I can help you"."""
    fake_anthropic.script(Reply(Text("I can help you"), stall="before_message_stop"))
    client = anthropic.AsyncAnthropic(
        api_key="test-key", base_url=fake_anthropic.url, max_retries=0, timeout=anthropic.Timeout(1.0)
    )
    try:
        call = Call([ClaudeBrain(client, MODEL), FallbackBrain(now)])
        chunks = await call.say("I'd like to book an exam on Tuesday morning.")
    finally:
        await client.close()
    assert chunks[:2] == ["I can help you", " \u2014 "]
    assert "".join(chunks[2:]).startswith("Can I have your first and last name")
    assert call.receptionist.brain.name == "fallback"


# --- Claude fails mid-call: the fallback brain takes over at once --------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        # Claude had started a transfer when the stream broke: that tool call must never run.
        Reply(Text("Let me"), ToolUse("transfer_to_human", {"reason": "billing"}), error="overloaded_error"),
        overloaded(),
        Reply(Text("Hello."), stall="before_first_token"),
    ],
    ids=["error-event-mid-stream", "http-529-overloaded", "first-token-timeout"],
)
async def test_the_fallback_brain_takes_over_when_claude_fails(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic, failure: Reply | HttpError
) -> None:
    fake_anthropic.script(failure)
    call = Call([ClaudeBrain(anthropic_client, MODEL, first_token_timeout=0.5), FallbackBrain(now)])
    asked = "".join(await call.say("I'd like to book an exam on Tuesday morning."))
    assert call.receptionist.brain.name == "fallback"
    # Claude's unfinished "Let me" is spoken when its delta came before the error (it may come in
    # one read with it): the fallback then restarts after a break.
    restarted = " ".join(asked.split()).removeprefix("Let me \u2014 ")
    assert restarted.startswith("Can I have your first and last name and your date of birth")
    assert call.actions.transfers == []
    # The fallback keeps the call to the end, from what the caller already said: no repeating.
    offer = "".join(await call.say("Ana Lopez, March 3rd 1988"))
    assert "Tuesday, November 24th, I have 9 AM with Dr. Patel" in offer
    await call.say("The first one please.")
    await call.say("Yes.")
    [booked] = call.actions.appointments
    assert (booked.provider_id, booked.start) == (PATEL.id, at(24, 9))
    assert len(fake_anthropic.requests) == 1, "Claude is not asked again once it failed"
