"""The labelled end-of-turn set and its measurement (`frontdesk bench --end-of-turn`)."""

from dataclasses import replace

import pytest

from frontdesk.bench.end_of_turn import Outcome, RenderedCase, measure_end_of_turn, with_word_hold
from frontdesk.bench.end_of_turn_set import END_OF_TURN_SET, CaseKind, EndOfTurnCase
from frontdesk.realtime.turn.end_of_turn import EndReason, TurnEnded

FINISHED = EndOfTurnCase(("Yes.",))
HESITANT = EndOfTurnCase(("I'd like to cancel, um,", "my cleaning on Friday."), 1.2)
MID_SENTENCE = EndOfTurnCase(("My name is", "John Smith."), 0.6)


def test_the_set_is_half_complete_half_paused_with_both_kinds_of_pause() -> None:
    kinds = [case.kind for case in END_OF_TURN_SET]
    assert len(END_OF_TURN_SET) >= 60
    assert kinds.count(CaseKind.COMPLETE) == len(kinds) // 2
    assert kinds.count(CaseKind.FILLER) == kinds.count(CaseKind.MID_SENTENCE)
    assert len(set(END_OF_TURN_SET)) == len(END_OF_TURN_SET)
    assert {"Yes.", "Tuesday works."} <= {case.text for case in END_OF_TURN_SET}
    assert all(0.5 <= case.pause_s <= 1.2 for case in END_OF_TURN_SET if case.kind is not CaseKind.COMPLETE)
    assert (FINISHED.kind, HESITANT.kind, MID_SENTENCE.kind) == (
        CaseKind.COMPLETE,
        CaseKind.FILLER,
        CaseKind.MID_SENTENCE,
    )


def test_a_case_with_a_pause_out_of_range_or_without_words_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.5 to 1\.2 s"):
        EndOfTurnCase(("My name is", "John."), 2.0)
    with pytest.raises(ValueError, match="non-empty parts"):
        EndOfTurnCase(("My name is", " "), 0.8)
    with pytest.raises(ValueError, match="no pause"):
        EndOfTurnCase(("Yes.",), 0.5)


def end(speech_end: float, decided_at: float) -> TurnEnded:
    return TurnEnded(speech_end, decided_at, EndReason.SILENCE, None)


def test_the_word_hold_spares_a_pause_after_unfinished_words_when_the_caller_goes_on_in_time() -> None:
    # "My name is" ends at 1.3 s; "John Smith." is heard from 2.0 s to 3.0 s.
    rendered = RenderedCase(MID_SENTENCE, [], speech_end=3.0, resume_at=2.0)
    spared = with_word_hold(rendered, Outcome((end(1.3, 1.8), end(3.05, 3.6)), 3.0))
    assert not spared.cut_off
    assert spared.delay_ms == pytest.approx(600)
    # Decided too early: the 700 ms hold runs out before the caller's words are confirmed.
    held = with_word_hold(rendered, Outcome((end(1.3, 1.35), end(3.05, 3.6)), 3.0))
    assert held.cut_off
    assert held.ends[0].decided_at == pytest.approx(2.05)
    # Words that end unfinished hold the final end too; finished ones do not.
    trailing = EndOfTurnCase(("I need to come in for a cleaning and",))
    late = with_word_hold(RenderedCase(trailing, [], 2.0, None), Outcome((end(2.05, 2.6),), 2.0))
    assert late.delay_ms == pytest.approx(1300)


def test_the_new_rules_word_hold_lasts_to_the_long_silence_after_the_last_word() -> None:
    rendered = RenderedCase(MID_SENTENCE, [], speech_end=3.0, resume_at=2.0)
    by_model = TurnEnded(1.3, 1.6, EndReason.MODEL_COMPLETE, 0.98)
    spared = with_word_hold(rendered, Outcome((by_model, end(3.05, 3.6)), 3.0), long_silence_s=1.35)
    assert not spared.cut_off  # held to 2.65 s: "John Smith." is confirmed at 2.1 s
    late = with_word_hold(rendered, Outcome((replace(by_model, speech_end=0.5, decided_at=0.8),), 3.0), 1.35)
    assert late.cut_off and late.ends[0].decided_at == pytest.approx(1.85)
    # An end by the long silence is not held again.
    trailing = RenderedCase(EndOfTurnCase(("I need to come in for a cleaning and",)), [], 2.0, None)
    silence = TurnEnded(2.0, 3.35, EndReason.LONG_SILENCE, 0.1)
    assert with_word_hold(trailing, Outcome((silence,), 2.0), 1.35).ends == (silence,)


async def test_the_report_counts_each_rule_at_each_profile() -> None:
    report = await measure_end_of_turn([FINISHED, HESITANT, MID_SENTENCE])
    assert report["set"] == {
        "cases": 3,
        "complete": 1,
        "filler": 1,
        "mid_sentence": 1,
        "noise_dbfs": -60.0,
        "seed": 7,
    }
    assert report["model"]["judgements"] >= 3
    assert report["model"]["judgement_ms"]["p50"] > 0
    rules = report["rules"]
    assert set(rules) == {"old", "old_with_word_hold", "new", "new_with_word_hold"}
    for profiles in rules.values():
        assert set(profiles) == {"terse", "balanced", "patient"}
        for figures in profiles.values():
            cut_offs = figures["cut_offs"]
            assert cut_offs["total"] == cut_offs["complete"] + cut_offs["filler"] + cut_offs["mid_sentence"]
            assert cut_offs["complete"] == 0  # "Yes." has no pause to be cut in
            assert figures["missed"] == 0
            assert figures["delay_ms"]["complete"]["p50"] > 0
            assert figures["delay_ms"]["paused"]["p50"] > 0
    # The old rule: 450 ms of silence cuts the 1.2 s pause short, 1000 ms waits out the 0.6 s one.
    assert rules["old"]["terse"]["cut_offs"]["filler"] == 1
    assert rules["old"]["patient"]["cut_offs"]["mid_sentence"] == 0
    # The model hears the "um" and the patient profile's long silence outlasts the pause.
    assert rules["new"]["patient"]["cut_offs"]["filler"] == 0
    assert rules["new"]["terse"]["complete_ended_by"] == {"model_complete": 1}
    # A pause in each case at its end, and in each paused case's pause, before the last word.
    guesses = rules["new"]["balanced"]["guesses"]
    assert guesses["guess_after_ms"] == 150
    assert guesses["pauses"] >= 5 and guesses["before_the_end"] >= 2
    assert guesses["judged_before_the_end"] <= guesses["before_the_end"]
