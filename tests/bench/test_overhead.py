"""Joining a turn to the vendor time the fakes injected on its path."""

import pytest

from frontdesk.bench.overhead import first_clause, replies_by_turn, vendor_times
from frontdesk.bench.vendor_log import LlmMessage, SttFinal, Synthesis, VendorLog
from frontdesk.realtime.audio.vad import heard_silence_ms
from frontdesk.realtime.turn.end_of_turn import GUESS_AFTER_MS


def message(
    line: int | None,
    arrived: float,
    tokens: list[tuple[str, float]],
    ended: float,
    tools: int = 0,
    first_tool: tuple[str, float] | None = None,
) -> LlmMessage:
    return LlmMessage(
        tag=4,
        line=line,
        arrived_at=arrived,
        drawn_ms=0.0,
        tokens=tuple(tokens),
        ended_at=ended,
        tools=tools,
        first_tool=first_tool,
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(
            [message(0, 10.0, [("Hello ", 10.5), ("there. ", 10.6), ("More", 10.7)], 10.8)],
            ("Hello there.", 10.6, 600),
            id="cut at the token that completes it",
        ),
        pytest.param(
            # The engine streams a space as the first tool call begins: the sentence is spoken then.
            [
                message(1, 10.0, [("Let me ", 10.2), ("look.", 10.3)], 10.5, 1, ("get_availability", 10.35)),
                message(None, 11.0, [("I have ", 11.4), ("Monday, ", 11.5)], 11.7),
            ],
            ("Let me look.", 10.35, 350),
            id="cut where the message's first tool call begins",
        ),
        pytest.param(
            # Nothing said before the call: the engine's acknowledgement is the first clause.
            [
                message(1, 10.0, [], 10.5, tools=1, first_tool=("get_availability", 10.4)),
                message(None, 11.0, [("I have ", 11.4), ("Monday, ", 11.5)], 11.7),
            ],
            ("Let me check.", 10.4, 400),
            id="an acknowledgement as the first tool call begins",
        ),
    ],
)
def test_a_first_clause_in_the_first_message_costs_the_llm_time_to_where_it_is_cut(
    reply: list[LlmMessage], expected: tuple[str, float, int]
) -> None:
    clause = first_clause(reply)
    assert clause is not None
    assert (clause.text, clause.written_at, round(clause.llm_ms)) == expected
    assert not clause.after_tools


def test_a_clause_finished_after_a_tool_round_counts_whole_earlier_messages_not_the_tool_time() -> None:
    # A message with nothing to say before a call that gets no acknowledgement: the first words
    # come after the tool round.
    reply = [
        message(1, 10.0, [], 10.5, tools=1, first_tool=("transfer_to_human", 10.4)),
        message(None, 11.0, [("I have ", 11.4), ("Monday, ", 11.5), ("at nine.", 11.6)], 11.7),
    ]
    clause = first_clause(reply)
    assert clause is not None
    assert clause.text == "I have Monday,"
    assert round(clause.llm_ms) == 500 + 500  # 10.0 -> 10.5, then 11.0 -> 11.5; the gap is the platform's
    assert clause.after_tools


def test_an_opener_written_as_a_sentence_of_its_own_is_a_first_clause_from_the_phrase_cache() -> None:
    reply = [message(0, 10.0, [("Okay.", 10.5), (" I can ", 10.52), ("help.", 10.54)], 10.6)]
    clause = first_clause(reply)
    assert clause is not None
    assert (clause.text, clause.written_at, round(clause.llm_ms), clause.cached) == ("Okay.", 10.5, 500, True)
    other = first_clause(
        [message(0, 10.0, [("Okay then, ", 10.5), ("I can ", 10.52), ("help.", 10.54)], 10.6)]
    )
    assert other is not None and not other.cached  # not an opener alone: synthesized


