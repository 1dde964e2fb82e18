"""DeepgramSpeechToText: the real deepgram-sdk against the fake Deepgram live server."""

import numpy as np
import pytest

from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.speech.base import SpeechProviderError, TranscriptEvent, TranscriptKind
from frontdesk.realtime.speech.deepgram_stt import DeepgramSpeechToText, DeepgramSTTSession
from tests.realtime.conftest import analyzed, through_next_final
from tests.realtime.fake_deepgram import (
    API_KEY,
    CloseWith,
    Drop,
    FakeDeepgram,
    OnFinalize,
    Send,
    Stall,
    error,
    results,
    speech_started,
    utterance_end,
)

ONE_SECOND_MULAW = 8000  # mu-law on the wire: one byte per sample
HANG_GUARD_S = 10.0  # bounds a wait for an event; not a speed check


def tone(seconds: float) -> list[AnalyzedFrame]:
    """A 440 Hz tone as the carrier's analyzed frames: audio with varied samples, so the bytes on
    the wire are checked."""
    t = np.arange(round(seconds * 8000)) / 8000
    return analyzed((np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16))


async def send_frames(session: DeepgramSTTSession, frames: list[AnalyzedFrame]) -> None:
    for frame in frames:
        await session.send(frame)


def provider(fake: FakeDeepgram, **options: object) -> DeepgramSpeechToText:
    return DeepgramSpeechToText(API_KEY, base_url=fake.url, **options)  # type: ignore[arg-type]


async def test_handshake_carries_the_key_and_the_live_options() -> None:
    async with FakeDeepgram() as fake:
        session = await provider(fake, endpointing_ms=450).start()
        await session.close()
    [connection] = fake.connections
    assert connection.headers["Authorization"] == f"Token {API_KEY}"
    query = {name: values for name, values in connection.query.items() if name != "keyterm"}
    assert query == {
        "model": ["nova-3"],
        "encoding": ["mulaw"],
        "sample_rate": ["8000"],
        "channels": ["1"],
        "interim_results": ["true"],
        "endpointing": ["450"],
        "utterance_end_ms": ["1000"],
        "vad_events": ["true"],
        "smart_format": ["true"],
    }
    assert "root canal" in connection.query["keyterm"] and len(connection.query["keyterm"]) > 5


async def test_keyterms_are_only_sent_to_nova_3() -> None:
    async with FakeDeepgram() as fake:
        session = await provider(fake, model="nova-2-phonecall").start()
        await session.close()
    assert fake.connections[0].query["model"] == ["nova-2-phonecall"]
    assert "keyterm" not in fake.connections[0].query


async def test_a_wrong_key_is_a_provider_error_that_does_not_quote_the_key() -> None:
    async with FakeDeepgram() as fake:
        stt = DeepgramSpeechToText("not-the-key", base_url=fake.url)
        with pytest.raises(SpeechProviderError, match="HTTP 401") as raised:
            await stt.start()
    assert fake.rejected == 1 and not fake.connections
    assert "not-the-key" not in str(raised.value)


async def test_results_map_to_events_in_order_with_text_confidence_and_times() -> None:
    script = (
        speech_started(0.12),
        results("", start=0.0, duration=0.3, is_final=False),  # nothing heard yet: dropped
        results("I'd like", start=0.0, duration=0.6, is_final=False, confidence=0.7),
        results("I'd like to book", start=0.0, duration=1.0, is_final=True, confidence=0.91),
        results("a cleaning.", start=1.0, duration=0.5, is_final=True, speech_final=True, confidence=0.88),
        utterance_end(1.42),
    )
    async with FakeDeepgram() as fake:
        fake.script(Send(ONE_SECOND_MULAW, script))
        session = await provider(fake).start()
        audio = tone(1.5)
        await send_frames(session, audio)
        await session.finish()
        events = [event async for event in session.events()]
    assert events == [
        TranscriptEvent(TranscriptKind.SPEECH_STARTED, start=0.12, end=0.12),
        TranscriptEvent(TranscriptKind.INTERIM, "I'd like", 0.7, 0.0, 0.6),
        TranscriptEvent(TranscriptKind.FINAL, "I'd like to book", 0.91, 0.0, 1.0),
        TranscriptEvent(TranscriptKind.SPEECH_FINAL, "a cleaning.", 0.88, 1.0, 1.5),
        TranscriptEvent(TranscriptKind.UTTERANCE_END, start=1.42, end=1.42),
    ]
    # The wire carries exactly the carrier's bytes.
    assert bytes(fake.connections[0].audio) == b"".join(frame.mulaw for frame in audio)


