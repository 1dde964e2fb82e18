"""The caller's turn as CallerTurns assembles it with the end-of-turn rule, event by event: the
guesses it hands the turn loop for preemptive generation."""

from frontdesk.domain.clinic_settings import EndOfTurnProfile
from frontdesk.realtime.speech.base import TranscriptEvent, TranscriptKind
from frontdesk.realtime.turn.caller_turn import ArrivalClock, CallerTurn, CallerTurns, GuessWithdrawn
from frontdesk.realtime.turn.end_of_turn import END_OF_TURN_POLICIES, CallerPaused

POLICY = END_OF_TURN_POLICIES[EndOfTurnProfile.balanced]


def started() -> TranscriptEvent:
    return TranscriptEvent(TranscriptKind.SPEECH_STARTED)


def interim(text: str) -> TranscriptEvent:
    return TranscriptEvent(TranscriptKind.INTERIM, text, 0.9, 0.0, 1.0)


def final(text: str, end: float) -> TranscriptEvent:
    """Committed words, as the STT answers a Finalize."""
    return TranscriptEvent(TranscriptKind.FINAL, text, 0.95, 0.0, end)


def guesses(turns: list[CallerTurn | GuessWithdrawn]) -> list[str]:
    return [turn.text for turn in turns if isinstance(turn, CallerTurn) and turn.guess]


async def test_words_committed_at_a_pause_replace_the_guess_on_fewer_interim_words() -> None:
    turns: list[CallerTurn | GuessWithdrawn] = []
    caller = CallerTurns(ArrivalClock(), turns.append, POLICY)
    caller.on_transcript(started())
    caller.on_transcript(interim("I'd like to book"))
    caller.on_pause(CallerPaused(1.2))  # the call session asks the STT for its words now
    caller.on_transcript(final("I'd like to book a cleaning.", 1.2))  # before the rule decided

    assert guesses(turns) == ["I'd like to book", "I'd like to book a cleaning."]
    assert all(turn.guess for turn in turns)  # no turn is over until the rule says so
    caller.close()


async def test_committed_words_after_the_caller_went_on_make_no_guess() -> None:
    turns: list[CallerTurn | GuessWithdrawn] = []
    caller = CallerTurns(ArrivalClock(), turns.append, POLICY)
    caller.on_transcript(started())
    caller.on_pause(CallerPaused(0.8))
    caller.on_transcript(started())  # the caller goes on before the words come
    caller.on_transcript(final("I'd like to book", 0.8))

    assert guesses(turns) == []  # they lack what the caller says now
    caller.close()


async def test_words_that_sound_unfinished_make_no_guess() -> None:
    turns: list[CallerTurn | GuessWithdrawn] = []
    caller = CallerTurns(ArrivalClock(), turns.append, POLICY)
    caller.on_transcript(started())
    caller.on_transcript(interim("My date of birth is"))
    caller.on_pause(CallerPaused(1.0))
    caller.on_transcript(final("My date of birth is", 1.0))

    assert guesses(turns) == []  # the turn is held to the long silence: a reply now would be wasted
    caller.close()