def test_replies_are_grouped_by_call_and_caller_line() -> None:
    a = message(0, 1.0, [], 1.1)
    b = message(None, 1.2, [], 1.3)
    c = message(1, 2.0, [], 2.1)
    other = LlmMessage(tag=5, line=0, arrived_at=1.15, drawn_ms=0.0, tokens=(), ended_at=1.16)
    assert replies_by_turn([c, b, other, a]) == {(4, 0): [a, b], (5, 0): [other], (4, 1): [c]}


def test_vendor_time_adds_stt_llm_and_the_first_synthesis_of_the_clause_after_it_was_written() -> None:
    log = VendorLog(
        stt=[SttFinal(connection=4, index=0, speech_end_at=9.0, sent_at=9.3, drawn_ms=300.0)],
        llm=[message(0, 9.35, [("Hello ", 9.75), ("there. ", 9.8)], 9.9)],
        tts=[
            Synthesis("Hello there.", arrived_at=9.7, drawn_ms=100.0, first_chunk_at=9.8),  # another call's
            Synthesis("Hello there.", arrived_at=9.82, drawn_ms=400.0, first_chunk_at=10.22),
        ],
    )
    [(turn, vendor)] = vendor_times(log, {(4, 0): None}).items()
    assert turn == (4, 0)
    assert (round(vendor.stt_ms), round(vendor.llm_ms), round(vendor.tts_ms)) == (300, 450, 400)
    assert vendor_times(log, {(4, 1): None}) == {}


def test_a_synthesis_of_a_longer_clause_cut_from_a_burst_of_tokens_still_joins() -> None:
    log = VendorLog(
        stt=[SttFinal(connection=4, index=0, speech_end_at=9.0, sent_at=9.3, drawn_ms=300.0)],
        llm=[message(0, 9.35, [("Hi, ", 9.4), ("I have Monday, ", 9.4), ("at nine. ", 9.4)], 9.4)],
        tts=[Synthesis("Hi, I have Monday, at nine.", arrived_at=9.45, drawn_ms=0.0, first_chunk_at=9.46)],
    )
    assert list(vendor_times(log, {(4, 0): None})) == [(4, 0)]


def test_a_reply_begun_at_the_callers_pause_waits_the_pause_not_the_stt() -> None:
    """The LLM was asked before the final came (a guess, kept): the STT is off the path, and the
    end-of-turn pause the guess waited for is on it; an acknowledgement needs no synthesis."""
    log = VendorLog(
        stt=[SttFinal(connection=4, index=1, speech_end_at=9.0, sent_at=9.35, drawn_ms=300.0)],
        llm=[
            message(1, 9.3, [], 9.9, tools=1, first_tool=("get_availability", 9.8)),
            message(None, 10.0, [("I have ", 10.4), ("Monday. ", 10.5)], 10.6),
        ],
    )
    [vendor] = vendor_times(log, {(4, 1): None}).values()
    # The rule's pause as it waits it: whole 32 ms windows of silence.
    assert heard_silence_ms(GUESS_AFTER_MS) == 160.0
    assert vendor.preemptive and (vendor.stt_ms, vendor.pause_ms) == (0.0, 160.0)
    assert (round(vendor.llm_ms), vendor.tts_ms, vendor.after_tools) == (500, 0.0, False)
    assert vendor.total_ms == 160.0 + 500


def test_the_stt_wait_is_the_servers_own_when_it_timed_it() -> None:
    """With the turn model the server counts from the end of speech its voice detector heard,
    which the fake's energy detector cannot see: the server's `stt_final` is the wait then."""
    log = VendorLog(
        stt=[SttFinal(connection=4, index=0, speech_end_at=9.0, sent_at=9.45, drawn_ms=300.0)],
        llm=[message(0, 9.5, [("Hello ", 9.9), ("there. ", 9.95)], 10.0)],
        tts=[Synthesis("Hello there.", arrived_at=9.96, drawn_ms=100.0, first_chunk_at=10.06)],
    )
    [vendor] = vendor_times(log, {(4, 0): 320.0}).values()
    assert (vendor.stt_ms, vendor.pause_ms) == (320.0, 0.0)
    assert (round(vendor.llm_ms), round(vendor.tts_ms)) == (450, 100)
