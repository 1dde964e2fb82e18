"""Streaming soxr resampling."""

import numpy as np
import pytest
from numpy.typing import NDArray

from frontdesk.realtime.audio.resample import StreamingResampler, resample


def sine(frequency: float, rate: int, seconds: float, amplitude: float = 12000) -> NDArray[np.int16]:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def peak_frequency(samples: NDArray[np.int16], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


def stream_in_chunks(
    resampler: StreamingResampler, samples: NDArray[np.int16], chunk: int
) -> list[NDArray[np.int16]]:
    return [resampler.process(samples[i : i + chunk]) for i in range(0, samples.size, chunk)]


@pytest.mark.parametrize(("in_rate", "out_rate"), [(22050, 8000), (8000, 16000), (16000, 8000)])
def test_output_length_follows_the_rate_ratio(in_rate: int, out_rate: int) -> None:
    samples = sine(300, in_rate, 1.37)
    out = resample(samples, in_rate, out_rate)
    assert out.dtype == np.int16
    assert abs(out.size - samples.size * out_rate / in_rate) <= 1


@pytest.mark.parametrize(
    ("in_rate", "out_rate", "frequency"), [(22050, 8000, 1000.0), (8000, 16000, 440.0), (22050, 8000, 3000.0)]
)
def test_a_sine_keeps_its_frequency(in_rate: int, out_rate: int, frequency: float) -> None:
    out = resample(sine(frequency, in_rate, 1.0), in_rate, out_rate)
    assert peak_frequency(out, out_rate) == pytest.approx(frequency, abs=2.0)


def test_content_above_the_new_nyquist_is_filtered_out() -> None:
    # 6 kHz cannot exist at 8 kHz; the anti-alias filter must remove it, not fold it to 2 kHz.
    out = resample(sine(6000, 22050, 1.0), 22050, 8000)
    assert np.abs(out[400:-400]).max() < 0.05 * 12000


def test_streaming_in_20ms_chunks_matches_one_shot() -> None:
    samples = sine(700, 22050, 2.0) + sine(1900, 22050, 2.0, amplitude=5000)
    one_shot = resample(samples, 22050, 8000)
    resampler = StreamingResampler(22050, 8000)
    streamed = np.concatenate([*stream_in_chunks(resampler, samples, 441), resampler.flush()])
    assert streamed.size == one_shot.size
    assert np.abs(streamed.astype(np.int32) - one_shot).max() <= 2


def test_flush_releases_the_held_back_tail_and_ends_the_stream() -> None:
    samples = sine(440, 8000, 0.5)
    resampler = StreamingResampler(8000, 16000)
    before_flush = sum(chunk.size for chunk in stream_in_chunks(resampler, samples, 160))
    tail = resampler.flush()
    assert before_flush < samples.size * 2
    assert before_flush + tail.size == samples.size * 2
    with pytest.raises(RuntimeError, match="flushed"):
        resampler.process(samples)
    with pytest.raises(RuntimeError, match="flushed"):
        resampler.flush()


@pytest.mark.parametrize(("in_rate", "out_rate", "max_hold_ms"), [(22050, 8000, 45), (8000, 16000, 65)])
def test_low_quality_holds_back_little_audio(in_rate: int, out_rate: int, max_hold_ms: float) -> None:
    # The documented LQ hold-back, counted in samples (not time): after each 20 ms chunk,
    # what is still owed is at most max_hold_ms of output.
    resampler = StreamingResampler(in_rate, out_rate)
    samples = sine(500, in_rate, 1.0)
    chunk = in_rate // 50
    fed = produced = 0
    for start in range(0, samples.size, chunk):
        piece = samples[start : start + chunk]
        fed += piece.size
        produced += resampler.process(piece).size
        owed_ms = (fed * out_rate / in_rate - produced) * 1000 / out_rate
        assert owed_ms <= max_hold_ms


def test_empty_chunks_are_harmless() -> None:
    resampler = StreamingResampler(8000, 16000)
    assert resampler.process(np.zeros(0, dtype=np.int16)).size == 0


@pytest.mark.parametrize(
    ("in_rate", "out_rate", "quality", "message"),
    [
        (0, 8000, "LQ", "in_rate"),
        (8000, -1, "LQ", "out_rate"),
        (8000.5, 16000, "LQ", "in_rate"),
        (8000, 16000, "HQ", "quality"),
    ],
)
def test_bad_settings_are_refused(in_rate: object, out_rate: object, quality: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StreamingResampler(in_rate, out_rate, quality)  # type: ignore[arg-type]


def test_bad_sample_arrays_are_refused() -> None:
    resampler = StreamingResampler(8000, 16000)
    with pytest.raises(ValueError, match="1-D int16"):
        resampler.process(np.zeros(160, dtype=np.float32))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="numpy array"):
        resampler.process(b"\x00\x00")  # type: ignore[arg-type]
