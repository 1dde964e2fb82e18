"""Finding utterances in mu-law 8 kHz audio by frame energy: enough for synthetic speech over a
clean line, which is all the benchmark's caller sends."""

from dataclasses import dataclass
from typing import Final

import numpy as np

from frontdesk.realtime.audio.codec import FRAME_MS, MULAW_FRAME_BYTES, mulaw_decode

# RMS of a 20 ms frame (PCM16) above which it holds speech: about -40 dBFS.
SPEECH_RMS: Final = 300.0
# Silence after speech that ends an utterance; longer than any pause inside a bench line.
END_SILENCE_MS: Final = 240


def frame_has_speech(frame: bytes) -> bool:
    """Whether a 20 ms mu-law frame is louder than the speech threshold."""
    samples = mulaw_decode(frame).astype(np.float64)
    return bool(samples.size) and float(np.sqrt(np.mean(samples * samples))) > SPEECH_RMS


@dataclass(frozen=True)
class Utterance:
    """Frame indexes (from the start of the audio) of an utterance's first and last speech frames."""

    first_frame: int
    last_frame: int

    @property
    def start_s(self) -> float:
        """Its start, in seconds of audio."""
        return self.first_frame * FRAME_MS / 1000

    @property
    def end_s(self) -> float:
        """The middle of its last speech frame, in seconds of audio (that frame's own time slot)."""
        return (self.last_frame + 0.5) * FRAME_MS / 1000


class UtteranceDetector:
    """Feed audio frame by frame; learn when an utterance starts and when one has ended."""

    def __init__(self, end_silence_ms: int = END_SILENCE_MS) -> None:
        self._end_frames = end_silence_ms // FRAME_MS
        self._pending = b""
        self.frames = 0  # whole frames seen
        self._first: int | None = None  # first speech frame of the utterance in progress
        self._last = 0  # its last speech frame so far

    @property
    def in_speech(self) -> bool:
        """Whether an utterance has started and not yet ended."""
        return self._first is not None

    def feed(self, mulaw: bytes) -> tuple[list[int], list[Utterance]]:
        """Take audio; return the frames where utterances started and the utterances that ended."""
        self._pending += mulaw
        started: list[int] = []
        ended: list[Utterance] = []
        while len(self._pending) >= MULAW_FRAME_BYTES:
            frame, self._pending = self._pending[:MULAW_FRAME_BYTES], self._pending[MULAW_FRAME_BYTES:]
            if frame_has_speech(frame):
                if self._first is None:
                    self._first = self.frames
                    started.append(self.frames)
                self._last = self.frames
            elif self._first is not None and self.frames - self._last >= self._end_frames:
                ended.append(Utterance(self._first, self._last))
                self._first = None
            self.frames += 1
        return started, ended

    def flush(self) -> Utterance | None:
        """End the utterance in progress here (at the end of the audio, or at a Finalize) and return
        it, if any: speech fed after this starts a new one."""
        if self._first is None:
            return None
        unfinished, self._first = Utterance(self._first, self._last), None
        return unfinished


def utterances_in(frames: list[bytes]) -> list[Utterance]:
    """Every utterance in a list of 20 ms frames (one still going at the end included)."""
    detector = UtteranceDetector()
    found = detector.feed(b"".join(frames))[1]
    unfinished = detector.flush()
    return [*found, unfinished] if unfinished else found
