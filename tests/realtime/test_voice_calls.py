"""Whole spoken calls through the real Media Streams path: the signed webhook, the media socket,
the turn loop with the offline speech twins and the deterministic brain, the demo clinic's
database. The caller is `frontdesk call`'s client; outcomes are read from the database."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from frontdesk.caller.conversation import CallOptions, run_call
from frontdesk.caller.conversation import CallResult as CallerResult
from frontdesk.caller.media_client import MediaStreamClient
from frontdesk.caller.script import BargeIn, Dtmf, Say, Silence, Step
from frontdesk.caller.webhook import place_call
from frontdesk.config import Settings, get_settings
from frontdesk.domain.campaign_settings import (
    LEGAL_CALLING_END,
    LEGAL_CALLING_START,
    CallingHours,
    CampaignAudience,
    CampaignKind,
    CampaignPlan,
)
from frontdesk.domain.campaigns import create_campaign
from frontdesk.domain.clinic_settings import OpeningHours, TimeRange, Weekday
from frontdesk.domain.models import (
    Action,
    Appointment,
    AppointmentStatus,
    Call,
    CallDirection,
    CallTurn,
    Clinic,
    Message,
    MessageChannel,
    TurnRole,
)
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.realtime.call_services import CallServices
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.realtime.turn.listening import is_backchannel
from frontdesk.realtime.turn.loop import IDLE_GOODBYE, IDLE_PROMPT
from frontdesk.telephony.twilio.protocol import CLINIC_PARAMETER, CLOCK_OFFSET_PARAMETER
from frontdesk.worker import build_worker
from frontdesk.workflows.launch import start_campaign_workflow
from tests.realtime.booking_call import CALLER, booking_steps, voice_stack, workflows_done
from tests.realtime.call_worker import CallWorker, call_worker, temporal_env
from tests.realtime.stored_calls import stored_call

__all__ = ["call_worker", "temporal_env"]

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

NEW_YORK = ZoneInfo("America/New_York")


def midday_timezone() -> str:
    """A fixed-offset zone where it is about noon now: a campaign calls only from 08:00 to 21:00
    in its clinic's zone, and this module's Temporal server keeps the real clock."""
    offset = (24 - datetime.now(UTC).hour) % 24 - 12  # hours east of UTC, -12 to +11
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-5 is UTC+5


@dataclass
class Stack:
    settings: Settings
    worker: CallWorker


@pytest.fixture
async def stack(database_url: str, demo_clinic: Clinic, call_worker: CallWorker) -> AsyncIterator[Stack]:
    """The webhooks and the media socket with the real turn loop, on one port, services warm,
    and a worker running each call's workflows on the Temporal dev server."""
    base = Settings(
        database_url=database_url,
        call_idle_seconds=3.0,
        temporal_address=call_worker.address,
        temporal_task_queue=call_worker.task_queue,
    )
    async with voice_stack(base, "voice test stack") as settings:
        yield Stack(settings, call_worker)


async def call(stack: Stack, tts: PiperTextToSpeech, *steps: Step, caller: str = CALLER) -> CallerResult:
    options = CallOptions(
        base_url=stack.settings.public_base_url, to=DEMO_NUMBER, caller=caller, steps=list(steps)
    )
    result, _recording = await run_call(stack.settings, options, tts)
    return result


def open_all_day(engine: Engine, clinic: Clinic) -> None:
    """The demo clinic open around the clock, so a transfer is possible whenever the test runs."""
    with Session(engine) as session:
        row = session.get(Clinic, clinic.id)
        assert row is not None
        row.opening_hours = OpeningHours(
            days={d: [TimeRange(start=time(0), end=time(23, 59))] for d in Weekday}
        )
        session.add(row)
        session.commit()


async def test_a_spoken_booking(stack: Stack, tts: PiperTextToSpeech, engine: Engine) -> None:
    result = await call(stack, tts, *booking_steps())
    row, turns = await stored_call(engine, result.call_sid)
    transcript = "\n".join(f"{t.role.value}: {t.text}" for t in turns)  # shown when the outcome is wrong
    assert result.outcome == "agent_ended", transcript
    assert row.outcome == "booked" and row.status.value == "completed", transcript
    with Session(engine) as session:
        [appointment] = session.exec(
            select(Appointment).where(Appointment.created_by_call_id == row.id)
        ).all()
    # The booking went through the call's workflow, which then ran the post-call work.
    workflow_result, post_call = await workflows_done(stack.worker.client, result.call_sid)
    assert (workflow_result.outcome, workflow_result.appointment_ids) == ("booked", [appointment.id])
    assert "book" in workflow_result.actions and not workflow_result.dropped
    assert post_call.messages_sent >= 1
    with Session(engine) as session:
        stored = session.get(Call, row.id)
        assert stored is not None and stored.summary
        messages = session.exec(select(Message).where(Message.call_id == row.id)).all()
    assert [m.to for m in messages if m.channel is MessageChannel.sms] == [CALLER]
    local = appointment.start_at.astimezone(NEW_YORK)
    assert (local.strftime("%A"), local.hour < 12) == ("Tuesday", True)
    agent_turns = [t for t in turns if t.role == TurnRole.agent]
    assert agent_turns[0].heard_text == agent_turns[0].text  # the greeting, heard in full
    assert "Tuesday" in agent_turns[3].text and agent_turns[3].heard_text == agent_turns[3].text
    for turn in agent_turns[1:]:
        assert (
            turn.timings["first_frame_sent"] >= turn.timings["tts_first_audio"] >= turn.timings["stt_final"]
        )
    assert all(t.latency_ms is not None for t in result.turns)