async def test_keepalives_flow_while_idle_and_finish_sends_close_stream_and_drains() -> None:
    flushed = results("Yes, please.", start=0.0, duration=0.8, is_final=True, speech_final=True)
    async with FakeDeepgram() as fake:
        # Scripted past the audio that is sent: Deepgram flushes it when the stream closes.
        fake.script(Send(10 * ONE_SECOND_MULAW, (flushed,)))
        session = await provider(fake, keepalive_interval_s=0.02).start()
        await fake.wait_for(lambda: fake.connections[0].count("KeepAlive") >= 3)
        await send_frames(session, tone(0.2))
        await session.finish()
        events = [event async for event in session.events()]
    connection = fake.connections[0]
    assert connection.count("CloseStream") == 1
    assert connection.control[-1] == {"type": "CloseStream"}
    assert [(event.kind, event.text) for event in events] == [(TranscriptKind.SPEECH_FINAL, "Yes, please.")]


async def test_an_empty_speech_final_still_marks_the_end_of_speech() -> None:
    async with FakeDeepgram() as fake:
        fake.script(Send(1600, (results("", start=0.0, duration=0.2, is_final=True, speech_final=True),)))
        session = await provider(fake).start()
        await send_frames(session, tone(0.2))
        await session.finish()
        events = [event async for event in session.events()]
    assert [(event.kind, event.text) for event in events] == [(TranscriptKind.SPEECH_FINAL, "")]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (Drop(1600), "code 1006"),
        (CloseWith(1600), "code 1011 \\(NET-0001"),
        (Send(1600, (error("internal failure"),)), "ServerError: internal failure"),
    ],
    ids=["dropped", "closed-1011", "error-message"],
)
async def test_a_failing_server_becomes_a_provider_error(
    step: Drop | CloseWith | Send, expected: str
) -> None:
    interim = results("I need", start=0.0, duration=0.2, is_final=False)
    async with FakeDeepgram() as fake:
        fake.script(Send(800, (interim,)), step)
        session = await provider(fake).start()
        received: list[TranscriptEvent] = []
        with pytest.raises(SpeechProviderError, match=expected):
            await send_frames(session, tone(0.2))
            async for event in session.events():
                received.append(event)
        # Audio after the failure is refused with the same error, so is finalize(), and finish()
        # reports it too.
        with pytest.raises(SpeechProviderError, match=expected):
            await session.send(tone(0.02)[0])
        with pytest.raises(SpeechProviderError, match=expected):
            await session.finalize()
        with pytest.raises(SpeechProviderError, match=expected):
            await session.finish()
    assert [event.text for event in received] == ["I need"]


async def test_a_server_that_never_ends_the_stream_fails_finish() -> None:
    async with FakeDeepgram() as fake:
        fake.script(Stall(0))
        session = await provider(fake, drain_timeout_s=0.1).start()
        await send_frames(session, tone(0.1))
        with pytest.raises(SpeechProviderError, match="no end of stream"):
            await session.finish()
    assert fake.connections[0].count("CloseStream") == 1


async def test_warm_keeps_one_spare_socket_for_the_next_start() -> None:
    async with FakeDeepgram() as fake:
        stt = provider(fake, keepalive_interval_s=0.02)
        await stt.warm()
        await stt.warm()  # already warm: no second socket
        assert len(fake.connections) == 1
        # The spare is kept alive while it waits.
        await fake.wait_for(lambda: fake.connections[0].count("KeepAlive") >= 2)
        first = await stt.start()
        assert len(fake.connections) == 1
        second = await stt.start()
        assert len(fake.connections) == 2
        for session in (first, second):
            await session.close()
        await fake.wait_for(lambda: all(connection.ended for connection in fake.connections))


