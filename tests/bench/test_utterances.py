"""Utterance detection in the bench caller's audio, by energy."""

import numpy as np
import pytest

from frontdesk.bench.script import LINES, caller_steps
from frontdesk.bench.utterances import UtteranceDetector, frame_has_speech, utterances_in
from frontdesk.caller.conversation import render_lines
from frontdesk.caller.media_client import SILENT_FRAME
from frontdesk.realtime.audio.codec import mulaw_encode, split_mulaw_frames
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech


def tone_frames(seconds: float, amplitude: int = 4000) -> list[bytes]:
    t = np.arange(round(seconds * 8000)) / 8000
    return split_mulaw_frames(mulaw_encode((amplitude * np.sin(2 * np.pi * 300 * t)).astype(np.int16)))


def test_silence_and_a_whisper_are_not_speech_a_tone_is() -> None:
    assert not frame_has_speech(SILENT_FRAME)
    assert not frame_has_speech(tone_frames(0.02, amplitude=100)[0])
    assert frame_has_speech(tone_frames(0.02)[0])


def test_an_utterance_ends_after_its_silence_and_pauses_within_do_not_split_it() -> None:
    audio = (
        [SILENT_FRAME] * 10 + tone_frames(0.4) + [SILENT_FRAME] * 5 + tone_frames(0.2) + [SILENT_FRAME] * 20
    )
    detector = UtteranceDetector(end_silence_ms=240)
    started, ended = detector.feed(b"".join(audio))
    assert started == [10]
    assert len(ended) == 1
    assert (ended[0].first_frame, ended[0].last_frame) == (10, 10 + 20 + 5 + 10 - 1)
    assert ended[0].start_s == pytest.approx(0.2)
    assert detector.flush() is None


def test_speech_still_going_at_the_end_is_an_utterance_too() -> None:
    assert len(utterances_in([SILENT_FRAME] * 3 + tone_frames(0.3))) == 1


async def test_each_bench_line_as_the_caller_speaks_it_is_one_utterance() -> None:
    speech = await render_lines(PiperTextToSpeech(varied=False), caller_steps())
    for line in LINES:
        found = utterances_in(split_mulaw_frames(speech[line.spoken]) + [SILENT_FRAME] * 20)
        assert len(found) == 1, line.spoken
