"""Cutting the agent's streamed text into clauses: early first clause, sentence ends, titles."""

from frontdesk.realtime.turn.clauses import ClauseStream, clauses_of


def test_a_title_does_not_end_a_sentence() -> None:
    text = "I have 8 AM with Dr. Patel or 9 AM with Mrs. Kim. Which would you prefer?"
    assert clauses_of(text) == [
        "I have 8 AM with Dr. Patel or 9 AM with Mrs. Kim.",
        "Which would you prefer?",
    ]


def test_the_first_clause_goes_at_a_comma_later_ones_at_sentence_ends() -> None:
    stream = ClauseStream()
    assert stream.feed("Of course, Ana, let me") == ["Of course, Ana,"]  # speech starts early
    assert stream.feed(" look at Tuesday, the 24th, for you. Then") == [
        "let me look at Tuesday, the 24th, for you."
    ]
    assert stream.flush() == ["Then"]


def test_a_streamed_sentence_is_released_once_the_space_after_it_arrives() -> None:
    stream = ClauseStream()
    assert stream.feed("Let me check") == []
    assert stream.feed(" that for you.") == []  # the period may yet be "Dr." or "3.5"
    assert stream.feed(" ") == ["Let me check that for you."]  # e.g. the engine's message boundary
    assert stream.feed("I have 9 AM with Dr.") == []
    assert stream.feed(" Patel.") == []
    assert stream.flush() == ["I have 9 AM with Dr. Patel."]


def test_a_title_stays_with_its_name_before_a_pause_too() -> None:
    assert clauses_of("I have 8 AM with Dr. Patel, or 9 AM with Sarah Kim.") == [
        "I have 8 AM with Dr. Patel,",
        "or 9 AM with Sarah Kim.",
    ]


def test_a_ready_phrase_is_released_the_moment_it_is_written() -> None:
    stream = ClauseStream()
    assert stream.feed("Okay") == []
    assert stream.feed(".") == ["Okay."]  # played from the phrase cache: no wait for the space
    assert stream.feed(" I can help") == []
    assert stream.flush() == ["I can help"]
    assert clauses_of("Okay then.") == ["Okay then."]  # more than the phrase: a sentence as any other
