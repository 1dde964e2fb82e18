"""G.711 mu-law <-> PCM16 with numpy lookup tables, and Twilio's 20 ms framing.

PCM16 here is always little-endian signed 16-bit mono. The tables follow the classic
CCITT G.711 reference (bias 0x84, clip 32635): 0 encodes to 0xFF and 0xFF decodes to 0.
"""

from typing import Final

import numpy as np
from numpy.typing import NDArray

# Twilio Media Streams: mu-law, 8 kHz, mono, 20 ms per media frame.
TELEPHONY_SAMPLE_RATE: Final = 8000
FRAME_MS: Final = 20
FRAME_SAMPLES: Final = TELEPHONY_SAMPLE_RATE * FRAME_MS // 1000  # 160
MULAW_FRAME_BYTES: Final = FRAME_SAMPLES  # one byte per sample
PCM16_FRAME_BYTES: Final = FRAME_SAMPLES * 2
MULAW_SILENCE: Final = 0xFF

_BIAS: Final = 0x84
_CLIP: Final = 32635
_PCM16_DTYPE: Final = np.dtype("<i2")


def _build_decode_table() -> NDArray[np.int16]:
    """All 256 mu-law codes decoded to PCM16."""
    codes = ~np.arange(256, dtype=np.int32) & 0xFF  # mu-law stores the complement
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.int16)


def _build_encode_table() -> NDArray[np.uint8]:
    """Every PCM16 value (indexed by its bit pattern as uint16) encoded to mu-law."""
    samples = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)
    sign = np.where(samples < 0, 0x80, 0x00)
    biased = np.minimum(np.abs(samples), _CLIP) + _BIAS  # 132 ..= 32767
    # The exponent is the segment: how many octaves the biased magnitude sits above 0xFF.
    exponent = np.zeros_like(biased)
    for segment in range(1, 8):
        exponent += biased >= (0x80 << segment)
    mantissa = (biased >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


_DECODE_TABLE: Final = _build_decode_table()
_ENCODE_TABLE: Final = _build_encode_table()


def _require_bytes(data: object, what: str) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"{what} must be bytes, got {type(data).__name__}")


def pcm16_samples(pcm16: bytes) -> NDArray[np.int16]:
    """PCM16 little-endian bytes as a read-only int16 array (no copy).

    Raises TypeError for a non-bytes argument and ValueError for an odd byte count.
    """
    _require_bytes(pcm16, "PCM16 audio")
    if len(pcm16) % 2:
        raise ValueError(f"PCM16 audio must have an even number of bytes, got {len(pcm16)}")
    return np.frombuffer(pcm16, dtype=_PCM16_DTYPE).astype(np.int16, copy=False)


def require_int16_samples(samples: NDArray[np.int16], what: str = "samples") -> None:
    """Raise a clear error unless `samples` is a one-dimensional int16 numpy array."""
    if not isinstance(samples, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, got {type(samples).__name__}")
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"{what} must be a 1-D int16 array, got {samples.ndim}-D {samples.dtype}")


def pcm16_bytes(samples: NDArray[np.int16]) -> bytes:
    """A one-dimensional int16 array as PCM16 little-endian bytes."""
    require_int16_samples(samples)
    return samples.astype(_PCM16_DTYPE, copy=False).tobytes()


def mulaw_encode(samples: NDArray[np.int16]) -> bytes:
    """Encode int16 samples to mu-law bytes."""
    require_int16_samples(samples)
    return _ENCODE_TABLE[samples.view(np.uint16)].tobytes()


def mulaw_decode(mulaw: bytes) -> NDArray[np.int16]:
    """Decode mu-law bytes to an int16 array."""
    _require_bytes(mulaw, "mu-law audio")
    return _DECODE_TABLE[np.frombuffer(mulaw, dtype=np.uint8)]


def pcm16_to_mulaw(pcm16: bytes) -> bytes:
    """PCM16 little-endian bytes to mu-law bytes (half the length)."""
    return mulaw_encode(pcm16_samples(pcm16))


def mulaw_to_pcm16(mulaw: bytes) -> bytes:
    """mu-law bytes to PCM16 little-endian bytes (twice the length)."""
    return pcm16_bytes(mulaw_decode(mulaw))


class MulawFramer:
    """Cuts a mu-law byte stream, pushed in pieces of any size, into 160-byte 20 ms frames."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def push(self, mulaw: bytes) -> list[bytes]:
        """Add audio; return every frame now complete (the remainder waits for more)."""
        _require_bytes(mulaw, "mu-law audio")
        self._pending += mulaw
        whole = len(self._pending) - len(self._pending) % MULAW_FRAME_BYTES
        frames = [bytes(self._pending[i : i + MULAW_FRAME_BYTES]) for i in range(0, whole, MULAW_FRAME_BYTES)]
        del self._pending[:whole]
        return frames

    def flush(self) -> bytes | None:
        """The partial last frame padded with mu-law silence, or None when nothing is pending."""
        if not self._pending:
            return None
        frame = bytes(self._pending) + bytes([MULAW_SILENCE]) * (MULAW_FRAME_BYTES - len(self._pending))
        self._pending.clear()
        return frame


def split_mulaw_frames(mulaw: bytes) -> list[bytes]:
    """Split a whole mu-law buffer into 20 ms frames, padding the last with silence (0xFF)."""
    framer = MulawFramer()
    frames = framer.push(mulaw)
    last = framer.flush()
    return [*frames, last] if last is not None else frames
