"""The caller's turn, assembled from transcripts: committed words, where the caller stopped
speaking, and the end of the turn. A low-confidence transcript with nothing before it becomes a
request to repeat.

Who says the turn is over depends on the call:

- With the end-of-turn rule (turn/end_of_turn.py: Smart Turn v3 heard after a short silence),
  the rule's `TurnEnded` does. The turn is handed over once a committed transcript covers the
  speech the rule judged (the call session asks a streaming STT to finalize when the caller
  pauses, the Whisper twin when the rule asks its model, so the words are usually there before
  the decision); words that sound
  unfinished ("my date of birth is") hold a turn the model judged complete until the rule's long
  silence has passed since the last word, so the sound and the words must both say done. The
  STT's own end of speech then only guards against a rule that never decides (its voice
  detector missed quiet speech the STT heard): the turn ends after the long silence's extra.
- Without it, the STT's end of speech does, held `UNFINISHED_EXTRA_MS` longer when the words
  sound unfinished (the old rule).

A new start of speech cancels a decision or hold not yet acted upon: the caller goes on, and
the rule will judge the new silence.

Guesses, for the turn loop's preemptive generation: when the caller pauses (a silence shorter
than the one the rule asks its model after; the STT is asked to commit its words), when committed
words come after the pause before the decision, or when the rule decides before the words are
committed, the words so far (committed ones and the latest interim) go out as a turn marked
`guess`; the real turn follows once the words are committed and the turn decided, and the loop
keeps a reply started on a guess only if the words are the same. A decision no words ever cover
withdraws the guess (`GuessWithdrawn`).

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
from frontdesk.realtime.turn.end_of_turn import CallerPaused, EndOfTurnPolicy, EndReason, TurnEnded
from frontdesk.realtime.turn.listening import LOW_CONFIDENCE, UNFINISHED_EXTRA_MS, sounds_unfinished

ARRIVALS_KEPT: Final = 3000  # a minute of 20 ms frames: longer than any utterance
# How long a decided turn waits for the STT's words covering it. Deepgram answers a Finalize in
# tens of ms, the Whisper twin within one transcription (0.2-1 s on two busy cores); past this
# the turn goes on with the words it has or, with none, the decision is dropped (the rule heard
# a sound in which the STT found no words).
FINAL_WAIT_S: Final = 2.0
# Committed words cover the judged speech when they reach this close to the rule's end of
# speech: the STT places a word's end and the voice detector the silence's start a little apart.
COVER_SLACK_S: Final = 0.3


@dataclass(frozen=True)
class CallerTurn:
    """A finished turn of the caller's."""

    text: str  # what the engine hears
    speech_end: float  # monotonic time the caller stopped speaking
    ready_at: float  # monotonic time the turn was known to be over
    shown: str | None = None  # how the transcript records it, when not `text` ("(pressed 0)")
    confidence: float | None = None  # set on a request to repeat
    unclear: bool = False  # too unsure to answer: the agent asks the caller to repeat
    decided_at: float | None = None  # monotonic time the end-of-turn rule said the turn was over
    words_at: float | None = None  # monotonic time its last committed words arrived
    end_of_turn: TurnEnded | None = None  # the rule's decision, when the rule ended the turn
    guess: bool = False  # the words so far, before the STT committed them (see the module docstring)


