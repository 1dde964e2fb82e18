"""ElevenLabs streaming text-to-speech (`POST /v1/text-to-speech/{voice}/stream`) and the model
list the provider warms up with (`GET /v1/models`). Audio is a tone in the requested format
(ulaw_8000), as long as the text would take to say (about 15 characters a second); the first
chunk leaves after the profile's delay, the rest faster than real time, as ElevenLabs streams."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Final

import numpy as np
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from frontdesk.bench.profiles import DelayDraws
from frontdesk.bench.vendor_log import Synthesis, VendorLog
from frontdesk.realtime.audio.codec import TELEPHONY_SAMPLE_RATE, mulaw_encode

SPEECH_PATH: Final = "/v1/text-to-speech/{voice_id}/stream"
MODELS_PATH: Final = "/v1/models"
CHARS_PER_SECOND: Final = 15.0
CHUNK_SECONDS: Final = 0.25
CHUNK_EVERY_SECONDS: Final = 0.05  # five times faster than real time
_TONE_HZ: Final = 220.0


def _tone(seconds: float) -> bytes:
    """A soft tone, mu-law 8 kHz: audible agent audio that no energy detector takes for silence."""
    t = np.arange(round(seconds * TELEPHONY_SAMPLE_RATE)) / TELEPHONY_SAMPLE_RATE
    return mulaw_encode((3000 * np.sin(2 * np.pi * _TONE_HZ * t)).astype(np.int16))


_CHUNK: Final = _tone(CHUNK_SECONDS)


def speech_bytes(text: str) -> int:
    """How much mu-law audio a text takes to say."""
    return max(1, round(len(text) / CHARS_PER_SECOND * TELEPHONY_SAMPLE_RATE))


class FakeElevenLabs:
    """The TTS endpoints: Starlette route handlers."""

    def __init__(self, api_key: str, draws: DelayDraws, log: VendorLog) -> None:
        self.api_key = api_key
        self.draws = draws
        self.log = log

    async def models(self, request: Request) -> Response:
        """The model list (the provider's warm-up request)."""
        if request.headers.get("xi-api-key") != self.api_key:
            return _unauthorized()
        return JSONResponse([{"model_id": "eleven_flash_v2_5", "name": "Flash v2.5"}])

    async def speech(self, request: Request) -> Response:
        """Stream the text's audio."""
        arrived_at = time.monotonic()
        if request.headers.get("xi-api-key") != self.api_key:
            return _unauthorized()
        output_format = request.query_params.get("output_format", "ulaw_8000")
        if output_format != "ulaw_8000":
            return JSONResponse(
                {"detail": {"status": "invalid_output_format", "message": "the bench speaks ulaw_8000 only"}},
                status_code=422,
            )
        try:
            text = str((await request.json()).get("text", ""))
        except ClientDisconnect:  # the platform gave up on this request while sending it
            return Response(status_code=499)
        return StreamingResponse(self._audio(text, arrived_at), media_type="audio/basic")

    async def _audio(self, text: str, arrived_at: float) -> AsyncIterator[bytes]:
        drawn = self.draws.tts_ms()
        await asyncio.sleep(max(0.0, arrived_at + drawn / 1000 - time.monotonic()))
        remaining = speech_bytes(text)
        first = True
        while remaining > 0:
            chunk = _CHUNK[:remaining]
            remaining -= len(chunk)
            yield chunk
            if first:
                self.log.tts.append(Synthesis(text, arrived_at, drawn, time.monotonic()))
                first = False
            await asyncio.sleep(CHUNK_EVERY_SECONDS)


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, status_code=401
    )
