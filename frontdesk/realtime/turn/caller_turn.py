"""The caller's turn, assembled from transcripts: committed words, where the caller stopped
speaking, and the end of the turn (the STT's end of speech, held a little longer when the words
sound unfinished). A low-confidence transcript with nothing before it becomes a request to repeat.

Whether a finished turn interrupts the agent is not decided here: the turn loop judges it by
where the agent is in its speech (see barge_in.py).
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from frontdesk.realtime.audio.codec import FRAME_MS
from frontdesk.realtime.speech.base import TranscriptEvent, TranscriptKind
from frontdesk.realtime.turn.listening import LOW_CONFIDENCE, UNFINISHED_EXTRA_MS, sounds_unfinished

ARRIVALS_KEPT: Final = 3000  # a minute of 20 ms frames: longer than any utterance


@dataclass(frozen=True)
class CallerTurn:
    """A finished turn of the caller's."""

    text: str  # what the engine hears
    speech_end: float  # monotonic time the caller stopped speaking
    ready_at: float  # monotonic time the turn was known to be over
    shown: str | None = None  # how the transcript records it, when not `text` ("(pressed 0)")
    confidence: float | None = None  # set on a request to repeat
    unclear: bool = False  # too unsure to answer: the agent asks the caller to repeat


class ArrivalClock:
    """When each caller frame arrived. STT events place words by their offset in the call's
    audio; the latency that matters counts from when the caller's last word reached us, and a
    carrier's frames drift from real time."""

    def __init__(self) -> None:
        self._arrivals: deque[float] = deque(maxlen=ARRIVALS_KEPT)
        self._frames = 0

    def arrived(self, at: float) -> None:
        """A 20 ms frame arrived at monotonic time `at`."""
        self._arrivals.append(at)
        self._frames += 1

    def at_offset(self, offset_s: float) -> float:
        """When the frame holding an offset of the call's audio arrived (now, if not kept)."""
        index = int(offset_s * 1000 / FRAME_MS) - (self._frames - len(self._arrivals))
        if 0 <= index < len(self._arrivals):
            return self._arrivals[index]
        return time.monotonic()


class CallerTurns:
    """Builds the caller's turns from transcript events; hands each to `on_turn` once over."""

    def __init__(self, clock: ArrivalClock, on_turn: Callable[[CallerTurn], None]) -> None:
        self._clock = clock
        self._on_turn = on_turn
        self._words: list[str] = []
        self._speech_end: float | None = None
        self._end: asyncio.TimerHandle | None = None
        self.speaking = False

    @property
    def pending(self) -> bool:
        """Whether words are waiting for the end of the turn."""
        return bool(self._words)

    def on_transcript(self, event: TranscriptEvent) -> None:
        """Take one transcript event (interim words carry no commitment and are not taken here)."""
        if event.kind is TranscriptKind.SPEECH_STARTED:
            self.speaking = True
            self._cancel_end()
            return
        if event.kind in (TranscriptKind.SPEECH_FINAL, TranscriptKind.UTTERANCE_END):
            self.speaking = False
        if event.kind is TranscriptKind.INTERIM:
            return
        text = event.text.strip()
        if event.is_final and text:
            if event.confidence < LOW_CONFIDENCE and not self._words:
                now = time.monotonic()
                at = self._clock.at_offset(event.end)
                self._on_turn(CallerTurn(text, at, now, confidence=round(event.confidence, 2), unclear=True))
                return
            self._words.append(text)
            self._speech_end = self._clock.at_offset(event.end)
        if event.kind in (TranscriptKind.SPEECH_FINAL, TranscriptKind.UTTERANCE_END) and self._words:
            # Hold the turn open a little when the caller stopped mid-thought.
            delay = UNFINISHED_EXTRA_MS / 1000 if sounds_unfinished(" ".join(self._words)) else 0.0
            self._cancel_end()
            self._end = asyncio.get_running_loop().call_later(delay, self._finish)

    def close(self) -> None:
        """The call is over: no turn ends after this."""
        self._cancel_end()

    def _finish(self) -> None:
        self._end = None
        now = time.monotonic()
        text, self._words = " ".join(self._words), []
        speech_end, self._speech_end = self._speech_end or now, None
        self._on_turn(CallerTurn(text, speech_end, now))

    def _cancel_end(self) -> None:
        if self._end is not None:
            self._end.cancel()
            self._end = None
