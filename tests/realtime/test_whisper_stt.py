"""The offline STT twin: segmentation over the call's frame analysis + faster-whisper, fed by
piper over a mu-law line."""

import dataclasses
import itertools

import numpy as np
import pytest
from faster_whisper.transcribe import Segment

from frontdesk.realtime.audio.vad import VadConfig
from frontdesk.realtime.speech.base import TranscriptEvent, TranscriptKind
from frontdesk.realtime.speech.whisper_stt import WhisperSpeechToText, WhisperSTTSession, utterance_confidence
from tests.realtime.conftest import Padded, Speak, Transcribe, analyzed, silence, through_next_final

BOOKING = "I would like to book a teeth cleaning next Tuesday."
DATE_AND_TIME = "Can I come in on March 14th at 3:30?"
HANG_GUARD_S = 120.0  # bounds a wait for a transcription on a busy machine; not a speed check


def of_kind(events: list[TranscriptEvent], kind: TranscriptKind) -> list[TranscriptEvent]:
    return [event for event in events if event.kind is kind]


async def send_audio(session: WhisperSTTSession, audio: np.ndarray) -> float:
    """Send the audio as 20 ms frames (the last padded); return how many seconds went."""
    frames = analyzed(audio)
    for frame in frames:
        await session.send(frame)
    return len(frames) * 0.02


async def test_round_trip_booking_sentence(speak: Speak, padded: Padded, transcribe: Transcribe) -> None:
    speech = await speak(BOOKING)
    events = await transcribe(padded(0.5, speech, 1.5))
    assert [event.kind for event in events] == [TranscriptKind.SPEECH_STARTED, TranscriptKind.SPEECH_FINAL]
    started, final = events
    text = final.text.lower()
    assert "cleaning" in text
    assert "tuesday" in text
    assert final.is_final
    assert final.confidence > 0.6
    # Offsets are in stream time: speech began after the half second of silence.
    assert 0.45 <= started.start <= 0.8
    assert final.start < started.start < final.end
    assert final.end == pytest.approx(0.5 + speech.size / 8000, abs=0.5)


async def test_round_trip_date_and_numbers(speak: Speak, padded: Padded, transcribe: Transcribe) -> None:
    events = await transcribe(padded(0.5, await speak(DATE_AND_TIME), 1.5))
    (final,) = of_kind(events, TranscriptKind.SPEECH_FINAL)
    text = final.text.lower()
    assert "march" in text
    assert "14" in text
    assert "30" in text


async def test_each_utterance_gets_its_own_final(
    speak: Speak, padded: Padded, transcribe: Transcribe
) -> None:
    events = await transcribe(padded(0.5, await speak(BOOKING), 1.5, await speak(DATE_AND_TIME), 1.5))
    assert len(of_kind(events, TranscriptKind.SPEECH_STARTED)) == 2
    first, second = of_kind(events, TranscriptKind.SPEECH_FINAL)
    assert "cleaning" in first.text.lower()
    assert "march" in second.text.lower()
    assert first.end <= second.start


async def test_silence_gives_no_events(padded: Padded, transcribe: Transcribe) -> None:
    assert await transcribe(padded(3.0)) == []


async def test_finish_transcribes_speech_cut_off_by_the_end_of_audio(
    speak: Speak, padded: Padded, transcribe: Transcribe
) -> None:
    events = await transcribe(padded(0.5, await speak(BOOKING)))
    (final,) = of_kind(events, TranscriptKind.SPEECH_FINAL)
    assert "tuesday" in final.text.lower()


async def test_long_speech_is_cut_into_finals(speak: Speak, padded: Padded, transcribe: Transcribe) -> None:
    events = await transcribe(
        padded(0.5, await speak(BOOKING), 1.5), WhisperSpeechToText(max_utterance_s=1.0)
    )
    committed = [event for event in events if event.is_final]
    assert [event.kind for event in committed][-1] is TranscriptKind.SPEECH_FINAL
    assert len(of_kind(committed, TranscriptKind.FINAL)) >= 1
    # The pieces tile the utterance without gaps.
    for before, after in itertools.pairwise(committed):
        assert before.end == pytest.approx(after.start)
    assert "tuesday" in " ".join(event.text for event in committed).lower()


