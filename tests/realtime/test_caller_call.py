"""`frontdesk call`'s caller against the real webhook and media routes, with a tiny answering agent."""

import dataclasses
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, select

from frontdesk.api.service_app import create_service_app
from frontdesk.caller.conversation import CallOptions, run_call
from frontdesk.caller.media_client import MediaStreamClient
from frontdesk.caller.report import result_json, write_wav
from frontdesk.caller.script import BargeIn, Dtmf, Say, Silence
from frontdesk.caller.webhook import place_call
from frontdesk.config import Settings
from frontdesk.domain.models import Call, CallStatus, Clinic
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.telephony.twilio.media_route import media_router
from frontdesk.telephony.twilio.voice_webhooks import NOT_IN_SERVICE, twilio_voice_router
from tests.realtime.answering_agent import AnsweringAgent
from tests.realtime.call_worker import UNREACHABLE_TEMPORAL
from tests.realtime.served import serve

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CALLER = "+15550199001"
LONG_REPLY = (
    "Of course. We have openings on Monday morning, on Tuesday afternoon, and on Thursday at nine. "
    "Dr. Patel and Dr. Chen are both available, and a cleaning takes about an hour."
)


@dataclass
class Stack:
    """The served app (webhooks and media socket) and the agent answering its calls."""

    settings: Settings
    agent: AnsweringAgent


async def serve_stack(database_url: str, agent: AnsweringAgent) -> AsyncIterator[Stack]:
    """The API's webhooks and the media route with `agent` as the call handler, on one port."""
    holder: list[Settings] = []

    def make_app(url: str) -> FastAPI:
        # No CallWorkflow: the answering agent stands in for the whole call side.
        settings = Settings(
            database_url=database_url, public_base_url=url, temporal_address=UNREACHABLE_TEMPORAL
        )
        holder.append(settings)
        app = create_service_app("test stack", settings)
        app.include_router(twilio_voice_router(settings))
        app.include_router(media_router(settings, agent.handle))
        return app

    async with serve(make_app):
        yield Stack(holder[0], agent)


@pytest.fixture
async def stack(database_url: str, demo_clinic: Clinic, tts: PiperTextToSpeech) -> AsyncIterator[Stack]:
    """A stack whose agent answers with a short reply."""
    async for served in serve_stack(database_url, AnsweringAgent(tts)):
        yield served


def options(stack: Stack, *steps: Say | BargeIn | Dtmf | Silence, to: str = DEMO_NUMBER) -> CallOptions:
    """A call to the demo clinic saying `steps`."""
    return CallOptions(base_url=stack.settings.public_base_url, to=to, caller=CALLER, steps=list(steps))


async def test_a_spoken_call_gets_replies_and_echoes_every_mark(
    stack: Stack, tts: PiperTextToSpeech, engine: Engine, tmp_path: Path
) -> None:
    call = options(stack, Say("Hi, I'd like to book a cleaning."), Dtmf("0"), Silence(0.5))
    noisy = dataclasses.replace(call, noise_db=-45.0)  # a quiet room: under the agent's voice threshold
    result, recording = await run_call(stack.settings, noisy, tts)

    assert result.outcome == "completed"
    assert [turn.kind for turn in result.turns] == ["greeting", "say", "dtmf", "silence"]
    for turn in result.turns[:3]:
        assert turn.latency_ms is not None and turn.latency_ms >= 0
        assert turn.agent_seconds > 1.0
        assert not turn.cleared
    [agent_call] = stack.agent.calls
    assert agent_call.replies == 2 and agent_call.digits == ["0"]
    assert agent_call.marks_reached == agent_call.marks_sent  # each mark echoed once, in order
    assert result.marks_echoed == len(agent_call.marks_sent)
    assert agent_call.stopped == "stop"
    with Session(engine) as session:
        row = session.exec(select(Call)).one()
    assert row.call_sid == result.call_sid and row.status is CallStatus.completed and row.ended_at is not None

    write_wav(recording, tmp_path / "call.wav")
    with wave.open(str(tmp_path / "call.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(samples) == len(recording.caller) * 160
    caller_side, agent_side = np.abs(samples[:, 0]).max(), np.abs(samples[:, 1]).max()
    assert caller_side > 1000 and agent_side > 1000
    assert np.count_nonzero(samples[:, 0]) > 0.9 * len(samples)  # the noise fills the caller's pauses
    assert '"kind": "dtmf"' in result_json(result)


async def test_barge_in_is_cleared_and_outstanding_marks_echoed(
    database_url: str, demo_clinic: Clinic, tts: PiperTextToSpeech
) -> None:
    async for stack in serve_stack(database_url, AnsweringAgent(tts, reply=LONG_REPLY)):
        call = options(stack, Say("I need a cleaning."), BargeIn("Actually, Friday please."))
        result, _recording = await run_call(stack.settings, call, tts)

        [agent_call] = stack.agent.calls
        assert agent_call.clears >= 1
        assert result.clears == agent_call.clears
        barge_in = result.turns[2]
        assert barge_in.kind == "barge_in" and barge_in.cleared
        # Cleared marks come back at once, so the agent hears of every mark it sent.
        assert sorted(agent_call.marks_reached) == sorted(agent_call.marks_sent)


async def test_marks_are_echoed_when_playback_reaches_them(stack: Stack) -> None:
    placed = await place_call(stack.settings, stack.settings.public_base_url, DEMO_NUMBER, CALLER)
    assert placed.stream_url is not None
    client = await MediaStreamClient.open(
        stack.settings, placed.stream_url, placed.call_sid, placed.parameters
    )
    await client.wait_until(lambda: bool(client.marks_echoed) and not client.agent_playing())
    await client.hangup(placed.call_sid)

    [agent_call] = stack.agent.calls
    echoed = client.marks_echoed
    assert [echo.name for echo in echoed] == agent_call.marks_sent  # the whole greeting, nothing cleared
    # Each mark came back exactly when playback had consumed the audio sent before it, no earlier.
    assert [echo.frames_played for echo in echoed] == agent_call.frames_before_mark
    assert client.agent_frames_played == agent_call.frames_before_mark[-1]


async def test_unknown_number_is_not_in_service(stack: Stack, tts: PiperTextToSpeech) -> None:
    result, recording = await run_call(stack.settings, options(stack, Say("Hello?"), to="+15550177777"), tts)
    assert result.outcome == "not_in_service"
    assert result.said_by_carrier == [NOT_IN_SERVICE]
    assert result.turns == [] and recording.caller == []
    assert stack.agent.calls == []
