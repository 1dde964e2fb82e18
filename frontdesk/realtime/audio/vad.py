"""Speech start and end from the caller's voice-activity analysis.

The analyzer (analysis.py) gives each 32 ms window a speech probability, once per call; a
`SpeechSegmenter` turns those probabilities into speech-start and speech-end events with a small
state machine with hysteresis (the same scheme as Silero's own `get_speech_timestamps`). Each
listener (speech-to-text segmentation, the fallback chain's stall watchdog, barge-in) runs its
own segmenter with its own thresholds over the same analyzed frames.
"""

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from frontdesk.realtime.audio.analysis import WINDOW_SAMPLES, AnalyzedFrame
from frontdesk.realtime.audio.codec import TELEPHONY_SAMPLE_RATE

# Below `threshold - HYSTERESIS` a window counts as silence; in between, the state holds.
HYSTERESIS: Final = 0.15
_WINDOW_MS: Final = WINDOW_SAMPLES * 1000 / TELEPHONY_SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Segmentation thresholds; the turn loop swaps them per clinic end-of-turn profile."""

    threshold: float = 0.5
    """Speech probability at or above which a window is speech."""
    min_speech_ms: int = 100
    """Speech must last this long before speech-start fires (rejects clicks and coughs)."""
    end_silence_ms: int = 600
    """Silence that ends speech: short for terse confirmations, long for callers who pause."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be strictly between 0 and 1, got {self.threshold}")
        if self.min_speech_ms < 0:
            raise ValueError(f"min_speech_ms must not be negative, got {self.min_speech_ms}")
        if self.end_silence_ms <= 0:
            raise ValueError(f"end_silence_ms must be positive, got {self.end_silence_ms}")

    @property
    def silence_threshold(self) -> float:
        """Probability below which a window counts as silence."""
        return max(self.threshold - HYSTERESIS, 0.01)


class VadEventKind(StrEnum):
    """What changed."""

    SPEECH_START = "speech_start"
    SPEECH_END = "speech_end"


@dataclass(frozen=True, slots=True)
class VadEvent:
    """A change of state, placed in stream time (seconds since the segmenter's first frame).

    For speech_start, `at` is where the speech began (not when it was confirmed, which is
    `min_speech_ms` later); for speech_end, where the silence that ended it began.
    """

    kind: VadEventKind
    at: float


@dataclass(frozen=True, slots=True)
class VadFrameResult:
    """What one 20 ms frame told a segmenter."""

    probability: float
    """The latest window's speech probability: a barge-in detector can react to it at once."""
    in_speech: bool
    events: tuple[VadEvent, ...]


class SpeechSegmenter:
    """Speech start/end events from one stream of analyzed frames, by hysteresis over their windows.

    Cheap (no model of its own): each listener keeps one with its own config over the same
    frames. Times are on the analyzer's window grid counted from the first frame this segmenter
    saw: exact for one that sees a stream from its start; one that joins later (a fallback
    provider fed a replay) is off by less than a window. `config` may be swapped between frames.
    """

    def __init__(self, config: VadConfig) -> None:
        self.config = config
        self._windows_seen = 0  # windows consumed so far, i.e. stream time
        self._in_speech = False
        self._candidate_start: int | None = None  # window where unconfirmed speech began
        self._silence_start: int | None = None  # window where silence during speech began

    def process(self, frame: AnalyzedFrame) -> VadFrameResult:
        """Advance over the frame's windows; return its probability, the state and any events."""
        events: list[VadEvent] = []
        for probability in frame.windows:
            event = self._step(probability)
            if event is not None:
                events.append(event)
        return VadFrameResult(frame.probability, self._in_speech, tuple(events))

    def end_speech(self) -> None:
        """End the speech in progress here, without an event: its listener ended it already (the
        Whisper twin's finalize). Speech that goes on is confirmed anew and gets its own
        speech-start; no speech-end follows for what was ended."""
        self._in_speech = False
        self._candidate_start = None
        self._silence_start = None

    def _step(self, probability: float) -> VadEvent | None:
        """Advance the state machine by one window."""
        config = self.config
        window = self._windows_seen
        self._windows_seen += 1
        if not self._in_speech:
            if probability >= config.threshold and self._candidate_start is None:
                self._candidate_start = window
            elif probability < config.silence_threshold:
                self._candidate_start = None
            if self._candidate_start is not None and self._elapsed_ms(self._candidate_start) >= (
                config.min_speech_ms
            ):
                self._in_speech = True
                self._silence_start = None
                return VadEvent(VadEventKind.SPEECH_START, _seconds(self._candidate_start))
            return None
        if probability >= config.threshold:
            self._silence_start = None
        elif probability < config.silence_threshold and self._silence_start is None:
            self._silence_start = window
        if self._silence_start is not None and self._elapsed_ms(self._silence_start) >= config.end_silence_ms:
            self._in_speech = False
            self._candidate_start = None
            ended_at = self._silence_start
            self._silence_start = None
            return VadEvent(VadEventKind.SPEECH_END, _seconds(ended_at))
        return None

    def _elapsed_ms(self, since_window: int) -> float:
        return (self._windows_seen - since_window) * _WINDOW_MS


def heard_silence_ms(end_silence_ms: float) -> float:
    """The silence a segmenter has heard when it says speech ended after `end_silence_ms`: it
    counts whole windows, so the wait is rounded up to the window grid (150 ms: 5 windows, 160 ms)."""
    return math.ceil(end_silence_ms / _WINDOW_MS) * _WINDOW_MS


def _seconds(window: int) -> float:
    """Where a window starts, in stream seconds."""
    return window * WINDOW_SAMPLES / TELEPHONY_SAMPLE_RATE
