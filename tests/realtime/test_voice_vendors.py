"""Spoken calls with the vendor speech providers configured (the real deepgram-sdk and elevenlabs
SDK against fakes on 127.0.0.1), through the real Media Streams path: a low-confidence
transcript gets a reprompt, and vendors failing mid-call are replaced by the offline twins
within the same turn, so the call goes on."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import Engine

from frontdesk.api.service_app import create_service_app
from frontdesk.caller.conversation import CallOptions, CallResult, run_call
from frontdesk.caller.script import Say, Silence, Step
from frontdesk.config import Settings
from frontdesk.domain.models import Clinic, TurnRole
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.realtime.turn.listening import REPROMPT
from frontdesk.telephony.twilio.media_route import media_router
from frontdesk.telephony.twilio.voice_webhooks import twilio_voice_router
from tests.realtime import fake_deepgram, fake_elevenlabs
from tests.realtime.call_worker import UNREACHABLE_TEMPORAL
from tests.realtime.fake_deepgram import Drop, FakeDeepgram, Send, results, speech_started
from tests.realtime.fake_elevenlabs import FakeElevenLabs, server_error
from tests.realtime.served import serve
from tests.realtime.stored_calls import stored_call

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

MULAW_BYTES_PER_SECOND = 8000


@dataclass
class Vendors:
    deepgram: FakeDeepgram
    elevenlabs: FakeElevenLabs
    settings: Settings


@pytest.fixture
async def vendors(database_url: str, demo_clinic: Clinic) -> AsyncIterator[Vendors]:
    """The stack with Deepgram and ElevenLabs keyed and pointed at their fakes."""
    async with FakeDeepgram() as deepgram, FakeElevenLabs() as elevenlabs:
        holder: list[Settings] = []

        def make_app(url: str) -> FastAPI:
            settings = Settings(
                database_url=database_url,
                public_base_url=url,
                # Temporal is down through these calls: they are served and stored on the database alone.
                temporal_address=UNREACHABLE_TEMPORAL,
                deepgram_api_key=SecretStr(fake_deepgram.API_KEY),
                deepgram_base_url=deepgram.url,
                elevenlabs_api_key=SecretStr(fake_elevenlabs.API_KEY),
                elevenlabs_base_url=elevenlabs.url,
            )
            holder.append(settings)
            app = create_service_app("vendor test stack", settings)
            app.state.settings = settings
            app.include_router(twilio_voice_router(settings))
            app.include_router(media_router(settings))
            return app

        async with serve(make_app):
            yield Vendors(deepgram, elevenlabs, holder[0])


async def call(settings: Settings, tts: PiperTextToSpeech, *steps: Step) -> CallResult:
    options = CallOptions(
        base_url=settings.public_base_url, to=DEMO_NUMBER, caller="+15550199009", steps=list(steps)
    )
    result, _recording = await run_call(settings, options, tts)
    return result


async def test_a_low_confidence_transcript_gets_a_reprompt(
    vendors: Vendors, tts: PiperTextToSpeech, engine: Engine
) -> None:
    # Once the greeting has played and the caller has spoken, Deepgram is unsure what it heard.
    after = 7 * MULAW_BYTES_PER_SECOND
    unsure = results(
        "mumble tumble", start=5.5, duration=1.0, is_final=True, speech_final=True, confidence=0.2
    )
    vendors.deepgram.script(Send(after, (speech_started(5.5), unsure)))
    without_workflow = REGISTRY.get_sample_value("frontdesk_calls_without_workflow_total")
    result = await call(vendors.settings, tts, Say("Mumble tumble."), Silence(0.5))
    _, turns = await stored_call(engine, result.call_sid)
    assert (
        REGISTRY.get_sample_value("frontdesk_calls_without_workflow_total") == without_workflow + 1
    )  # Temporal is down
    said = [t.text for t in turns if t.role == TurnRole.agent]
    assert said[1] == REPROMPT
    assert vendors.elevenlabs.syntheses  # the agent spoke with the vendor voice


async def test_vendors_failing_mid_call_are_replaced_within_the_turn(
    vendors: Vendors, tts: PiperTextToSpeech, engine: Engine
) -> None:
    # Deepgram drops the connection once the caller has started speaking; ElevenLabs answers 500.
    vendors.deepgram.script(Drop(6 * MULAW_BYTES_PER_SECOND))
    vendors.elevenlabs.script(server_error())
    result = await call(vendors.settings, tts, Say("What are your hours?"), Say("No, that's all."))
    _, turns = await stored_call(engine, result.call_sid)
    agent = [t.text for t in turns if t.role == TurnRole.agent]
    assert any("Monday through Friday" in text for text in agent)  # Whisper heard, piper spoke
    assert result.outcome == "agent_ended"
    assert vendors.deepgram.connections and vendors.elevenlabs.syntheses
