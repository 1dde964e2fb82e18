"""The speech providers a call gets: the vendor chained to its offline twin when the vendor is
keyed in the settings, the offline twin alone otherwise (DESIGN.md section 5)."""

from typing import Final

from frontdesk.config import Settings
from frontdesk.realtime.audio.vad import VadConfig
from frontdesk.realtime.speech.base import SpeechToText, TextToSpeech
from frontdesk.realtime.speech.chains import FallbackSpeechToText, FallbackTextToSpeech
from frontdesk.realtime.speech.deepgram_stt import DeepgramSpeechToText
from frontdesk.realtime.speech.elevenlabs_tts import DEFAULT_VOICE_ID, ElevenLabsTextToSpeech
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.realtime.speech.whisper_stt import WhisperSpeechToText

# The clinic's `voice` setting before anyone picked one (Clinic.voice's default).
UNSET_VOICE: Final = "default"


def make_speech_to_text(settings: Settings, endpointing_ms: int) -> SpeechToText:
    """Deepgram falling back to Whisper when a Deepgram key is set, else Whisper alone.

    `endpointing_ms` is the clinic profile's end-of-speech silence: Deepgram's endpointing, and
    the silence after which the Whisper twin transcribes the utterance.
    """
    offline = WhisperSpeechToText(vad_config=VadConfig(end_silence_ms=endpointing_ms))
    if settings.deepgram_api_key is None:
        return offline
    deepgram = DeepgramSpeechToText(
        settings.deepgram_api_key.get_secret_value(),
        base_url=settings.deepgram_base_url,
        endpointing_ms=endpointing_ms,
    )
    return FallbackSpeechToText([deepgram, offline])


def make_text_to_speech(settings: Settings, voice: str | None) -> TextToSpeech:
    """ElevenLabs (the clinic's `voice` id, or a stock voice) falling back to piper when an
    ElevenLabs key is set, else piper alone (piper has one voice: `voice` does not apply)."""
    offline = PiperTextToSpeech()
    if settings.elevenlabs_api_key is None:
        return offline
    elevenlabs = ElevenLabsTextToSpeech(
        settings.elevenlabs_api_key.get_secret_value(),
        voice_id=voice if voice and voice != UNSET_VOICE else DEFAULT_VOICE_ID,
        base_url=settings.elevenlabs_base_url,
    )
    return FallbackTextToSpeech([elevenlabs, offline])
