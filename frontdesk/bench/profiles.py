"""Latency profiles the vendor fakes replay: how long each vendor takes, drawn uniformly from a
range with a seeded generator, so two runs of a profile inject the same sequence of delays."""

import random
import threading
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class LatencyProfile:
    """Delay ranges in milliseconds (low, high), drawn uniformly; Claude then streams at a rate."""

    name: str
    stt_final_ms: tuple[float, float]  # end of speech -> Results is_final/speech_final
    llm_first_token_ms: tuple[float, float]  # request -> first content event
    tts_first_chunk_ms: tuple[float, float]  # request -> first audio chunk
    tokens_per_second: float | None  # None: the whole message at once

    def scaled(self, name: str, factor: float) -> "LatencyProfile":
        """This profile with every delay multiplied by `factor` (the token rate divided by it)."""
        rate = None if self.tokens_per_second is None or factor == 0 else self.tokens_per_second / factor
        return LatencyProfile(
            name,
            _scale(self.stt_final_ms, factor),
            _scale(self.llm_first_token_ms, factor),
            _scale(self.tts_first_chunk_ms, factor),
            rate,
        )


def _scale(bounds: tuple[float, float], factor: float) -> tuple[float, float]:
    return bounds[0] * factor, bounds[1] * factor


SEED: Final = LatencyProfile("seed", (200, 400), (400, 800), (300, 500), 60.0)
PROFILES: Final = {
    "seed": SEED,
    "fast": SEED.scaled("fast", 0.5),
    "zero": SEED.scaled("zero", 0.0),
}


def profile_named(name: str) -> LatencyProfile:
    """The profile called `name`; ValueError naming the choices otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown latency profile {name!r}; choose one of {', '.join(PROFILES)}") from None


class DelayDraws:
    """The delays of one run, each drawn from its own seeded stream (thread-safe)."""

    def __init__(self, profile: LatencyProfile, seed: int = 7) -> None:
        self.profile = profile
        self._lock = threading.Lock()
        self._streams = {kind: random.Random(f"{seed}-{kind}") for kind in ("stt", "llm", "tts")}

    def stt_ms(self) -> float:
        """The delay of the next transcript after its end of speech."""
        return self._draw("stt", self.profile.stt_final_ms)

    def llm_ms(self) -> float:
        """The delay of the next message's first token."""
        return self._draw("llm", self.profile.llm_first_token_ms)

    def tts_ms(self) -> float:
        """The delay of the next synthesis's first chunk."""
        return self._draw("tts", self.profile.tts_first_chunk_ms)

    def _draw(self, kind: str, bounds: tuple[float, float]) -> float:
        with self._lock:
            return round(self._streams[kind].uniform(*bounds), 1)
