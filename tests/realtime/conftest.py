"""Shared fixtures for the realtime tests: the offline speech engines, loaded once per session."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from frontdesk.realtime.audio.analysis import AnalyzedFrame, FrameAnalyzer
from frontdesk.realtime.audio.codec import mulaw_decode, mulaw_encode, split_mulaw_frames
from frontdesk.realtime.speech.base import TranscriptEvent
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.realtime.speech.whisper_stt import WhisperSpeechToText

Speak = Callable[[str], Awaitable[NDArray[np.int16]]]
Transcribe = Callable[..., Awaitable[list[TranscriptEvent]]]
Padded = Callable[..., NDArray[np.int16]]


@pytest.fixture(scope="session")
async def tts() -> PiperTextToSpeech:
    """The piper twin with its voice loaded."""
    engine = PiperTextToSpeech(varied=False)
    await engine.warm()
    return engine


@pytest.fixture(scope="session")
async def stt() -> WhisperSpeechToText:
    """The Whisper twin with its model loaded."""
    engine = WhisperSpeechToText()
    await engine.warm()
    return engine


@pytest.fixture(scope="session")
def speak(tts: PiperTextToSpeech) -> Speak:
    """Text -> what a caller's phone line carries: piper's mu-law 8 kHz, decoded to int16.

    Cached per text, so every test hears the same rendering of a sentence.
    """
    cache: dict[str, NDArray[np.int16]] = {}

    async def _speak(text: str) -> NDArray[np.int16]:
        if text not in cache:
            cache[text] = mulaw_decode(b"".join([chunk async for chunk in tts.synthesize(text)]))
        return cache[text]

    return _speak


def silence(seconds: float) -> NDArray[np.int16]:
    """Digital silence at 8 kHz."""
    return np.zeros(round(seconds * 8000), dtype=np.int16)


def analyzed(samples: NDArray[np.int16], analyzer: FrameAnalyzer | None = None) -> list[AnalyzedFrame]:
    """8 kHz audio as the carrier delivers it (mu-law 20 ms frames, the last padded with silence),
    each frame analyzed as the turn loop does: by `analyzer`, else by a fresh one."""
    analyzer = analyzer or FrameAnalyzer()
    return [analyzer.analyze(frame) for frame in split_mulaw_frames(mulaw_encode(samples))]


@pytest.fixture(scope="session")
def transcribe(stt: WhisperSpeechToText) -> Transcribe:
    """Play 8 kHz audio (or frames already analyzed) into a fresh Whisper session; return all its
    events."""

    async def _transcribe(
        audio: NDArray[np.int16] | list[AnalyzedFrame], engine: WhisperSpeechToText | None = None
    ) -> list[TranscriptEvent]:
        session = await (engine or stt).start()
        for frame in analyzed(audio) if isinstance(audio, np.ndarray) else audio:
            await session.send(frame)
        await session.finish()
        return [event async for event in session.events()]

    return _transcribe


@pytest.fixture(scope="session")
def padded() -> Padded:
    """Join audio pieces, each a sample array or a float number of seconds of silence."""

    def _padded(*pieces: NDArray[np.int16] | float) -> NDArray[np.int16]:
        return np.concatenate([silence(p) if isinstance(p, float) else p for p in pieces])

    return _padded


async def through_next_final(stream: AsyncIterator[TranscriptEvent], within: float) -> list[TranscriptEvent]:
    """The events up to and including the next committed one (`within` s bounds the wait on a
    busy machine; it is not a speed check)."""
    events: list[TranscriptEvent] = []
    async with asyncio.timeout(within):
        while not events or not events[-1].is_final:
            events.append(await anext(stream))
    return events