async def test_barge_in_cuts_the_agent_and_answers_the_new_input(
    stack: Stack, tts: PiperTextToSpeech, engine: Engine
) -> None:
    result = await call(
        stack,
        tts,
        Say("Hi, what are your hours?"),
        BargeIn("Sorry, where are you located?"),
        Say("No, that's all."),
    )
    barge = result.turns[2]
    assert barge.kind == "barge_in" and barge.cleared
    _, turns = await stored_call(engine, result.call_sid)
    agent = [t for t in turns if t.role == TurnRole.agent]
    hours, location = agent[1], agent[2]
    assert "Monday through Friday" in hours.text
    assert hours.heard_text is not None and len(hours.heard_text) < len(hours.text)  # cut at the last mark
    assert hours.text.startswith(hours.heard_text)
    assert "Maple Avenue" in location.text


async def test_a_short_word_said_over_the_agent_is_answered(
    stack: Stack, tts: PiperTextToSpeech, engine: Engine
) -> None:
    """ "No." over the agent is too short for sustained speech to interrupt: Whisper's final alone
    ends the agent's speech, and the caller's word gets its answer (it used to get dead air)."""
    result = await call(
        stack, tts, Say("Hi, I'd like to book a teeth cleaning."), BargeIn("No."), Silence(4.0)
    )
    assert result.turns[2].kind == "barge_in" and result.turns[2].cleared
    _, turns = await stored_call(engine, result.call_sid)
    roles = [t.role for t in turns]
    no = next(i for i, t in enumerate(turns) if t.role == TurnRole.caller and "no" in t.text.lower())
    assert TurnRole.agent in roles[no + 1 :], "\n".join(f"{t.role.value}: {t.text}" for t in turns)
    answer = next(t for t in turns[no + 1 :] if t.role == TurnRole.agent)
    # A reply to the word (timed from the caller's end of speech), not the silence prompt.
    assert answer.text != IDLE_PROMPT and "stt_final" in answer.timings, answer


async def test_a_backchannel_does_not_interrupt(stack: Stack, tts: PiperTextToSpeech, engine: Engine) -> None:
    """A "yeah" over the agent may pause it for a moment (sound over the agent stops it at once),
    but it is no turn: the agent resumes and the caller hears the whole reply."""
    result = await call(stack, tts, Say("What are your hours?"), BargeIn("yeah"), Say("No, that's all."))
    _, turns = await stored_call(engine, result.call_sid)
    hours = [t for t in turns if t.role == TurnRole.agent][1]
    assert "Monday through Friday" in hours.text and hours.heard_text == hours.text
    assert not any(is_backchannel(t.text) for t in turns if t.role == TurnRole.caller)


async def test_dtmf_zero_reaches_a_human(
    stack: Stack, tts: PiperTextToSpeech, engine: Engine, demo_clinic: Clinic
) -> None:
    open_all_day(engine, demo_clinic)
    result = await call(stack, tts, Dtmf("0"), Silence(1.0))
    row, turns = await stored_call(engine, result.call_sid)
    assert row.outcome == "transferred"
    assert [t.text for t in turns if t.role == TurnRole.caller] == ["(pressed 0)"]
    with Session(engine) as session:
        transfer = session.exec(select(Action).where(Action.kind == "transfer_to_human")).one()
    assert transfer.payload == {"reason": "caller_request", "number": "+15550100001"}


async def test_silence_gets_a_prompt_then_a_goodbye(
    stack: Stack, tts: PiperTextToSpeech, engine: Engine
) -> None:
    result = await call(stack, tts, Silence(20.0))
    assert result.outcome == "agent_ended"
    row, turns = await stored_call(engine, result.call_sid)
    said = [t.text for t in turns if t.role == TurnRole.agent]
    assert said[1:] == [IDLE_PROMPT, IDLE_GOODBYE]
    assert row.outcome == "dropped"


