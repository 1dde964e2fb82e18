"""Speech segmentation of 8 kHz telephone audio: Silero probabilities from the frame analyzer,
turned into speech start and end by a SpeechSegmenter."""

import numpy as np
import pytest
from numpy.typing import NDArray

from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.audio.vad import (
    SpeechSegmenter,
    VadConfig,
    VadEvent,
    VadEventKind,
    VadFrameResult,
    heard_silence_ms,
)
from tests.realtime.conftest import Padded, Speak, analyzed

SENTENCE = "I would like to book a teeth cleaning next Tuesday."


def segment(frames: list[AnalyzedFrame], config: VadConfig | None = None) -> list[VadFrameResult]:
    """Every frame's result from a fresh segmenter."""
    segmenter = SpeechSegmenter(config or VadConfig())
    return [segmenter.process(frame) for frame in frames]


def run(samples: NDArray[np.int16], config: VadConfig | None = None) -> list[VadFrameResult]:
    """Every frame's result from a fresh analyzer and segmenter."""
    return segment(analyzed(samples), config)


def events_of(results: list[VadFrameResult]) -> list[VadEvent]:
    return [event for result in results for event in result.events]


def speech_extent(samples: NDArray[np.int16], rate: int = 8000) -> tuple[float, float]:
    """First and last moment a 10 ms block is louder than -40 dBFS: where speech really is."""
    blocks = samples[: samples.size - samples.size % 80].reshape(-1, 80).astype(np.float64)
    loud = np.flatnonzero(np.sqrt((blocks**2).mean(axis=1)) > 32768 * 0.01)
    return loud[0] * 80 / rate, (loud[-1] + 1) * 80 / rate


def test_silence_and_quiet_noise_are_not_speech() -> None:
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(16000) * 300).astype(np.int16)
    for samples in (np.zeros(16000, dtype=np.int16), noise):
        results = run(samples)
        assert events_of(results) == []
        assert not any(result.in_speech for result in results)
        assert max(result.probability for result in results) < 0.2


async def test_speech_starts_and_ends_where_the_sentence_is(speak: Speak, padded: Padded) -> None:
    audio = padded(1.0, await speak(SENTENCE), 1.5)
    first, last = speech_extent(audio)
    results = run(audio, VadConfig(end_silence_ms=600))
    events = events_of(results)
    assert [event.kind for event in events] == [VadEventKind.SPEECH_START, VadEventKind.SPEECH_END]
    start, end = events
    assert first - 0.1 <= start.at <= first + 0.25
    # Silero's probability decays over a few 32 ms windows after the last loud one, and piper's
    # rendering varies from one process to the next (a run here measured 152 ms).
    assert last - 0.35 <= end.at <= last + 0.2
    # The end fires once the configured silence has passed, not before.
    end_frame = next(i for i, result in enumerate(results) if result.events and result.events[0] is end)
    assert (end_frame + 1) * 0.02 >= end.at + 0.6
    assert max(result.probability for result in results) > 0.9


async def test_end_silence_decides_whether_a_pause_ends_speech(speak: Speak, padded: Padded) -> None:
    audio = padded(0.5, await speak("Yes."), 0.7, await speak("Okay."), 1.5)
    impatient = [event.kind for event in events_of(run(audio, VadConfig(end_silence_ms=300)))]
    patient = [event.kind for event in events_of(run(audio, VadConfig(end_silence_ms=1200)))]
    assert impatient == [VadEventKind.SPEECH_START, VadEventKind.SPEECH_END] * 2
    assert patient == [VadEventKind.SPEECH_START, VadEventKind.SPEECH_END]


async def test_min_speech_rejects_short_bursts(speak: Speak, padded: Padded) -> None:
    audio = padded(0.5, await speak("Hi."), 1.0)
    assert events_of(run(audio, VadConfig(min_speech_ms=1000))) == []
    assert [e.kind for e in events_of(run(audio, VadConfig(min_speech_ms=100)))] == [
        VadEventKind.SPEECH_START,
        VadEventKind.SPEECH_END,
    ]


