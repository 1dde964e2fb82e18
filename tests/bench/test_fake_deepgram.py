"""The bench's Deepgram fake, through the real deepgram-sdk client the stack uses: interims that
grow with the speech, and Finalize answered before the fake's own end of speech."""

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from frontdesk.bench.fake_deepgram import LISTEN_PATH, interim_words
from frontdesk.bench.profiles import LatencyProfile, profile_named
from frontdesk.bench.script import LINES, transcript
from frontdesk.bench.vendors import API_KEY, VendorFakes, vendor_fakes
from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.speech.base import TranscriptEvent, TranscriptKind
from frontdesk.realtime.speech.deepgram_stt import DeepgramSpeechToText, DeepgramSTTSession
from tests.realtime.conftest import analyzed, silence, through_next_final

HANG_GUARD_S = 30.0  # bounds a wait for an event; not a speed check
# The profile's final comes 20 s after the end of speech: only a Finalize brings one within a test.
SLOW_STT = LatencyProfile("slow-stt", (20_000, 20_000), (0, 0), (0, 0), None)


def tone(seconds: float) -> list[AnalyzedFrame]:
    """Speech, as far as the fake's energy detector can tell."""
    t = np.arange(round(seconds * 8000)) / 8000
    return analyzed((4000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16))


async def send(session: DeepgramSTTSession, frames: list[AnalyzedFrame]) -> None:
    for frame in frames:
        await session.send(frame)


async def open_session(fakes: VendorFakes) -> DeepgramSTTSession:
    return await DeepgramSpeechToText(API_KEY, base_url=fakes.url).start()


def test_interims_hold_the_words_said_so_far() -> None:
    line = "one two three four five six seven eight nine ten"
    assert interim_words(line, 0.1) == "one"  # at least one word
    assert interim_words(line, 1.0) == "one two three four"
    assert interim_words(line, 60.0) == line  # never more than the line


async def test_interims_grow_with_the_speech_up_to_the_whole_line() -> None:
    async with vendor_fakes(profile_named("zero"), seed=7) as fakes:
        session = await open_session(fakes)
        stream = session.events()
        await send(session, tone(3.0) + analyzed(silence(0.5)))
        events = await through_next_final(stream, HANG_GUARD_S)
        await session.close()
    interims = [event.text for event in events if event.kind is TranscriptKind.INTERIM]
    line = LINES[0].transcript
    assert all(line.startswith(text) for text in interims)
    # One per half second of speech (the detector's 240 ms end silence included), four words a
    # second, up to the line's nine.
    assert [len(text.split()) for text in interims] == [2, 4, 6, 8, 9, 9]
    final = events[-1]
    assert (final.kind, final.text) == (TranscriptKind.SPEECH_FINAL, transcript(0, 1))


async def test_finalize_sends_the_final_of_an_utterance_not_yet_ended_once() -> None:
    async with vendor_fakes(SLOW_STT, seed=7) as fakes:
        session = await open_session(fakes)
        stream = session.events()
        # 100 ms of silence: the fake's detector (240 ms) still hears the caller speaking.
        await send(session, tone(1.0) + analyzed(silence(0.1)))
        await session.finalize()
        events = await through_next_final(stream, HANG_GUARD_S)
        assert events[0].kind is TranscriptKind.SPEECH_STARTED
        final = events[-1]
        # A Finalize's answer: committed, not speech_final (only endpointing says that).
        assert (final.kind, final.text) == (TranscriptKind.FINAL, transcript(0, 1))
        assert final.end == 0.99  # the middle of the last speech frame
        # The detector's end of speech comes and goes: nothing more is sent for that utterance.
        await send(session, analyzed(silence(1.0)))
        await session.finish()
        rest = [event async for event in stream]
    assert [event.kind for event in rest] == [TranscriptKind.UTTERANCE_END]
    [logged] = fakes.log.stt
    assert (logged.index, logged.drawn_ms) == (0, 20_000)
    assert logged.finalize_at is not None and logged.speech_end_at <= logged.finalize_at <= logged.sent_at


async def test_speech_going_on_after_a_finalize_is_the_next_utterance() -> None:
    async with vendor_fakes(SLOW_STT, seed=7) as fakes:
        session = await open_session(fakes)
        stream = session.events()
        await send(session, tone(1.0))
        await session.finalize()  # mid-speech: the utterance ends at the last frame heard
        first = await through_next_final(stream, HANG_GUARD_S)
        await send(session, tone(1.0) + analyzed(silence(0.1)))
        await session.finalize()
        second = await through_next_final(stream, HANG_GUARD_S)
        await session.close()
    assert (first[-1].kind, first[-1].text) == (TranscriptKind.FINAL, transcript(0, 1))
    # The first utterance's UtteranceEnd, and the new one's start where the speech went on.
    assert {event.kind for event in second[:2]} == {
        TranscriptKind.UTTERANCE_END,
        TranscriptKind.SPEECH_STARTED,
    }
    assert TranscriptEvent(TranscriptKind.SPEECH_STARTED, start=1.0, end=1.0) in second[:2]
    assert (second[-1].kind, second[-1].text) == (TranscriptKind.FINAL, transcript(1, 1))
    assert [final.index for final in fakes.log.stt] == [0, 1]


async def test_the_final_waits_for_the_endpointing_silence_the_client_asked_for() -> None:
    """With no vendor delay at all, speech_final still waits for the client's endpointing (a
    clinic's 650 ms), as Deepgram does; a Finalize is what brings it sooner."""
    async with vendor_fakes(profile_named("zero"), seed=7) as fakes:
        session = await DeepgramSpeechToText(API_KEY, base_url=fakes.url, endpointing_ms=650).start()
        stream = session.events()
        await send(session, tone(1.0) + analyzed(silence(1.0)))
        events = await through_next_final(stream, HANG_GUARD_S)
        await session.close()
    assert events[-1].kind is TranscriptKind.SPEECH_FINAL
    [logged] = fakes.log.stt
    assert logged.finalize_at is None
    assert logged.sent_at - logged.speech_end_at >= 0.65


async def test_an_endpointing_that_is_not_milliseconds_is_refused_at_the_handshake() -> None:
    async with vendor_fakes(profile_named("zero"), seed=7) as fakes:
        url = fakes.url.replace("http://", "ws://") + f"{LISTEN_PATH}?endpointing=soon"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, additional_headers={"Authorization": f"Token {API_KEY}"}):
                pass
    assert refused.value.response.status_code == 403
