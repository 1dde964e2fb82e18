"""Fallback chains with real providers: Deepgram and ElevenLabs (real SDKs against the fakes)
falling back to the real offline twins (Whisper, piper)."""

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from numpy.typing import NDArray

from frontdesk.config import Settings
from frontdesk.realtime.audio.codec import FRAME_MS, mulaw_decode
from frontdesk.realtime.speech.base import SpeechProviderError, TranscriptEvent, TranscriptKind
from frontdesk.realtime.speech.chains import FallbackSpeechToText, FallbackSTTSession, FallbackTextToSpeech
from frontdesk.realtime.speech.deepgram_stt import DeepgramSpeechToText
from frontdesk.realtime.speech.elevenlabs_tts import DEFAULT_VOICE_ID, ElevenLabsTextToSpeech
from frontdesk.realtime.speech.factory import make_speech_to_text, make_text_to_speech
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.realtime.speech.whisper_stt import WhisperSpeechToText
from tests.realtime import fake_deepgram, fake_elevenlabs
from tests.realtime.conftest import Padded, Speak, Transcribe, analyzed, through_next_final
from tests.realtime.fake_deepgram import Drop, FakeDeepgram, OnFinalize, Send, Stall, results, speech_started
from tests.realtime.fake_elevenlabs import Audio, FakeElevenLabs, server_error

BOOKING = "I'd like to book a cleaning for next Tuesday."
CONFIRM = "Tuesday at nine works for me."
TWO_SENTENCES = "Sure, I can book that for you. Your cleaning is on Tuesday at nine in the morning."
EL_CHUNKS = (b"\x11" * 800, b"\x22" * 800)


FRAME_SECONDS = FRAME_MS / 1000
HANG_GUARD_S = 120.0  # bounds a wait for an event (Whisper on a busy machine); not a speed check


def deepgram(fake: FakeDeepgram) -> DeepgramSpeechToText:
    return DeepgramSpeechToText(fake_deepgram.API_KEY, base_url=fake.url)


def elevenlabs(fake: FakeElevenLabs) -> ElevenLabsTextToSpeech:
    return ElevenLabsTextToSpeech(fake_elevenlabs.API_KEY, base_url=fake.url)


async def send_frames(session: FallbackSTTSession, samples: NDArray[np.int16], paced: bool = False) -> None:
    """Send the audio frame by frame: at once, or `paced` as a phone line delivers it (in real time)."""
    for frame in analyzed(samples):
        await session.send(frame)
        if paced:
            await asyncio.sleep(FRAME_SECONDS)


async def finish_and_collect(
    session: FallbackSTTSession, events: AsyncIterator[TranscriptEvent]
) -> list[TranscriptEvent]:
    await session.finish()
    return [event async for event in events]


def committed(events: list[TranscriptEvent]) -> list[str]:
    return [event.text for event in events if event.is_final and event.text]


def words(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalpha() or c == " ")


