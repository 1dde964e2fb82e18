"""Scripted stand-ins for what surrounds the turn loop, for event-level tests: a carrier (the
transport), a speech recognizer, a voice and an LLM, each driven step by step by the test.

They stand in for vendors and the carrier only; the turn loop, the engine, the tool runner, the
call's actions and its CallWorkflow under test are the real ones.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from frontdesk.agent.brains.base import BrainContext, BrainEvent, TextDelta, ToolCallStarted
from frontdesk.agent.conversation import ToolUseBlock
from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.speech.base import (
    SpeechProviderError,
    TranscriptEvent,
    TranscriptKind,
    TranscriptQueue,
)
from frontdesk.realtime.transport import (
    AudioReceived,
    CallStarted,
    CallStopped,
    DigitPressed,
    MarkReached,
    TransportEvent,
)

MULAW_SILENCE: Final = b"\xff" * 160
# How fast the scripted voice speaks: ElevenLabs' fake says 15 characters a second too.
CHARACTERS_PER_SECOND: Final = 15


async def until(condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
    """Wait for `condition` (checked as the event loop runs), failing with `what` after `within` s."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 (the condition is plain state: nothing to await)
            await asyncio.sleep(0.005)
    assert condition(), what


class ScriptedCarrier:
    """A call's transport the test drives: it sends the carrier's events, and the agent's audio
    and marks are recorded. Like Twilio, a `clear` echoes every mark still queued."""

    def __init__(self, start: CallStarted) -> None:
        self._events: asyncio.Queue[TransportEvent] = asyncio.Queue()
        self._events.put_nowait(start)
        self.played: list[tuple[str, int]] = []  # (mark, audio bytes) in order
        self.unplayed: list[str] = []  # marks sent, not yet echoed
        self.clears = 0
        self.ended: str | None = None  # "hangup" or "transfer +1..."
        self.frames_in = 0

    async def events(self) -> AsyncIterator[TransportEvent]:
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, CallStopped):
                return

    async def play(self, mulaw: bytes, mark: str) -> None:
        self.played.append((mark, len(mulaw)))
        self.unplayed.append(mark)

    async def clear(self) -> None:
        self.clears += 1
        self._echo(len(self.unplayed))

    async def transfer(self, number: str) -> None:
        self.ended = f"transfer {number}"
        self._events.put_nowait(CallStopped("transfer"))

    async def hangup(self) -> None:
        self.ended = "hangup"
        self._events.put_nowait(CallStopped("hangup"))

    # -- the test's side -----------------------------------------------------------------------

    def play_out(self, marks: int | None = None) -> None:
        """The carrier plays the first `marks` chunks still queued (all by default)."""
        self._echo(len(self.unplayed) if marks is None else marks)

    def send_audio(self, mulaw: bytes) -> None:
        """Caller audio, cut into 20 ms frames."""
        for offset in range(0, len(mulaw) - len(mulaw) % 160, 160):
            self._events.put_nowait(AudioReceived(mulaw[offset : offset + 160]))
            self.frames_in += 1

    def press(self, digit: str) -> None:
        self._events.put_nowait(DigitPressed(digit))

    def hang_up(self) -> None:
        """The caller hangs up."""
        self._events.put_nowait(CallStopped("stop"))

    def _echo(self, count: int) -> None:
        for mark in self.unplayed[:count]:
            self._events.put_nowait(MarkReached(mark))
        del self.unplayed[:count]


class ScriptedRecognizerSession:
    """One call's recognizer: counts the frames it is sent, says what the test makes it say."""

    def __init__(self, finalize_is_cheap: bool = False) -> None:
        """`finalize_is_cheap`: asked at every pause, as a streaming vendor is; by default only
        once the pause is judged, as the Whisper twin is."""
        self.finalize_is_cheap = finalize_is_cheap
        self.frames = 0
        self.finalized = 0  # how often the call asked for the words heard so far
        self.closed = False
        self._queue = TranscriptQueue()

    async def send(self, frame: AnalyzedFrame) -> None:
        self.frames += 1

    def events(self) -> AsyncIterator[TranscriptEvent]:
        return self._queue.consume()

    async def finalize(self) -> None:
        """Counted: the test gives the words (`final`) when its script says so."""
        self.finalized += 1

    async def finish(self) -> None:
        self._queue.end()

    async def close(self) -> None:
        self.closed = True
        self._queue.end()

    # -- the test's side -----------------------------------------------------------------------

    def speech_started(self) -> None:
        at = self.frames * 0.02
        self._queue.put(TranscriptEvent(TranscriptKind.SPEECH_STARTED, start=at, end=at))

    def interim(self, text: str) -> None:
        self._queue.put(TranscriptEvent(TranscriptKind.INTERIM, text, 0.9))

    def final(self, text: str, confidence: float = 0.95) -> None:
        """A committed end of speech with these words."""
        at = self.frames * 0.02
        self._queue.put(TranscriptEvent(TranscriptKind.SPEECH_FINAL, text, confidence, start=at, end=at))

    def utterance_end(self) -> None:
        """The caller went quiet (with or without words)."""
        at = self.frames * 0.02
        self._queue.put(TranscriptEvent(TranscriptKind.UTTERANCE_END, start=at, end=at))

    def says(self, text: str, confidence: float = 0.95) -> None:
        """The caller says `text`: speech starts, then its final."""
        self.speech_started()
        self.final(text, confidence)


class ScriptedRecognizer:
    """The speech-to-text provider of scripted sessions."""

    def __init__(self, finalize_is_cheap: bool = False) -> None:
        self.sessions: list[ScriptedRecognizerSession] = []
        self._finalize_is_cheap = finalize_is_cheap

    async def warm(self) -> None:
        pass

    async def start(self) -> ScriptedRecognizerSession:
        session = ScriptedRecognizerSession(self._finalize_is_cheap)
        self.sessions.append(session)
        return session


@dataclass
class ScriptedVoice:
    """A text-to-speech provider: silence as long as the text takes to say, in two chunks.
    `failing` makes every synthesis fail before its first chunk; `hold` (while unset) keeps
    synthesis from producing anything."""

    failing: bool = False
    hold: asyncio.Event | None = None
    spoken: list[str] = field(default_factory=list)
    open_streams: int = 0

    async def warm(self) -> None:
        pass

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        self.open_streams += 1
        try:
            if self.hold is not None:
                await self.hold.wait()
            if self.failing:
                raise SpeechProviderError("scripted-voice", "the vendor is down")
            self.spoken.append(text)
            samples = max(len(text) * 8000 // CHARACTERS_PER_SECOND, 320)
            yield b"\xff" * (samples // 2)
            yield b"\xff" * (samples - samples // 2)
        finally:
            self.open_streams -= 1


Step = Sequence[BrainEvent | Callable[[], Awaitable[None]]]


class ScriptedBrain:
    """An LLM that writes the messages it is given, in order, one per step; an awaitable in a
    message holds it there (a model still writing) until the test lets it go."""

    name = "scripted"

    def __init__(self, *messages: Step) -> None:
        self._messages = list(messages)
        self.contexts: list[BrainContext] = []

    async def step(self, context: BrainContext) -> AsyncIterator[BrainEvent]:
        self.contexts.append(context)
        if not self._messages:
            yield TextDelta("Is there anything else I can help you with?")
            return
        for item in self._messages.pop(0):
            if isinstance(item, TextDelta | ToolCallStarted | ToolUseBlock):
                yield item
            else:
                await item()

    @property
    def waiting(self) -> int:
        """Messages not yet written."""
        return len(self._messages)
