"""The speech-to-text and text-to-speech interfaces every provider implements.

Transcript events mirror Deepgram's live results so that the Deepgram client maps onto them
one to one, and the offline Whisper twin produces the same shapes:

    Deepgram live message                           TranscriptEvent.kind
    Results, is_final=false                         interim
    Results, is_final=true, speech_final=false      final
    Results, is_final=true, speech_final=true       speech_final
    UtteranceEnd                                    utterance_end
    SpeechStarted                                   speech_started

`final` and `speech_final` both carry committed text (each piece once); a transcript is the
concatenation of their texts. `speech_final` additionally says the speaker stopped talking.

`STTSession.finalize()` asks for the words heard so far now, without waiting for the
recognizer's own end of speech. Deepgram answers its `Finalize` with Results `is_final=true,
from_finalize=true`, mapped by the same rule as every Results (`from_finalize` changes no kind):
`final`, or `speech_final` when Deepgram also set `speech_final`; an empty one is kept (no words
were pending; its end says how far the flush reached). The Whisper twin ends the utterance in
progress there and answers with its `speech_final` (see whisper_stt.py).
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from frontdesk.realtime.audio.analysis import AnalyzedFrame


class TranscriptKind(StrEnum):
    """The kind of a transcript event (see the module docstring for the Deepgram mapping)."""

    INTERIM = "interim"
    FINAL = "final"
    SPEECH_FINAL = "speech_final"
    UTTERANCE_END = "utterance_end"
    SPEECH_STARTED = "speech_started"


@dataclass(frozen=True, slots=True)
class TranscriptEvent:
    """One event from a live transcription.

    `start` and `end` are offsets in seconds from the beginning of the session's audio;
    for speech_started and utterance_end they are the same instant.
    """

    kind: TranscriptKind
    text: str = ""
    confidence: float = 0.0
    start: float = 0.0
    end: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within [0, 1], got {self.confidence}")
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"need 0 <= start <= end, got start={self.start} end={self.end}")

    @property
    def is_final(self) -> bool:
        """Whether the text is committed (it will not be revised by a later event)."""
        return self.kind in (TranscriptKind.FINAL, TranscriptKind.SPEECH_FINAL)


class SpeechProviderError(Exception):
    """A speech provider failed (vendor down, timed out, engine crashed): the fallback chain's cue."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider


class STTSession(Protocol):
    """One caller's live transcription: audio in, transcript events out."""

    async def send(self, frame: AnalyzedFrame) -> None:
        """Feed the caller's next 20 ms frame, with the call's one voice-activity analysis of it."""
        ...

    def events(self) -> AsyncIterator[TranscriptEvent]:
        """The session's events, in order; ends after finish() or close(). One consumer only."""
        ...

    @property
    def finalize_is_cheap(self) -> bool:
        """Whether finalize() only commits words the recognizer already holds (a streaming vendor),
        so it may be asked at every short pause; False when it transcribes the utterance anew
        (the Whisper twin), which is asked only once a pause is long enough to judge."""
        ...

    async def finalize(self) -> None:
        """Flush what the recognizer holds, now: the turn is judged over before its own end of speech.

        Every word heard so far arrives promptly as committed events (`final` or `speech_final`),
        the last of them ending at the audio sent so far. The session stays open and keeps
        transcribing what is sent next. With nothing pending it is harmless and may produce no
        event at all. Returns once asked (the events come through `events()`); raises as
        send() does on a failed, finished or closed session.
        """
        ...

    async def finish(self) -> None:
        """End of audio: transcribe what is pending, deliver its events, then end the events."""
        ...

    async def close(self) -> None:
        """Stop now, dropping pending audio, and release the session's resources."""
        ...


class SpeechToText(Protocol):
    """A speech-to-text provider."""

    async def warm(self) -> None:
        """Load models or open connections now so the first call does not pay for it."""
        ...

    async def start(self) -> STTSession:
        """Open a live transcription session."""
        ...


class TextToSpeech(Protocol):
    """A text-to-speech provider."""

    async def warm(self) -> None:
        """Load models or open connections now so the first sentence does not pay for it."""
        ...

    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak `text` as mu-law 8 kHz chunks, each yielded as soon as it exists.

        The caller may stop iterating at any point (barge-in); closing the iterator
        (`aclose()`, or `contextlib.aclosing`) stops the synthesis and releases its resources.
        """
        ...


class TranscriptQueue:
    """What an STT session hands its one consumer: events in order, a failure, then the end.

    `put` and `put_failure` after `end` are dropped: nobody would read them.
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[TranscriptEvent | SpeechProviderError | None] = asyncio.Queue()
        self._taken = False
        self.ended = False

    def put(self, event: TranscriptEvent) -> None:
        """Queue an event for the consumer."""
        if not self.ended:
            self._queue.put_nowait(event)

    def put_failure(self, error: SpeechProviderError) -> None:
        """Queue a failure: the consumer's iteration raises it."""
        if not self.ended:
            self._queue.put_nowait(error)

    def end(self) -> None:
        """End the consumer's iteration (once) after what is queued."""
        if not self.ended:
            self.ended = True
            self._queue.put_nowait(None)

    def consume(self) -> AsyncIterator[TranscriptEvent]:
        """The events, for the session's one consumer."""
        if self._taken:
            raise RuntimeError("events() was already called on this session; it has one consumer")
        self._taken = True
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[TranscriptEvent]:
        while (item := await self._queue.get()) is not None:
            if isinstance(item, SpeechProviderError):
                raise item
            yield item