async def test_close_drops_pending_audio_and_ends_the_events(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    session = await stt.start()
    for frame in analyzed(padded(0.5, await speak(BOOKING))):
        await session.send(frame)
    await session.close()
    assert [event.kind async for event in session.events()] == [TranscriptKind.SPEECH_STARTED]
    [quiet] = analyzed(silence(0.02))
    with pytest.raises(RuntimeError, match="finished or closed"):
        await session.send(quiet)
    await session.close()  # closing twice is harmless


async def test_utterances_follow_the_frames_analysis_not_a_model_of_its_own(
    speak: Speak, padded: Padded, transcribe: Transcribe
) -> None:
    # The session segments by the probabilities its frames carry: speech whose analysis says
    # silence is no utterance, and silence marked as speech is one.
    speech = [
        dataclasses.replace(frame, windows=tuple(0.0 for _ in frame.windows), probability=0.0)
        for frame in analyzed(padded(0.5, await speak(BOOKING), 1.0))
    ]
    assert await transcribe(speech) == []
    marked = [
        dataclasses.replace(frame, windows=tuple(1.0 for _ in frame.windows), probability=1.0)
        for frame in analyzed(silence(1.0))
    ]
    events = await transcribe([*marked, *analyzed(silence(1.0))])
    assert [event.kind for event in events] == [TranscriptKind.SPEECH_STARTED, TranscriptKind.SPEECH_FINAL]
    assert events[0].start == 0.0


async def test_misuse_gets_clear_errors(stt: WhisperSpeechToText) -> None:
    session = await stt.start()
    [quiet] = analyzed(silence(0.02))
    session.events()
    with pytest.raises(RuntimeError, match="one consumer"):
        session.events()
    await session.finish()
    with pytest.raises(RuntimeError, match="finished or closed"):
        await session.send(quiet)
    with pytest.raises(RuntimeError, match="finished or closed"):
        await session.finish()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_utterance_s"):
        WhisperSpeechToText(max_utterance_s=60.0)


def segment(avg_logprob: float, no_speech_prob: float, tokens: int) -> Segment:
    return Segment(
        id=0,
        seek=0,
        start=0.0,
        end=1.0,
        text="x",
        tokens=list(range(tokens)),
        avg_logprob=avg_logprob,
        compression_ratio=1.0,
        no_speech_prob=no_speech_prob,
        words=None,
        temperature=0.0,
    )


def test_confidence_mapping() -> None:
    assert utterance_confidence([]) == 0.0
    assert utterance_confidence([segment(0.0, 0.0, 5)]) == pytest.approx(1.0)
    assert utterance_confidence([segment(-0.5, 0.0, 5)]) == pytest.approx(np.exp(-0.5))
    # Words "heard" in what is probably not speech count for little.
    assert utterance_confidence([segment(-0.1, 0.9, 5)]) == pytest.approx(np.exp(-0.1) * 0.1)
    # Segments weigh by their token count.
    mixed = utterance_confidence([segment(0.0, 0.0, 9), segment(-10.0, 0.0, 1)])
    assert mixed == pytest.approx((9 * 1.0 + np.exp(-10.0)) / 10)


def test_transcript_events_validate_their_fields() -> None:
    with pytest.raises(ValueError, match="confidence"):
        TranscriptEvent(TranscriptKind.FINAL, "hi", confidence=1.5)
    with pytest.raises(ValueError, match="start"):
        TranscriptEvent(TranscriptKind.FINAL, "hi", start=2.0, end=1.0)
    assert not TranscriptEvent(TranscriptKind.INTERIM, "hi").is_final
    assert TranscriptEvent(TranscriptKind.SPEECH_FINAL, "hi").is_final


async def test_end_of_speech_silence_comes_from_the_vad_config(
    speak: Speak, padded: Padded, transcribe: Transcribe
) -> None:
    # A pause of about a second between two answers: a terse profile hears two turns,
    # a patient one waits and hears one.
    audio = padded(0.5, await speak("Yes."), 0.8, await speak("Tuesday works."), 1.8)
    terse = await transcribe(audio, WhisperSpeechToText(VadConfig(end_silence_ms=300)))
    patient = await transcribe(audio, WhisperSpeechToText(VadConfig(end_silence_ms=1500)))
    assert len(of_kind(terse, TranscriptKind.SPEECH_FINAL)) == 2
    (whole,) = of_kind(patient, TranscriptKind.SPEECH_FINAL)
    assert "yes" in whole.text.lower()
    assert "tuesday" in whole.text.lower()


async def test_finalize_transcribes_the_utterance_before_the_end_of_speech_silence(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    session = await stt.start()
    stream = session.events()
    # 200 ms of silence after the words: far from the segmenter's end of speech.
    assert session.segmenter.config.end_silence_ms >= 600
    sent_s = await send_audio(session, padded(0.5, await speak(BOOKING), 0.2))
    await session.finalize()
    # Only finalize() can have cut it: no more audio has been sent, finish() not called.
    started, final = await through_next_final(stream, HANG_GUARD_S)
    assert (started.kind, final.kind) == (TranscriptKind.SPEECH_STARTED, TranscriptKind.SPEECH_FINAL)
    assert "cleaning" in final.text.lower() and "tuesday" in final.text.lower()
    assert final.end == pytest.approx(sent_s)  # it reaches the audio sent so far
    await session.finalize()  # nothing in progress any more: harmless, no event
    # The silence goes on past the segmenter's end of speech: the utterance is not cut again,
    # and no empty utterance follows.
    await send_audio(session, padded(1.5))
    await session.finish()
    assert [event async for event in stream] == []


async def test_speech_going_on_after_finalize_is_a_new_utterance(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    session = await stt.start()
    stream = session.events()
    await send_audio(session, padded(0.5, await speak("Yes."), 0.2))
    await session.finalize()
    first = await through_next_final(stream, HANG_GUARD_S)
    assert [event.kind for event in first] == [TranscriptKind.SPEECH_STARTED, TranscriptKind.SPEECH_FINAL]
    assert "yes" in first[-1].text.lower()
    # The caller goes on within what the segmenter would still have counted as the same speech.
    await send_audio(session, padded(0.1, await speak(DATE_AND_TIME), 1.5))
    await session.finish()
    second = [event async for event in stream]
    assert [event.kind for event in second] == [TranscriptKind.SPEECH_STARTED, TranscriptKind.SPEECH_FINAL]
    assert "march" in second[-1].text.lower() and "yes" not in second[-1].text.lower()
    # No audio is transcribed twice: the new utterance starts where the finalized one ended.
    assert second[-1].start >= first[-1].end


async def test_finalize_in_mid_speech_splits_the_words_without_overlap(
    stt: WhisperSpeechToText, speak: Speak, padded: Padded
) -> None:
    speech = await speak(BOOKING)
    half = speech.size // 2 - speech.size // 2 % 160  # on a frame boundary
    session = await stt.start()
    stream = session.events()
    await send_audio(session, padded(0.5, speech[:half]))
    await session.finalize()
    first = await through_next_final(stream, HANG_GUARD_S)
    await send_audio(session, padded(speech[half:], 1.5))
    await session.finish()
    second = [event async for event in stream]
    assert [event.kind for event in first + second] == [
        TranscriptKind.SPEECH_STARTED,
        TranscriptKind.SPEECH_FINAL,
        TranscriptKind.SPEECH_STARTED,
        TranscriptKind.SPEECH_FINAL,
    ]
    # The caller was still talking: the second utterance picks up exactly where the first was cut.
    assert second[-1].start == pytest.approx(first[-1].end)
    assert "tuesday" in second[-1].text.lower()


async def test_finalize_with_nothing_in_progress_and_after_the_end_is_handled(
    stt: WhisperSpeechToText, padded: Padded
) -> None:
    session = await stt.start()
    stream = session.events()
    await send_audio(session, padded(0.5))
    await session.finalize()  # silence only: nothing to transcribe, no event
    await session.finish()
    assert [event async for event in stream] == []
    with pytest.raises(RuntimeError, match="finished or closed"):
        await session.finalize()
