"""The end-of-turn model (Smart Turn v3) and the rule that asks it, on piper speech over a mu-law
line analyzed as a call's frames are."""

import numpy as np
import pytest

from frontdesk.domain.clinic_settings import EndOfTurnProfile
from frontdesk.realtime.audio.analysis import AnalyzedFrame
from frontdesk.realtime.audio.codec import FRAME_MS, FRAME_SAMPLES, TELEPHONY_SAMPLE_RATE
from frontdesk.realtime.audio.turn_model import TurnModel, load_turn_model
from frontdesk.realtime.audio.vad import SpeechSegmenter, VadConfig, VadEventKind
from frontdesk.realtime.turn.end_of_turn import (
    END_OF_TURN_POLICIES,
    PRE_ROLL_MS,
    AnalyzeTurn,
    CallerPaused,
    EndOfTurnPolicy,
    EndOfTurnRule,
    EndReason,
    TurnEnded,
)
from tests.realtime.conftest import Padded, Speak, analyzed, silence

BALANCED = END_OF_TURN_POLICIES[EndOfTurnProfile.balanced]
FINISHED = "Tuesday works for me."
HESITANT = "I'd like to book, um,"  # piper says "um" as a caller who goes on would
CONTINUATION = "a cleaning."
PAUSE_S = 0.6  # and piper's own silence after "um," and before "a cleaning": ~1 s in all


@pytest.fixture(scope="module")
def model() -> TurnModel:
    return load_turn_model()


async def paused_booking(speak: Speak, padded: Padded) -> tuple[list[AnalyzedFrame], float]:
    """ "I'd like to book, um," ... "a cleaning." on the line; and where the second part begins."""
    first, second = await speak(HESITANT), await speak(CONTINUATION)
    resume_at = 0.5 + first.size / 8000 + PAUSE_S
    return analyzed(padded(0.5, first, PAUSE_S, second, 2.5)), resume_at


async def test_the_model_hears_a_finished_sentence_and_a_hesitation(speak: Speak, model: TurnModel) -> None:
    finished = np.concatenate([silence(0.3), await speak("Yes, that works for me."), silence(0.3)])
    hesitant = np.concatenate([silence(0.3), await speak(HESITANT), silence(0.3)])
    assert model.complete_probability(finished) > 0.8
    assert model.complete_probability(hesitant) < 0.2


def test_the_model_refuses_what_is_not_8_khz_int16_audio(model: TurnModel) -> None:
    with pytest.raises(ValueError, match="1-D int16"):
        model.complete_probability(np.zeros(8000, dtype=np.float32))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="numpy array"):
        model.complete_probability([0] * 8000)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        model.complete_probability(np.zeros(0, dtype=np.int16))


async def test_a_finished_sentence_ends_on_the_models_word_sooner_than_the_silence_would(
    speak: Speak, padded: Padded, model: TurnModel
) -> None:
    frames = analyzed(padded(0.5, await speak(FINISHED), 1.5))
    rule = EndOfTurnRule(BALANCED, model)
    pauses: list[tuple[int, CallerPaused]] = []
    questions: list[tuple[int, AnalyzeTurn]] = []
    ends: list[TurnEnded] = []
    for index, frame in enumerate(frames):
        action = rule.process(frame)
        if isinstance(action, CallerPaused):
            pauses.append((index, action))
        elif isinstance(action, AnalyzeTurn):
            questions.append((index, action))
            if (ended := rule.model_said(action, action.run())) is not None:
                ends.append(ended)
        elif action is not None:
            ends.append(action)
    [(paused_at, paused)], [(asked_at, question)] = pauses, questions
    # The caller counts as paused after the shorter silence, before the model is asked, at the
    # same end of speech.
    assert paused.speech_end == question.speech_end
    gap_s = (asked_at - paused_at) * FRAME_MS / 1000
    assert abs(gap_s - (BALANCED.analyze_after_ms - BALANCED.guess_after_ms) / 1000) <= 0.032 + 0.02
    (ended,) = ends
    assert ended.reason is EndReason.MODEL_COMPLETE
    assert ended.probability is not None and ended.probability >= BALANCED.complete_threshold
    assert ended.speech_end == question.speech_end
    # Asked once the short silence ran out (the segmenter counts it in 32 ms windows).
    asked_after = BALANCED.analyze_after_ms / 1000
    assert asked_after <= ended.decided_at - ended.speech_end < asked_after + 0.032 + 0.02
    old_rule = EndOfTurnRule(BALANCED, None)
    old_ends = [action for frame in frames if isinstance(action := old_rule.process(frame), TurnEnded)]
    assert [end.reason for end in old_ends] == [EndReason.SILENCE]
    assert ended.decided_at < old_ends[0].decided_at