async def test_deepgram_dropping_mid_utterance_hands_the_utterance_to_whisper(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    audio = padded(0.5, await speak(BOOKING), 1.0)
    async with FakeDeepgram() as fake:
        interim = results("I'd like", start=0.5, duration=0.5, is_final=False)
        fake.script(Send(8000, (speech_started(0.5), interim)), Drop(12000))
        chain = FallbackSpeechToText([deepgram(fake), stt])
        session = await chain.start()
        assert session.active_provider == "DeepgramSpeechToText"
        stream = session.events()
        await send_frames(session, audio)
        events = await finish_and_collect(session, stream)
    assert session.active_provider == "WhisperSpeechToText" and session.active_index == 1
    assert len(fake.connections[0].audio) < len(audio)  # Deepgram never heard the whole utterance
    assert events[:2] == [
        TranscriptEvent(TranscriptKind.SPEECH_STARTED, start=0.5, end=0.5),
        TranscriptEvent(TranscriptKind.INTERIM, "I'd like", 0.95, 0.5, 1.0),
    ]
    [text] = committed(events)
    assert "cleaning" in words(text) and "tuesday" in words(text)
    # Whisper heard the replay from the session's start, so its times are on the same timeline.
    speech_final = next(event for event in events if event.kind is TranscriptKind.SPEECH_FINAL)
    assert 0.0 < speech_final.start < 0.6 < speech_final.end <= len(audio) / 8000


async def test_a_deepgram_that_stays_silent_through_speech_is_replaced(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    audio = padded(0.5, await speak(BOOKING), 1.0)
    async with FakeDeepgram() as fake:
        fake.script(Stall(0))
        session = await FallbackSpeechToText([deepgram(fake), stt], stall_after_s=1.0).start()
        stream = session.events()
        await send_frames(session, audio, paced=True)
        events = await finish_and_collect(session, stream)
    assert session.active_provider == "WhisperSpeechToText"
    [text] = committed(events)
    assert "cleaning" in words(text) and "tuesday" in words(text)
    # The switch came after about a second of speech, not at the end of the audio.
    assert len(fake.connections[0].audio) < len(audio) * 3 // 4


async def test_a_backlog_of_speech_arriving_at_once_is_no_stall(speak: Speak, padded: Padded) -> None:
    """A process behind on its work gets seconds of audio at once: the vendor has had no time to
    answer, so it is not abandoned (falling back to Whisper would deepen the overload)."""
    audio = padded(0.5, await speak(BOOKING), 1.0)
    async with FakeDeepgram() as fake:
        fake.script(Stall(0))
        session = await FallbackSpeechToText(
            [deepgram(fake), WhisperSpeechToText()], stall_after_s=1.0
        ).start()
        frames = analyzed(audio)
        for frame in frames:  # well over a second of speech, in a fraction of one
            await session.send(frame)
        assert session.active_provider == "DeepgramSpeechToText"
        # All of it went to Deepgram, none was kept back for Whisper.
        await fake.wait_for(lambda: fake.connections[0].audio == b"".join(frame.mulaw for frame in frames))
        await session.close()


async def test_committed_text_is_not_transcribed_again_after_a_switch(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    first = padded(0.3, await speak(BOOKING), 0.7)
    second = padded(await speak(CONFIRM), 1.0)
    async with FakeDeepgram() as fake:
        final = results(BOOKING, start=0.0, duration=len(first) / 8000, is_final=True, speech_final=True)
        fake.script(Send(len(first), (final,)), Drop(len(first) + 4000))
        # This test feeds audio faster than real time and the fake answers once per utterance:
        # keep the stall watchdog out of it.
        session = await FallbackSpeechToText([deepgram(fake), stt], stall_after_s=30.0).start()
        stream = session.events()
        await send_frames(session, first)
        assert (await anext(stream)).text == BOOKING
        await send_frames(session, second)
        events = await finish_and_collect(session, stream)
    assert session.active_provider == "WhisperSpeechToText"
    [text] = committed(events)
    assert "tuesday" in words(text) and "cleaning" not in words(text)
    # Whisper's replay began where Deepgram's committed text ended.
    assert all(event.start >= len(first) / 8000 - 0.05 for event in events)


async def test_when_every_provider_fails_the_events_end_with_the_error(speak: Speak, padded: Padded) -> None:
    async with FakeDeepgram() as primary, FakeDeepgram(api_key="another-key") as secondary:
        primary.script(Drop(4000))
        secondary_stt = DeepgramSpeechToText("wrong-key", base_url=secondary.url)
        session = await FallbackSpeechToText([deepgram(primary), secondary_stt]).start()
        stream = session.events()
        with pytest.raises(SpeechProviderError, match=r"every provider failed.*HTTP 401"):
            await send_frames(session, padded(await speak(BOOKING), 0.5))
            async for _event in stream:
                pass
    assert secondary.rejected == 1


async def finalized_once(
    fake: FakeDeepgram, stt: WhisperSpeechToText, audio: NDArray[np.int16]
) -> tuple[FallbackSTTSession, AsyncIterator[TranscriptEvent], list[TranscriptEvent]]:
    """Through a Deepgram -> Whisper chain: the audio, one finalize (Deepgram is sent the
    Finalize), and the events up to the next committed one."""
    session = await FallbackSpeechToText([deepgram(fake), stt], stall_after_s=30.0).start()
    stream = session.events()
    await send_frames(session, audio)
    await session.finalize()
    events = await through_next_final(stream, HANG_GUARD_S)
    assert fake.connections[0].control == [{"type": "Finalize"}]
    return session, stream, events


async def test_finalize_goes_to_the_active_provider(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    audio = padded(0.5, await speak(BOOKING), 0.2)
    seconds = len(analyzed(audio)) * FRAME_SECONDS
    async with FakeDeepgram() as fake:
        flushed = results(BOOKING, start=0.0, duration=seconds, is_final=True, from_finalize=True)
        fake.script(Send(8000, (speech_started(0.5),)), OnFinalize((flushed,)))
        session, _stream, events = await finalized_once(fake, stt, audio)
        await session.close()
    assert session.active_provider == "DeepgramSpeechToText"
    assert session.finalize_is_cheap  # Deepgram's: asked at every pause
    assert events[-1] == TranscriptEvent(TranscriptKind.FINAL, BOOKING, 0.95, 0.0, seconds)


async def test_a_deepgram_lost_before_answering_a_finalize_hands_it_to_whisper_finalized(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    # Deepgram took the Finalize, then the socket dropped: Whisper gets the utterance replayed and
    # is finalized too, so the words come well before its own end-of-speech silence.
    audio = padded(0.5, await speak(BOOKING), 0.2)
    async with FakeDeepgram() as fake:
        fake.script(OnFinalize(drop=True))
        session, stream, events = await finalized_once(fake, stt, audio)
        assert session.active_provider == "WhisperSpeechToText"
        assert not session.finalize_is_cheap  # the twin's: asked only once the pause is judged
        final = events[-1]
        assert final.kind is TranscriptKind.SPEECH_FINAL
        assert "cleaning" in words(final.text) and "tuesday" in words(final.text)
        assert final.end == pytest.approx(len(analyzed(audio)) * FRAME_SECONDS)
        # The rest of the call's silence is not transcribed again.
        rest = await finish_and_collect(session, stream)
    assert committed(rest) == []


async def test_a_finalize_after_deepgram_was_lost_goes_to_whisper(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    # Whether the chain has switched already (its reader saw the socket close) or learns it from
    # the Finalize failing to go out, Whisper is the one finalized.
    audio = padded(0.5, await speak(BOOKING), 0.2)
    async with FakeDeepgram() as fake:
        fake.script(Drop(len(audio)))  # gone once the audio is in, before any Finalize
        session = await FallbackSpeechToText([deepgram(fake), stt], stall_after_s=30.0).start()
        stream = session.events()
        await send_frames(session, audio)
        await fake.wait_for(lambda: fake.connections[0].ended)
        await session.finalize()
        final = (await through_next_final(stream, HANG_GUARD_S))[-1]
        await session.close()
    assert session.active_provider == "WhisperSpeechToText"
    assert final.kind is TranscriptKind.SPEECH_FINAL and "tuesday" in words(final.text)
    assert fake.connections[0].count("Finalize") == 0


async def test_elevenlabs_errors_and_piper_speaks_the_same_text(
    tts: PiperTextToSpeech, transcribe: Transcribe, padded: Padded
) -> None:
    async with FakeElevenLabs() as fake:
        fake.script(server_error())
        chain = FallbackTextToSpeech([elevenlabs(fake), tts])
        audio = b"".join([chunk async for chunk in chain.synthesize(CONFIRM)])
    assert chain.active_provider == "PiperTextToSpeech"
    assert len(fake.syntheses) == 1
    [heard] = committed(await transcribe(padded(0.3, mulaw_decode(audio), 0.8)))
    assert "tuesday" in words(heard) and "works for me" in words(heard)


async def test_a_stalled_elevenlabs_is_abandoned_for_piper(
    tts: PiperTextToSpeech, transcribe: Transcribe, padded: Padded
) -> None:
    async with FakeElevenLabs() as fake:
        fake.script(Audio(EL_CHUNKS, stall_at=0))
        chain = FallbackTextToSpeech([elevenlabs(fake), tts], first_chunk_timeout=0.2)
        audio = b"".join([chunk async for chunk in chain.synthesize(CONFIRM)])
        await fake.wait_for(lambda: fake.syntheses[0].disconnected)
    [heard] = committed(await transcribe(padded(0.3, mulaw_decode(audio), 0.8)))
    assert "tuesday" in words(heard)


@pytest.mark.parametrize(
    "second_reply",
    [Audio(EL_CHUNKS, drop_at=1), server_error()],
    ids=["dropped-part-way", "refused"],
)
async def test_each_text_is_one_unit_and_a_failure_part_way_ends_its_audio_there(
    tts: PiperTextToSpeech, transcribe: Transcribe, padded: Padded, second_reply: Audio
) -> None:
    async with FakeElevenLabs() as fake:
        fake.script(Audio(EL_CHUNKS), second_reply)
        chain = FallbackTextToSpeech([elevenlabs(fake), tts])
        first = b"".join([chunk async for chunk in chain.synthesize(TWO_SENTENCES)])
        second = b"".join([chunk async for chunk in chain.synthesize(CONFIRM)])
    # Each text went to the vendor whole, as given: the chain cuts nothing (the turn loop does).
    assert [request.body["text"] for request in fake.syntheses] == [TWO_SENTENCES, CONFIRM]  # type: ignore[index]
    assert first == b"".join(EL_CHUNKS)
    assert chain.active_provider == "PiperTextToSpeech"  # later texts go straight to piper
    if isinstance(second_reply, Audio):
        # Part of the text was heard: its audio ends where ElevenLabs' did, piper does not repeat it.
        assert second == EL_CHUNKS[0]
    else:
        # Nothing of it was heard: piper says all of it.
        [heard] = committed(await transcribe(padded(0.3, mulaw_decode(second), 0.8)))
        assert "tuesday" in words(heard) and "works for me" in words(heard)


async def test_a_failed_elevenlabs_is_skipped_until_the_retry_period_ends(tts: PiperTextToSpeech) -> None:
    async with FakeElevenLabs() as fake:
        fake.script(server_error())
        skipping = FallbackTextToSpeech([elevenlabs(fake), tts], retry_primary_after_s=3600)
        for text in (CONFIRM, CONFIRM):
            assert [chunk async for chunk in skipping.synthesize(text)]
        assert len(fake.syntheses) == 1 and skipping.active_index == 1

        fake.script(server_error())
        retrying = FallbackTextToSpeech([elevenlabs(fake), tts], retry_primary_after_s=0)
        for text in (CONFIRM, CONFIRM):
            assert [chunk async for chunk in retrying.synthesize(text)]
        assert len(fake.syntheses) == 3 and retrying.active_index == 0


def test_the_factory_chains_a_keyed_vendor_to_its_offline_twin() -> None:
    keyed = Settings(
        _env_file=None,  # type: ignore[call-arg]
        deepgram_api_key="dg-key",
        deepgram_base_url="http://127.0.0.1:9",
        elevenlabs_api_key="el-key",
        elevenlabs_base_url="http://127.0.0.1:9",
    )
    stt = make_speech_to_text(keyed, endpointing_ms=700)
    assert isinstance(stt, FallbackSpeechToText)
    primary, offline = stt.providers
    assert isinstance(primary, DeepgramSpeechToText) and primary.endpointing_ms == 700
    assert isinstance(offline, WhisperSpeechToText)
    tts = make_text_to_speech(keyed, voice="clinic-voice-id")
    assert isinstance(tts, FallbackTextToSpeech)
    vendor, twin = tts.providers
    assert isinstance(vendor, ElevenLabsTextToSpeech) and vendor.voice_id == "clinic-voice-id"
    assert isinstance(twin, PiperTextToSpeech)
    unset_voice = make_text_to_speech(keyed, voice="default")
    assert isinstance(unset_voice, FallbackTextToSpeech)
    assert unset_voice.providers[0].voice_id == DEFAULT_VOICE_ID  # type: ignore[attr-defined]


def test_the_factory_uses_the_offline_twins_alone_without_keys() -> None:
    bare = Settings(_env_file=None, deepgram_api_key=None, elevenlabs_api_key=None)  # type: ignore[call-arg]
    assert isinstance(make_speech_to_text(bare, endpointing_ms=300), WhisperSpeechToText)
    assert isinstance(make_text_to_speech(bare, voice=None), PiperTextToSpeech)