async def test_speech_starts_exactly_when_the_probability_reaches_the_threshold(
    speak: Speak, padded: Padded
) -> None:
    # Speech in loud noise gives a spread of probabilities; the detector is deterministic, so a
    # first pass shows them and a second pass with each threshold must start on the first frame
    # that reaches it (min_speech_ms=0 confirms at once).
    speech = await speak(SENTENCE)
    noise = np.random.default_rng(3).standard_normal(speech.size) * 2.5 * speech.std()
    noisy = np.clip(speech + noise, -32768, 32767).astype(np.int16)
    audio = padded(0.5, noisy, 1.0)
    probabilities = [result.probability for result in run(audio)]
    top = max(probabilities)
    assert top < 1.0
    for threshold in (0.2, 0.5, (top + 1.0) / 2):
        results = run(audio, VadConfig(threshold=threshold, min_speech_ms=0))
        expected = next((i for i, p in enumerate(probabilities) if p >= threshold), None)
        started = next(
            (i for i, r in enumerate(results) if VadEventKind.SPEECH_START in [e.kind for e in r.events]),
            None,
        )
        assert started == expected, f"threshold {threshold}"
    assert expected is None  # the last threshold was above every probability: no speech at all


async def test_config_can_change_mid_stream(speak: Speak, padded: Padded) -> None:
    # The turn loop switches end-of-turn profiles between turns.
    audio = padded(0.5, await speak("Yes."), 0.7, await speak("Okay."), 1.5)
    segmenter = SpeechSegmenter(VadConfig(end_silence_ms=1200))
    kinds: list[VadEventKind] = []
    for frame in analyzed(audio):
        kinds += [event.kind for event in segmenter.process(frame).events]
        if kinds == [VadEventKind.SPEECH_START]:
            segmenter.config = VadConfig(end_silence_ms=300)
    assert kinds == [VadEventKind.SPEECH_START, VadEventKind.SPEECH_END] * 2


async def test_a_segmenter_joining_mid_stream_counts_time_from_its_first_frame(
    speak: Speak, padded: Padded
) -> None:
    # A fallback provider's segmenter starts on a replay of frames analyzed since the call began.
    frames = analyzed(padded(1.0, await speak("Yes."), 1.0))
    [whole_start, _] = [event.at for result in segment(frames) for event in result.events]
    [late_start, _] = [event.at for result in segment(frames[25:]) for event in result.events]
    assert late_start == pytest.approx(whole_start - 0.5, abs=0.032)


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        VadConfig(threshold=1.0)
    with pytest.raises(ValueError, match="min_speech_ms"):
        VadConfig(min_speech_ms=-1)
    with pytest.raises(ValueError, match="end_silence_ms"):
        VadConfig(end_silence_ms=0)


def test_end_speech_ends_the_speech_without_an_event_and_speech_going_on_starts_anew() -> None:
    def frames(probability: float, count: int) -> list[AnalyzedFrame]:
        # One window per frame, as if each completed one: the state machine only reads windows.
        return [AnalyzedFrame(b"", b"", (probability,), probability) for _ in range(count)]

    segmenter = SpeechSegmenter(VadConfig(min_speech_ms=64, end_silence_ms=320))

    def kinds(results: list[VadFrameResult]) -> list[VadEventKind]:
        return [event.kind for event in events_of(results)]

    assert kinds([segmenter.process(f) for f in frames(0.9, 5)]) == [VadEventKind.SPEECH_START]
    # Ended while the speech goes on: it is confirmed again, from where it resumed.
    segmenter.end_speech()
    going_on = [segmenter.process(f) for f in frames(0.9, 5)]
    assert events_of(going_on) == [VadEvent(VadEventKind.SPEECH_START, 5 * 256 / 8000)]
    # Ended before a silence long past the end silence: no speech-end follows.
    segmenter.end_speech()
    quiet = [segmenter.process(f) for f in frames(0.0, 20)]
    assert events_of(quiet) == [] and not any(result.in_speech for result in quiet)
    # Later speech is segmented as usual.
    again = [segmenter.process(f) for f in [*frames(0.9, 3), *frames(0.0, 15)]]
    assert kinds(again) == [VadEventKind.SPEECH_START, VadEventKind.SPEECH_END]


@pytest.mark.parametrize("end_silence_ms", [150, 160, 300, 600])
def test_speech_ends_after_the_silence_rounded_up_to_whole_windows(end_silence_ms: int) -> None:
    segmenter = SpeechSegmenter(VadConfig(end_silence_ms=end_silence_ms))

    def window(probability: float) -> VadFrameResult:
        return segmenter.process(AnalyzedFrame(b"", b"", (probability,), probability))

    assert [window(1.0).in_speech for _ in range(10)][-1]
    silent_windows = 1
    while not window(0.0).events:
        silent_windows += 1
    assert silent_windows * 32 == heard_silence_ms(end_silence_ms) >= end_silence_ms