async def test_a_hesitation_holds_the_turn_through_the_pause_and_the_long_silence_ends_it(
    speak: Speak, padded: Padded, model: TurnModel
) -> None:
    frames, resume_at = await paused_booking(speak, padded)
    rule = EndOfTurnRule(BALANCED, model)
    questions: list[tuple[float, AnalyzeTurn]] = []
    ends: list[TurnEnded] = []
    for index, frame in enumerate(frames):
        action = rule.process(frame)
        if isinstance(action, TurnEnded):
            ends.append(action)
        elif isinstance(action, AnalyzeTurn):
            questions.append(((index + 1) * 0.02, action))
            # The pause is judged by the model; at the end, the model is scripted to say
            # "unfinished" so that the long silence has to end the turn.
            probability = action.run() if len(questions) == 1 else 0.1
            assert rule.model_said(action, probability) is None
    (asked_in_pause, in_pause), (asked_at_end, at_end) = questions
    assert in_pause.speech_end < resume_at < at_end.speech_end
    # Each judgement hears the latest stretch of speech only: the second, not the first part.
    assert in_pause.samples.size / 8000 <= asked_in_pause
    assert at_end.samples.size / 8000 < asked_at_end - resume_at + PRE_ROLL_MS / 1000 + 0.1
    (ended,) = ends
    assert ended.reason is EndReason.LONG_SILENCE
    assert ended.probability == 0.1
    assert ended.speech_end == at_end.speech_end
    long_silence = BALANCED.incomplete_silence_ms / 1000
    assert long_silence <= ended.decided_at - ended.speech_end < long_silence + 0.02 + 1e-9


async def test_a_judgement_that_comes_back_after_the_caller_went_on_is_ignored(
    speak: Speak, padded: Padded, model: TurnModel
) -> None:
    frames, _resume_at = await paused_booking(speak, padded)
    rule = EndOfTurnRule(BALANCED, model)
    questions: list[AnalyzeTurn] = []
    ends: list[TurnEnded] = []
    for frame in frames:
        action = rule.process(frame)
        if isinstance(action, TurnEnded):
            ends.append(action)
        elif isinstance(action, AnalyzeTurn):
            questions.append(action)
            if len(questions) == 2:
                # The judgement of the pause was still running when the caller went on.
                assert rule.model_said(questions[0], 0.99) is None
                if (ended := rule.model_said(action, 0.99)) is not None:
                    ends.append(ended)
    assert [question.request for question in questions] == [1, 2]
    (ended,) = ends
    assert ended.reason is EndReason.MODEL_COMPLETE
    assert ended.speech_end == questions[1].speech_end
    # Once the turn is over, an answer to its last question changes nothing either.
    assert rule.model_said(questions[1], 0.99) is None


async def test_a_judgement_still_running_when_the_long_silence_runs_out_is_ignored(
    speak: Speak, padded: Padded, model: TurnModel
) -> None:
    frames = analyzed(padded(0.5, await speak(HESITANT), 2.0))
    rule = EndOfTurnRule(BALANCED, model)
    actions = [action for frame in frames if (action := rule.process(frame)) is not None]
    paused, question, ended = actions
    assert isinstance(paused, CallerPaused)
    assert isinstance(question, AnalyzeTurn) and isinstance(ended, TurnEnded)
    assert (ended.reason, ended.probability) == (EndReason.LONG_SILENCE, None)
    assert rule.model_said(question, 0.99) is None


@pytest.mark.parametrize("profile", list(EndOfTurnProfile))
async def test_without_a_model_the_rule_is_the_old_silence_rule(
    speak: Speak, padded: Padded, profile: EndOfTurnProfile
) -> None:
    frames, _resume_at = await paused_booking(speak, padded)
    policy = END_OF_TURN_POLICIES[profile]
    rule = EndOfTurnRule(policy, None)
    old = SpeechSegmenter(VadConfig(end_silence_ms=policy.silence_ms))
    decided, expected = [], []
    for index, frame in enumerate(frames):
        action = rule.process(frame)
        assert not isinstance(action, AnalyzeTurn | CallerPaused)  # no model: no judgement, no guess
        if action is not None:
            decided.append((index, action.speech_end, action.reason, action.decided_at))
        expected += [
            (index, event.at, EndReason.SILENCE, (index + 1) * FRAME_SAMPLES / TELEPHONY_SAMPLE_RATE)
            for event in old.process(frame).events
            if event.kind is VadEventKind.SPEECH_END
        ]
    assert decided
    assert decided == expected


def test_bad_policies_and_probabilities_are_refused(model: TurnModel) -> None:
    with pytest.raises(ValueError, match="complete_threshold"):
        EndOfTurnPolicy(650, 200, 1.5, 1350, 150)
    with pytest.raises(ValueError, match="complete_threshold"):
        EndOfTurnPolicy(650, 200, float("nan"), 1350, 150)
    with pytest.raises(ValueError, match="incomplete_silence_ms"):
        EndOfTurnPolicy(650, 200, 0.5, 200, 150)
    with pytest.raises(ValueError, match="silence_ms must be positive"):
        EndOfTurnPolicy(0, 200, 0.5, 1350, 150)
    with pytest.raises(ValueError, match="guess_after_ms"):
        EndOfTurnPolicy(650, 200, 0.5, 1350, 200)
    with pytest.raises(ValueError, match="guess_after_ms"):
        EndOfTurnPolicy(650, 200, 0.5, 1350, 0)
    rule = EndOfTurnRule(BALANCED, model)
    question = AnalyzeTurn(1, np.zeros(8000, dtype=np.int16), 0.0, model)
    with pytest.raises(ValueError, match="within"):
        rule.model_said(question, 1.2)
    assert rule.model_said(question, 0.9) is None  # never asked by this rule
