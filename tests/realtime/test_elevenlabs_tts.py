"""ElevenLabsTextToSpeech: the real elevenlabs SDK against the fake ElevenLabs API."""

from collections.abc import AsyncIterator

import pytest

from frontdesk.realtime.speech.base import SpeechProviderError
from frontdesk.realtime.speech.elevenlabs_tts import ElevenLabsTextToSpeech
from tests.realtime.fake_elevenlabs import (
    API_KEY,
    Audio,
    FakeElevenLabs,
    server_error,
    too_many_requests,
)

CHUNKS = (b"\x01" * 160, b"\x02" * 320, b"\x03" * 80)


def provider(fake: FakeElevenLabs, **options: object) -> ElevenLabsTextToSpeech:
    return ElevenLabsTextToSpeech(API_KEY, base_url=fake.url, **options)  # type: ignore[arg-type]


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_the_request_names_voice_model_and_mulaw_output_with_the_key() -> None:
    async with FakeElevenLabs() as fake:
        fake.script(Audio(CHUNKS))
        tts = provider(fake, voice_id="clinic-voice")
        audio = await collect(tts.synthesize("Your cleaning is on Tuesday at 9:30."))
        await tts.aclose()
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/text-to-speech/clinic-voice/stream")
    assert request.query == {"output_format": ["ulaw_8000"], "optimize_streaming_latency": ["3"]}
    assert request.headers["xi-api-key"] == API_KEY
    assert request.body == {"text": "Your cleaning is on Tuesday at 9:30.", "model_id": "eleven_flash_v2_5"}
    assert audio == b"".join(CHUNKS)


async def test_chunks_are_yielded_as_they_arrive() -> None:
    async with FakeElevenLabs() as fake:
        # The fake holds everything after the first chunk until the test has received it.
        fake.script(Audio(CHUNKS, gate_at=1))
        tts = provider(fake)
        stream = tts.synthesize("Hello, this is the front desk.")
        first = await anext(stream)
        assert first == CHUNKS[0]
        assert fake.syntheses[0].chunks_sent == 1
        fake.gate.set()
        assert await collect(stream) == CHUNKS[1] + CHUNKS[2]
        await tts.aclose()


async def test_closing_the_iterator_mid_stream_closes_the_response() -> None:
    async with FakeElevenLabs() as fake:
        fake.script(Audio(CHUNKS, stall_at=1))
        tts = provider(fake)
        stream = tts.synthesize("Let me check that for you.")
        assert await anext(stream) == CHUNKS[0]
        await stream.aclose()
        await fake.wait_for(lambda: fake.syntheses[0].disconnected)
        await tts.aclose()
    assert fake.syntheses[0].chunks_sent == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (too_many_requests(), r"HTTP 429 \(too_many_concurrent_requests\)"),
        (server_error(), r"HTTP 500 \(internal_server_error\)"),
        (Audio(CHUNKS, drop_at=2), r"synthesis failed \(RemoteProtocolError\)"),
        (Audio(()), "no audio"),
    ],
    ids=["429", "500", "dropped-mid-body", "empty-body"],
)
async def test_vendor_failures_are_provider_errors(reply: object, expected: str) -> None:
    async with FakeElevenLabs() as fake:
        fake.script(reply)  # type: ignore[arg-type]
        tts = provider(fake)
        received: list[bytes] = []
        with pytest.raises(SpeechProviderError, match=expected) as raised:
            async for chunk in tts.synthesize("One moment please."):
                received.append(chunk)
        await tts.aclose()
    assert API_KEY not in str(raised.value)
    assert len(fake.syntheses) == 1  # no retries: the fallback chain answers faster
    if isinstance(reply, Audio) and reply.drop_at:
        assert b"".join(received) == b"".join(CHUNKS[: reply.drop_at])


async def test_a_stall_before_any_audio_times_out() -> None:
    async with FakeElevenLabs() as fake:
        fake.script(Audio(CHUNKS, stall_at=0))
        tts = provider(fake, timeout_s=0.1)
        with pytest.raises(SpeechProviderError, match="timed out"):
            await collect(tts.synthesize("Are you still there?"))
        await fake.wait_for(lambda: fake.syntheses[0].disconnected)
        await tts.aclose()


async def test_a_wrong_key_is_a_provider_error() -> None:
    async with FakeElevenLabs() as fake:
        tts = ElevenLabsTextToSpeech("wrong-key", base_url=fake.url)
        with pytest.raises(SpeechProviderError, match=r"HTTP 401 \(invalid_api_key\)"):
            await tts.warm()
        await tts.aclose()


async def test_warm_opens_the_connection_the_first_synthesis_reuses() -> None:
    async with FakeElevenLabs() as fake:
        tts = provider(fake)
        await tts.warm()
        await collect(tts.synthesize("Thanks for calling."))
        await tts.aclose()
    warm, synthesis = fake.requests
    assert (warm.method, warm.path) == ("GET", "/v1/models")
    assert synthesis.connection == warm.connection


async def test_blank_text_is_refused() -> None:
    async with FakeElevenLabs() as fake:
        tts = provider(fake)
        with pytest.raises(ValueError, match="non-blank"):
            await collect(tts.synthesize("  "))
        await tts.aclose()
    assert not fake.requests