async def test_finalize_commits_what_deepgram_holds_and_the_stream_goes_on() -> None:
    flushed = results("Yes, Tuesday works.", start=0.0, duration=1.0, is_final=True, from_finalize=True)
    later = results("Thanks.", start=1.0, duration=0.5, is_final=True, speech_final=True)
    async with FakeDeepgram() as fake:
        fake.script(
            Send(ONE_SECOND_MULAW, (results("Yes", start=0.0, duration=0.9, is_final=False),)),
            OnFinalize((flushed,)),
            Send(ONE_SECOND_MULAW + 4000, (later,)),
        )
        session = await provider(fake).start()
        stream = session.events()
        await send_frames(session, tone(1.0))
        await session.finalize()
        # Deepgram's endpointing has said nothing: the committed words answer the Finalize.
        assert await through_next_final(stream, HANG_GUARD_S) == [
            TranscriptEvent(TranscriptKind.INTERIM, "Yes", 0.95, 0.0, 0.9),
            TranscriptEvent(TranscriptKind.FINAL, "Yes, Tuesday works.", 0.95, 0.0, 1.0),
        ]
        assert fake.connections[0].control == [{"type": "Finalize"}]
        # The session stays open: more audio is transcribed as before.
        await send_frames(session, tone(0.5))
        assert await through_next_final(stream, HANG_GUARD_S) == [
            TranscriptEvent(TranscriptKind.SPEECH_FINAL, "Thanks.", 0.95, 1.0, 1.5)
        ]
        await session.finish()
        assert [event async for event in stream] == []
    assert len(fake.connections[0].audio) == ONE_SECOND_MULAW * 3 // 2


async def test_finalize_with_no_words_held_gives_an_empty_final_reaching_the_audio_sent() -> None:
    committed = results("Yes.", start=0.0, duration=0.5, is_final=True, speech_final=True)
    async with FakeDeepgram() as fake:
        fake.script(Send(4000, (committed,)))  # nothing scripted for the Finalize
        session = await provider(fake).start()
        stream = session.events()
        await send_frames(session, tone(0.8))
        assert [event.text for event in await through_next_final(stream, HANG_GUARD_S)] == ["Yes."]
        await session.finalize()
        # The empty answer is kept: it says the flush reached the end of the audio sent.
        [flush] = await through_next_final(stream, HANG_GUARD_S)
        assert (flush.kind, flush.text) == (TranscriptKind.FINAL, "")
        assert (flush.start, flush.end) == pytest.approx((0.5, 0.8))
        await session.finish()
        # Finalize after the end of the stream is misuse.
        with pytest.raises(RuntimeError, match="finished or closed"):
            await session.finalize()
    assert fake.connections[0].count("Finalize") == 1


async def test_a_finalize_answer_that_also_ends_speech_is_a_speech_final() -> None:
    # from_finalize changes no mapping: is_final and speech_final decide the kind as always.
    flushed = results(
        "That's all.", start=0.0, duration=0.6, is_final=True, speech_final=True, from_finalize=True
    )
    async with FakeDeepgram() as fake:
        fake.script(OnFinalize((flushed,)))
        session = await provider(fake).start()
        stream = session.events()
        await send_frames(session, tone(0.6))
        await session.finalize()
        assert await through_next_final(stream, HANG_GUARD_S) == [
            TranscriptEvent(TranscriptKind.SPEECH_FINAL, "That's all.", 0.95, 0.0, 0.6)
        ]
        await session.close()


async def test_audio_goes_out_in_60_ms_batches_and_what_is_held_follows_the_pause() -> None:
    frames = tone(0.14)  # seven 20 ms frames: two whole batches and one frame held
    async with FakeDeepgram() as fake:
        session = await provider(fake).start()
        await send_frames(session, frames)
        connection = fake.connections[0]
        # The line goes quiet mid-batch: the held frame goes out on its own, with no Finalize.
        await fake.wait_for(lambda: len(connection.audio) == 7 * 160)
        assert connection.audio_messages == [480, 480, 160]
        assert connection.control == []
        await send_frames(session, frames[:2])
        await session.finalize()  # held audio goes out before the Finalize, in order
        await fake.wait_for(lambda: connection.count("Finalize") == 1)
        await session.finish()
    assert connection.audio_messages == [480, 480, 160, 320]
    assert bytes(connection.audio) == b"".join(frame.mulaw for frame in [*frames, *frames[:2]])