@dataclass(frozen=True)
class GuessWithdrawn:
    """No words came for the turn a guess anticipated: a reply started on it must go."""


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
    """Builds the caller's turns from transcript events and, with the end-of-turn rule, its
    decisions; hands each turn to `on_turn` once over (see the module docstring)."""

    def __init__(
        self,
        clock: ArrivalClock,
        on_turn: Callable[[CallerTurn | GuessWithdrawn], None],
        policy: EndOfTurnPolicy | None = None,
    ) -> None:
        """`policy`: the end-of-turn rule's timing when the rule decides; None when the STT's end
        of speech does."""
        self._clock = clock
        self._on_turn = on_turn
        self._policy = policy
        self._words: list[str] = []
        self._speech_end: float | None = None  # when the last committed word's audio arrived
        self._words_at: float | None = None  # when the last committed words did
        self._heard_to = 0.0  # the stream offset the committed words reach
        self._interim = ""  # the latest interim words after the committed ones
        self._fresh = False  # words came since the caller last began speaking: a guess may use them
        self._paused: float | None = None  # where the pause being judged began, since speech last started
        self._decided: TurnEnded | None = None  # the rule's decision, not yet acted upon
        self._decided_at: float | None = None
        self._end: asyncio.TimerHandle | None = None
        self.speaking = False

    @property
    def pending(self) -> bool:
        """Whether words or a decision are waiting for the end of the turn."""
        return bool(self._words) or self._decided is not None

    @property
    def words_so_far(self) -> str:
        """The words of the turn in progress: committed ones, then the latest interim."""
        return " ".join([*self._words, *([self._interim] if self._interim else [])])

    def on_transcript(self, event: TranscriptEvent) -> None:
        """Take one transcript event (interim words carry no commitment and are not taken here)."""
        if event.kind is TranscriptKind.SPEECH_STARTED:
            self.speaking = True
            self._fresh = False  # words heard before this lack what the caller says now
            self._decided = self._decided_at = self._paused = None  # the caller goes on
            self._cancel_end()
            return
        stopped = event.kind in (TranscriptKind.SPEECH_FINAL, TranscriptKind.UTTERANCE_END)
        if stopped:
            self.speaking = False
        text = event.text.strip()
        if event.kind is TranscriptKind.INTERIM:
            if text:
                self._interim, self._fresh = text, True
            return
        if event.is_final and text:
            if event.confidence < LOW_CONFIDENCE and not self._words:
                now = time.monotonic()
                at = self._clock.at_offset(event.end)
                self._on_turn(CallerTurn(text, at, now, confidence=round(event.confidence, 2), unclear=True))
                return
            self._words.append(text)
            self._interim, self._fresh = "", True
            self._speech_end = self._clock.at_offset(event.end)
            self._words_at = time.monotonic()
            self._heard_to = max(self._heard_to, event.end)
        if self._policy is None:
            if stopped and self._words:
                # Hold the turn open a little when the caller stopped mid-thought.
                delay = UNFINISHED_EXTRA_MS / 1000 if sounds_unfinished(" ".join(self._words)) else 0.0
                self._end_in(delay, self._finish)
        elif self._decided is not None:
            if self._covered(self._decided):
                self._conclude(self._decided)
        elif self._paused is not None and event.is_final and text:
            # The words the pause asked for: a better guess than the interim one made at the pause.
            self._guess(self._paused, None)
        elif stopped and self._words:
            # The rule has not decided (yet): end the turn after its long silence regardless.
            extra_ms = self._policy.incomplete_silence_ms - self._policy.silence_ms
            self._end_in(extra_ms / 1000, self._finish)

    def on_pause(self, paused: CallerPaused) -> None:
        """The caller paused: the words so far go out as a guess, if there are any, and again
        when the STT commits the words up to the pause (the call session asks it to now)."""
        self._paused = paused.speech_end
        self._guess(paused.speech_end, None)

    def on_end_of_turn(self, ended: TurnEnded) -> None:
        """The end-of-turn rule says the caller finished: the turn ends once words cover it."""
        if self._policy is None:
            raise RuntimeError("an end-of-turn decision reached turns that the STT ends")
        self._decided, self._decided_at = ended, time.monotonic()
        if self._words and self._covered(ended):
            self._conclude(ended)
        else:
            self._guess(ended.speech_end, ended)
            self._end_in(FINAL_WAIT_S, self._stop_waiting)

    def close(self) -> None:
        """The call is over: no turn ends after this."""
        self._cancel_end()

    def _guess(self, speech_end: float, ended: TurnEnded | None) -> None:
        # Words that sound unfinished hold the turn to the long silence: a reply on them now would
        # most likely be thrown away when the caller goes on.
        if self._fresh and (words := self.words_so_far) and not sounds_unfinished(words):
            at, now = self._clock.at_offset(speech_end), time.monotonic()
            guess = CallerTurn(words, at, now, decided_at=self._decided_at, end_of_turn=ended, guess=True)
            self._on_turn(guess)

    def _covered(self, ended: TurnEnded) -> bool:
        return self._heard_to >= ended.speech_end - COVER_SLACK_S

    def _conclude(self, ended: TurnEnded) -> None:
        """Decided and covered: end the turn now, or after the long silence when the sound said
        finished but the words do not."""
        assert self._policy is not None
        delay = 0.0
        if ended.reason is EndReason.MODEL_COMPLETE and sounds_unfinished(" ".join(self._words)):
            until = self._clock.at_offset(ended.speech_end) + self._policy.incomplete_silence_ms / 1000
            delay = max(until - time.monotonic(), 0.0)
        self._end_in(delay, self._finish)

    def _stop_waiting(self) -> None:
        """No words covered the decision in time: end with the words there are, if any."""
        self._end = None
        if self._words:
            self._finish()
        else:
            self._decided = self._decided_at = self._paused = None
            self._interim = ""
            self._on_turn(GuessWithdrawn())

    def _finish(self) -> None:
        self._end = None
        self._paused = None
        now = time.monotonic()
        decided, self._decided = self._decided, None
        decided_at, self._decided_at = self._decided_at, None
        text, self._words = " ".join(self._words), []
        self._interim = ""
        speech_end = self._clock.at_offset(decided.speech_end) if decided else self._speech_end or now
        self._speech_end = None
        words_at, self._words_at = self._words_at, None
        self._on_turn(
            CallerTurn(text, speech_end, now, decided_at=decided_at, words_at=words_at, end_of_turn=decided)
        )

    def _end_in(self, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_end()
        self._end = asyncio.get_running_loop().call_later(delay, callback)

    def _cancel_end(self) -> None:
        if self._end is not None:
            self._end.cancel()
            self._end = None
