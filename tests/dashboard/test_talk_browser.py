"""Talk to your agent, in headless Chromium: a WAV file stands in for the microphone
(--use-file-for-fake-audio-capture), the page places a web call through the real stack, and the
agent's greeting and its answer appear in the live transcript."""

import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from frontdesk.domain.models import Call, CallDirection, TurnRole
from frontdesk.domain.seed import DEMO_SLUG
from frontdesk.realtime.audio.codec import mulaw_decode
from frontdesk.realtime.call_services import CallServices
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from tests.dashboard.browser import chromium
from tests.dashboard.conftest import ADMIN, Site
from tests.dashboard.test_dashboard_browser import sign_in
from tests.realtime.stored_calls import stored_call

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

RATE = 8000
# The greeting plays first: the caller speaks once it is over, and is then quiet.
BEFORE_SPEAKING_S = 7.0
AFTER_SPEAKING_S = 20.0


async def microphone_wav(tts: PiperTextToSpeech, text: str, path: Path) -> Path:
    """A mono 16-bit WAV of `text` said after a pause, as the fake microphone plays it."""
    words = mulaw_decode(b"".join([chunk async for chunk in tts.synthesize(text)]))
    quiet = np.zeros(int(RATE * BEFORE_SPEAKING_S), dtype=np.int16)
    after = np.zeros(int(RATE * AFTER_SPEAKING_S), dtype=np.int16)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(np.concatenate([quiet, words, after]).astype("<i2").tobytes())
    return path


async def test_a_web_call_from_the_page_is_answered_in_its_live_transcript(
    site: Site, tts: PiperTextToSpeech, engine: Engine, tmp_path: Path
) -> None:
    microphone = await microphone_wav(tts, "Hi, what are your hours?", tmp_path / "caller.wav")
    # Warmed before the call, as the media server's start-up does (realtime/app.py): the fake
    # microphone starts with the call, so a first call that loaded the models would have its
    # greeting talked over.
    await CallServices.for_app(site.app.state)
    with chromium(site.url, fake_audio=microphone) as browser:
        await sign_in(browser, ADMIN)
        await browser.open(f"/app/clinics/{DEMO_SLUG}/talk")
        await browser.click("#talk-button")
        await browser.wait_for_text("#talk-transcript", "Thank you for calling Maple Dental")
        await browser.wait_for_text("#talk-transcript", "hours")  # the caller's words, as heard
        await browser.wait_for_text("#talk-transcript", "Monday")  # the agent's answer
        await browser.click("#talk-button")  # hang up
        await browser.wait_until(
            lambda d: "ended" in d.find_element("id", "talk-status").text.lower(), "the call ended"
        )

    with Session(engine) as session:
        [call] = session.exec(select(Call)).all()
    assert call.direction is CallDirection.web
    _call, turns = await stored_call(engine, call.call_sid)
    agent = [t for t in turns if t.role is TurnRole.agent]
    assert agent[0].heard_text and "Maple Dental" in agent[0].heard_text  # the page played the greeting
    assert any("hours" in t.text.lower() for t in turns if t.role is TurnRole.caller)
