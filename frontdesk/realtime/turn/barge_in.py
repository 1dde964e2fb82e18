"""Barge-in: when the caller's voice or words stop the agent.

Sustained speech over the agent's audio pauses it before any words are known: a quarter second
of clear speech, about when a person talked over would stop. Words then decide: anything but a
backchannel interrupts; a backchannel ("yes", "okay", "sure") in the middle of the agent's
sentence is a listener's acknowledgement, and the same word after a question or in the speech's
last second is an answer. With no words at all (a cough, a noise) the agent resumes once the
caller is quiet again, from the first clause the caller did not hear in full.
"""

from collections import deque
from typing import Final

from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.audio.codec import FRAME_MS
from frontdesk.realtime.turn.listening import is_backchannel
from frontdesk.realtime.turn.speech import SpeechPosition

# Caller speech over the agent's audio for this long (within the window) pauses the agent.
BARGE_IN_SPEECH_MS: Final = 240
BARGE_IN_WINDOW_MS: Final = 800
# A paused agent resumes when no words came: once the STT says the caller is quiet again and
# this long has passed since the pause, or after the longer wait whatever the STT says.
RESUME_QUIET_S: Final = 0.6
RESUME_MAX_S: Final = 2.0
# Stricter than the end-of-turn detector's: only clear speech over the agent's audio counts.
BARGE_IN_THRESHOLD: Final = 0.6


class SustainedSpeech:
    """Counts speech frames in a sliding window over the agent's audio."""

    def __init__(
        self,
        threshold: float = BARGE_IN_THRESHOLD,
        speech_ms: int = BARGE_IN_SPEECH_MS,
        window_ms: int = BARGE_IN_WINDOW_MS,
    ) -> None:
        self._threshold = threshold
        self._needed = speech_ms // FRAME_MS
        self._window: deque[bool] = deque(maxlen=window_ms // FRAME_MS)

    def feed(self, frame: AnalyzedFrame) -> bool:
        """Take a frame heard while the agent speaks; True once the speech is enough to pause it
        (the count then starts over)."""
        self._window.append(frame.probability >= self._threshold)
        if sum(self._window) >= self._needed:
            self._window.clear()
            return True
        return False

    def reset(self) -> None:
        """The agent is quiet: speech heard now interrupts nothing."""
        self._window.clear()


def words_interrupt(text: str, position: SpeechPosition) -> bool:
    """Whether words the caller said over the agent (at `position` in its speech) interrupt it."""
    return not is_backchannel(text) or position.open_for_answer