async def test_the_call_time_limit_offers_a_callback(
    stack: Stack, tts: PiperTextToSpeech, engine: Engine, demo_clinic: Clinic
) -> None:
    with Session(engine) as session:
        row = session.get(Clinic, demo_clinic.id)
        assert row is not None
        row.max_call_seconds = 30
        row.escalation = {**row.get_escalation().model_dump(), "transfer_number": None}
        session.add(row)
        session.commit()
    result = await call(stack, tts, *[Say("What are your hours?")] * 6)
    row, turns = await stored_call(engine, result.call_sid)
    said = [t.text for t in turns if t.role == TurnRole.agent]
    assert any("time limit" in text and "call you back" in text for text in said)
    assert row.outcome == "message_taken"
    with Session(engine) as session:
        message = session.exec(select(Action).where(Action.kind == "take_message")).one()
    assert "time limit" in message.payload["reason"]


async def test_services_warm_once_per_process(stack: Stack) -> None:
    class State:
        settings = stack.settings

    state = State()
    first = await CallServices.for_app(state)
    assert await CallServices.for_app(state) is first


async def test_an_offline_reminder_campaign_confirms_by_voice(
    stack: Stack, engine: Engine, demo_clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker whose dialler uses the local carrier (chosen when a worker starts): a simulated
    # patient answers through the stack's own webhooks and media socket, as `frontdesk dev`
    # does without Twilio. The call itself runs on the stack's worker, as its webhook says.
    monkeypatch.setenv("FRONTDESK_OUTBOUND_CARRIER", "local")
    monkeypatch.setenv("FRONTDESK_PUBLIC_BASE_URL", stack.settings.public_base_url)
    get_settings.cache_clear()
    with Session(engine) as session:
        first = session.exec(
            select(Appointment)
            .where(Appointment.clinic_id == demo_clinic.id, Appointment.status == AppointmentStatus.booked)
            .order_by(col(Appointment.start_at))
        ).first()
    assert first is not None
    window = CampaignAudience(
        appointments_from=first.start_at, appointments_to=first.start_at + timedelta(minutes=1)
    )
    with Session(engine) as session:
        clinic = session.get(Clinic, demo_clinic.id)
        assert clinic is not None
        clinic.timezone = midday_timezone()
        session.commit()
    every_day = CallingHours(start=LEGAL_CALLING_START, end=LEGAL_CALLING_END, weekdays=list(Weekday))
    campaign = create_campaign(
        engine,
        demo_clinic.id,
        name="reminders",
        kind=CampaignKind.reminder,
        audience=window,
        plan=CampaignPlan(calling_hours=every_day, attempts_per_target=1, sms_fallback=False),
    )
    client = stack.worker.client
    dialler_queue = f"dialler-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="dialler") as executor:
        async with build_worker(client, dialler_queue, executor, get_settings()):
            workflow_id = await start_campaign_workflow(client, dialler_queue, demo_clinic.id, campaign.id)
            progress = await client.get_workflow_handle(workflow_id).result()

    with Session(engine) as session:
        appointment = session.get(Appointment, first.id)
        [call_row] = session.exec(select(Call).where(Call.direction == CallDirection.outbound)).all()
        turns = session.exec(
            select(CallTurn).where(CallTurn.call_id == call_row.id).order_by(col(CallTurn.index))
        )
        transcript = "\n".join(f"{t.role.value}: {t.text}" for t in turns)
    assert progress["confirmed"] == 1, transcript
    assert appointment is not None and appointment.status is AppointmentStatus.confirmed
    assert (call_row.outcome, call_row.patient_id, call_row.status.value) == (
        "confirmed",
        first.patient_id,
        "completed",
    )


async def closed_before_any_greeting(stack: Stack, changed: dict[str, str]) -> bool:
    """Place a call, open its stream with `changed` parameters; whether the media server closed it
    before playing any agent audio."""
    placed = await place_call(stack.settings, stack.settings.public_base_url, DEMO_NUMBER, "+15550199001")
    assert placed.stream_url is not None
    parameters = placed.parameters | changed
    client = await MediaStreamClient.open(stack.settings, placed.stream_url, placed.call_sid, parameters)
    try:
        async with asyncio.timeout(10):
            await client.closed.wait()
    finally:
        await client.aclose()
    return client.agent_frames_played == 0


async def test_a_stream_naming_another_clinic_is_refused(stack: Stack, demo_clinic: Clinic) -> None:
    assert await closed_before_any_greeting(stack, {CLINIC_PARAMETER: str(uuid.uuid4())})  # not the owner


async def test_a_stream_asking_for_a_call_clock_is_refused_where_not_allowed(
    stack: Stack, demo_clinic: Clinic
) -> None:
    assert not stack.settings.call_clock_override
    # As if the webhook had allowed ?clock=: a day in the past.
    assert await closed_before_any_greeting(stack, {CLOCK_OFFSET_PARAMETER: "-86400.0"})
