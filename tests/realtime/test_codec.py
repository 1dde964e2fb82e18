"""G.711 mu-law codec and 20 ms framing."""

import numpy as np
import pytest

from frontdesk.realtime.audio.codec import (
    MULAW_FRAME_BYTES,
    MULAW_SILENCE,
    MulawFramer,
    mulaw_decode,
    mulaw_encode,
    mulaw_to_pcm16,
    pcm16_bytes,
    pcm16_samples,
    pcm16_to_mulaw,
    split_mulaw_frames,
)

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)


@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xFF), (-1, 0x7F), (32767, 0x80), (-32768, 0x00), (120, 0xF0), (-120, 0x70), (1000, 0xCE)],
)
def test_known_encodings(sample: int, code: int) -> None:
    assert mulaw_encode(np.array([sample], dtype=np.int16)) == bytes([code])


@pytest.mark.parametrize(
    ("code", "sample"),
    [(0xFF, 0), (0x7F, 0), (0x80, 32124), (0x00, -32124), (0xF0, 120), (0x70, -120), (0xEF, 132)],
)
def test_known_decodings(code: int, sample: int) -> None:
    assert mulaw_decode(bytes([code])).tolist() == [sample]


def test_round_trip_error_is_within_half_a_quantization_step() -> None:
    codes = np.frombuffer(mulaw_encode(ALL_INT16), dtype=np.uint8)
    decoded = mulaw_decode(codes.tobytes()).astype(np.int32)
    original = ALL_INT16.astype(np.int32)
    error = np.abs(decoded - original)
    # Segment e of G.711 has a step of 8 << e (16-bit scale): the error is at most half of it.
    exponent = ((~codes.astype(np.int32)) >> 4) & 0x07
    in_range = np.abs(original) <= 32635
    assert np.all(error[in_range] <= (4 << exponent[in_range]))
    # Beyond the clip level, the loudest code is used.
    assert set(np.abs(decoded[~in_range]).tolist()) == {32124}


def test_decoding_preserves_order() -> None:
    decoded = mulaw_decode(mulaw_encode(ALL_INT16))
    assert np.all(np.diff(decoded.astype(np.int32)) >= 0)


def test_every_code_survives_decode_then_encode() -> None:
    codes = bytes(range(256))
    again = mulaw_encode(mulaw_decode(codes))
    # 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF.
    assert [a for a, b in zip(codes, again, strict=True) if a != b] == [0x7F]


def test_byte_level_helpers_use_little_endian_pcm16() -> None:
    pcm = np.array([0, 1000, -1000, 32767], dtype="<i2").tobytes()
    mulaw = pcm16_to_mulaw(pcm)
    assert len(mulaw) == 4
    decoded = np.frombuffer(mulaw_to_pcm16(mulaw), dtype="<i2")
    assert decoded.tolist() == mulaw_decode(mulaw).tolist()
    assert pcm16_bytes(pcm16_samples(pcm)) == pcm


def test_split_frames_pads_the_last_frame_with_silence() -> None:
    data = bytes(range(256)) + bytes(range(100))  # 356 bytes: two whole frames and 36 bytes
    frames = split_mulaw_frames(data)
    assert [len(frame) for frame in frames] == [MULAW_FRAME_BYTES] * 3
    assert b"".join(frames)[: len(data)] == data
    assert frames[-1][36:] == bytes([MULAW_SILENCE]) * (MULAW_FRAME_BYTES - 36)


def test_split_frames_of_whole_frames_and_of_nothing() -> None:
    assert split_mulaw_frames(b"") == []
    assert split_mulaw_frames(b"\x01" * 320) == [b"\x01" * 160] * 2


def test_framer_accepts_pieces_of_any_size() -> None:
    data = bytes(i % 251 for i in range(1000))
    framer = MulawFramer()
    frames: list[bytes] = []
    for start in range(0, len(data), 77):
        frames += framer.push(data[start : start + 77])
    last = framer.flush()
    assert last is not None
    assert [*frames, last] == split_mulaw_frames(data)
    assert framer.flush() is None


def test_odd_length_pcm_is_refused() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        pcm16_to_mulaw(b"\x00\x01\x02")


@pytest.mark.parametrize("bad", ["text", [1, 2], None])
def test_non_bytes_are_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="must be bytes"):
        pcm16_to_mulaw(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be bytes"):
        mulaw_to_pcm16(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be bytes"):
        MulawFramer().push(bad)  # type: ignore[arg-type]


def test_arrays_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(ValueError, match="1-D int16"):
        mulaw_encode(np.zeros(10, dtype=np.float32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1-D int16"):
        mulaw_encode(np.zeros((2, 10), dtype=np.int16))
    with pytest.raises(TypeError, match="numpy array"):
        pcm16_bytes([1, 2, 3])  # type: ignore[arg-type]
