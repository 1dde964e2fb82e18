"""The offline TTS twin: piper, streamed as mu-law 8 kHz sentence by sentence, and cancellable."""

import asyncio
import threading
from contextlib import aclosing

import pytest

from frontdesk.realtime.audio.codec import TELEPHONY_SAMPLE_RATE
from frontdesk.realtime.speech.base import SpeechProviderError
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech

SENTENCES = (
    "Sure, I can help with that.",
    "Your cleaning is booked for next Tuesday at nine in the morning.",
    "Is there anything else I can do for you today?",
)
LONG_REPLY = " ".join(
    f"This is sentence number {n} of a long answer that the caller will interrupt." for n in range(1, 9)
)


def seconds(mulaw: bytes) -> float:
    return len(mulaw) / TELEPHONY_SAMPLE_RATE


def assert_no_synthesis_left() -> None:
    alive = [thread for thread in threading.enumerate() if thread.name == "piper-tts"]
    assert alive == [], "a piper synthesis thread outlived its stream"


async def collect(tts: PiperTextToSpeech, text: str) -> list[bytes]:
    return [chunk async for chunk in tts.synthesize(text)]


async def test_a_longer_text_streams_sentence_by_sentence(tts: PiperTextToSpeech) -> None:
    # The turn loop hands over one clause at a time; a text of several sentences is still
    # synthesized as given, piper rendering and sending one sentence after another.
    chunks = await collect(tts, " ".join(SENTENCES))
    assert all(isinstance(chunk, bytes) and chunk for chunk in chunks)
    # One chunk per sentence (and the resampler's short tail): the first audio is out as soon as
    # the first sentence is rendered, long before the reply is.
    assert len(chunks) >= len(SENTENCES)
    total = seconds(b"".join(chunks))
    assert 4.0 < total < 15.0
    alone = seconds(b"".join(await collect(tts, SENTENCES[0])))
    assert seconds(chunks[0]) < total / 3
    assert seconds(chunks[0]) == pytest.approx(alone, rel=0.35)


async def test_speaking_rate_follows_length_scale() -> None:
    slow, fast = PiperTextToSpeech(length_scale=1.5), PiperTextToSpeech(length_scale=0.8)
    text = "Your appointment is on Tuesday at nine."
    slow_seconds = seconds(b"".join(await collect(slow, text)))
    fast_seconds = seconds(b"".join(await collect(fast, text)))
    assert slow_seconds > 1.3 * fast_seconds


async def test_a_scripted_voice_renders_a_line_the_same_every_time(tts: PiperTextToSpeech) -> None:
    text = "Hi, where exactly are you located?"
    scripted = [b"".join(await collect(tts, text)) for _ in range(2)]
    assert scripted[0] == scripted[1]
    # The agent's voice keeps piper's variation: two renderings of a line differ.
    natural = PiperTextToSpeech()
    assert b"".join(await collect(natural, text)) != b"".join(await collect(natural, text))


async def test_closing_the_stream_mid_way_stops_synthesis(tts: PiperTextToSpeech) -> None:
    stream = tts.synthesize(LONG_REPLY)
    first = await anext(stream)
    assert first
    await stream.aclose()  # barge-in
    assert_no_synthesis_left()
    # The shared voice is unharmed.
    assert await collect(tts, "Still here.")


async def test_breaking_out_of_aclosing_stops_synthesis(tts: PiperTextToSpeech) -> None:
    received = 0
    async with aclosing(tts.synthesize(LONG_REPLY)) as stream:
        async for _chunk in stream:
            received += 1
            if received == 2:
                break
    assert received == 2
    assert_no_synthesis_left()


async def test_cancelling_the_consumer_task_stops_synthesis(tts: PiperTextToSpeech) -> None:
    first_chunk = asyncio.Event()

    async def play() -> None:
        async with aclosing(tts.synthesize(LONG_REPLY)) as stream:
            async for _chunk in stream:
                first_chunk.set()
                await asyncio.sleep(3600)  # "playing" until the caller barges in

    task = asyncio.create_task(play())
    await first_chunk.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_no_synthesis_left()


async def test_a_finished_stream_leaves_no_thread(tts: PiperTextToSpeech) -> None:
    assert await collect(tts, "See you on Tuesday.")
    assert_no_synthesis_left()


async def test_engine_failure_is_a_provider_error(tts: PiperTextToSpeech) -> None:
    # espeak refuses text with a NUL character: a real engine failure.
    with pytest.raises(SpeechProviderError, match="piper: synthesis failed") as raised:
        await collect(tts, "Your appointment \x00 is booked.")
    assert isinstance(raised.value.__cause__, ValueError)
    assert_no_synthesis_left()


@pytest.mark.parametrize("text", ["", "   ", None])
async def test_blank_text_is_refused(tts: PiperTextToSpeech, text: str) -> None:
    with pytest.raises(ValueError, match="non-blank"):
        await collect(tts, text)


@pytest.mark.parametrize("length_scale", [0.1, 3.0])
def test_unreasonable_speaking_rates_are_refused(length_scale: float) -> None:
    with pytest.raises(ValueError, match="length_scale"):
        PiperTextToSpeech(length_scale=length_scale)
