"""ElevenLabs streaming text-to-speech over HTTP, through the elevenlabs SDK's async client.

`POST /v1/text-to-speech/{voice_id}/stream?output_format=ulaw_8000` answers with a chunked body
of raw mu-law 8 kHz: exactly what Twilio plays, so chunks are passed on untouched. The SDK
re-chunks the body to 1024 bytes by default (128 ms of audio held back before the first chunk);
asking for `chunk_size=None` yields each chunk as it arrives instead.

Why HTTP and not the stream-input WebSocket: the turn loop already hands text over clause by
clause, so each synthesis is one short request; on a warm keep-alive connection that request
costs no handshake, whereas a stream-input socket serves one generation and then closes, so every
clause would pay a fresh TLS + WebSocket handshake unless sockets were pre-opened per clause.

The client keeps its connections in an httpx pool; `warm()` makes a cheap authenticated request
(the model list) so the first sentence of a call does not pay for TCP and TLS set-up.
"""

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final, cast

import httpx
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.core.request_options import RequestOptions

from frontdesk.logs import get_logger
from frontdesk.realtime.speech.base import SpeechProviderError

PROVIDER: Final = "elevenlabs"
DEFAULT_VOICE_ID: Final = "21m00Tcm4TlvDq8ikWAM"  # "Rachel", a stock voice of every account
DEFAULT_MODEL_ID: Final = "eleven_flash_v2_5"
OUTPUT_FORMAT: Final = "ulaw_8000"
# 3 is the strongest latency optimization that keeps the text normalizer (numbers, dates, times)
# on; 4 would read "9:30" badly. None leaves the parameter out.
DEFAULT_OPTIMIZE_STREAMING_LATENCY: Final = 3
# The longest wait to connect, or between two reads of the body: longer is a stalled vendor.
# (The fallback chain gives up on a missing first chunk much sooner.)
TIMEOUT_S: Final = 5.0
KEEPALIVE_EXPIRY_S: Final = 120.0
# No SDK retries: a retried request is silence on the line, and the chain has a faster answer.
_STREAM_OPTIONS: Final = cast(RequestOptions, {"chunk_size": None, "max_retries": 0})
_WARM_OPTIONS: Final[RequestOptions] = {"max_retries": 0}

_log = get_logger(__name__)


class ElevenLabsTextToSpeech:
    """Streaming ElevenLabs TTS: mu-law 8 kHz chunks as the vendor sends them."""

    def __init__(
        self,
        api_key: str,
        *,
        voice_id: str = DEFAULT_VOICE_ID,
        model_id: str = DEFAULT_MODEL_ID,
        base_url: str | None = None,
        optimize_streaming_latency: int | None = DEFAULT_OPTIMIZE_STREAMING_LATENCY,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        """`voice_id` is the clinic's voice setting; `base_url` points the SDK at another server."""
        if not api_key:
            raise ValueError("an ElevenLabs API key is required")
        if not voice_id:
            raise ValueError("voice_id must not be empty")
        if optimize_streaming_latency is not None and not 0 <= optimize_streaming_latency <= 4:
            raise ValueError(
                f"optimize_streaming_latency must be within [0, 4], got {optimize_streaming_latency}"
            )
        self.voice_id = voice_id
        self.model_id = model_id
        self._optimize_streaming_latency = optimize_streaming_latency
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self._http = httpx.AsyncClient(limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S))
        # The SDK sends its own timeout with every request (240 s unless told): set it here.
        self._client = AsyncElevenLabs(
            api_key=api_key, base_url=base_url, httpx_client=self._http, timeout=timeout_s
        )

    async def warm(self) -> None:
        """Open a pooled connection with one cheap authenticated request (GET /v1/models)."""
        try:
            await self._client.models.list(request_options=_WARM_OPTIONS)
        except (ApiError, httpx.HTTPError) as exc:
            raise _provider_error("warm-up", exc) from exc
        _log.info("tts.warm", provider=PROVIDER)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak `text` as mu-law 8 kHz chunks, each yielded as soon as it arrives.

        Raises ValueError for blank text and SpeechProviderError for any vendor failure
        (HTTP error status, connection lost, read timeout, an empty body). Closing the iterator
        early closes the HTTP response.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text to synthesize must be a non-blank string")
        stream = self._client.text_to_speech.stream(
            self.voice_id,
            text=text,
            model_id=self.model_id,
            output_format=OUTPUT_FORMAT,
            optimize_streaming_latency=self._optimize_streaming_latency,
            request_options=_STREAM_OPTIONS,
        )
        received = 0
        try:
            async with contextlib.aclosing(stream) as chunks:
                async for chunk in chunks:
                    if chunk:
                        received += len(chunk)
                        yield chunk
        except (ApiError, httpx.HTTPError) as exc:
            raise _provider_error("synthesis", exc) from exc
        if not received:
            raise SpeechProviderError(PROVIDER, "synthesis returned no audio")
        _log.info("tts.synthesized", provider=PROVIDER, chars=len(text), audio_bytes=received)

    async def aclose(self) -> None:
        """Close the connection pool (at shutdown)."""
        await self._http.aclose()


def _provider_error(what: str, exc: ApiError | httpx.HTTPError) -> SpeechProviderError:
    """A vendor failure as a SpeechProviderError: the HTTP status and the API's error code only."""
    if isinstance(exc, ApiError):
        message = f"{what} failed with HTTP {exc.status_code}"
        code = _detail_status(exc.body)
        if code:
            message += f" ({code})"
    elif isinstance(exc, httpx.TimeoutException):
        message = f"{what} timed out ({type(exc).__name__})"
    else:
        message = f"{what} failed ({type(exc).__name__})"
    _log.error("tts.failed", provider=PROVIDER, reason=message)
    return SpeechProviderError(PROVIDER, message)


def _detail_status(body: Any) -> str | None:
    """The machine-readable `detail.status` of an ElevenLabs error body, if it has one."""
    detail = body.get("detail") if isinstance(body, dict) else None
    status = detail.get("status") if isinstance(detail, dict) else None
    return status if isinstance(status, str) else None
