"""The labelled end-of-turn set: what callers say to a dental clinic, complete or with a pause.

A complete case is one sentence, rendered whole. A paused case is a sentence broken where a
caller stops to think: its two parts are rendered separately and joined by `pause_s` of silence,
so the turn must not end in the pause. In half of the paused cases the caller says "um" or "uh"
before pausing; in the other half the first part stops plainly mid-sentence ("My date of birth
is" ... "March third."), which piper speaks with a sentence's falling end: only the words, not
the voice, say it is unfinished there.
"""

from dataclasses import dataclass
from enum import StrEnum


class CaseKind(StrEnum):
    """How a case ends its first part."""

    COMPLETE = "complete"  # no pause: one finished sentence
    FILLER = "filler"  # a pause after "um" / "uh"
    MID_SENTENCE = "mid_sentence"  # a pause mid-sentence, no filler


@dataclass(frozen=True, slots=True)
class EndOfTurnCase:
    """One caller utterance: its parts, spoken with `pause_s` of silence between them."""

    parts: tuple[str, ...]
    pause_s: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= len(self.parts) <= 2 or not all(part.strip() for part in self.parts):
            raise ValueError(f"a case has one or two non-empty parts, got {self.parts!r}")
        if len(self.parts) == 2 and not 0.5 <= self.pause_s <= 1.2:
            raise ValueError(f"a paused case pauses 0.5 to 1.2 s, got {self.pause_s}")
        if len(self.parts) == 1 and self.pause_s:
            raise ValueError("a complete case has no pause")

    @property
    def kind(self) -> CaseKind:
        """Complete, or paused after a filler, or paused mid-sentence."""
        if len(self.parts) == 1:
            return CaseKind.COMPLETE
        last_word = self.parts[0].rstrip(",. ").rsplit(maxsplit=1)[-1].lower()
        return CaseKind.FILLER if last_word in ("um", "uh") else CaseKind.MID_SENTENCE

    @property
    def text(self) -> str:
        """The whole utterance as one line."""
        return " ".join(self.parts)


def _complete(text: str) -> EndOfTurnCase:
    return EndOfTurnCase((text,))


def _paused(first: str, pause_s: float, second: str) -> EndOfTurnCase:
    return EndOfTurnCase((first, second), pause_s)


END_OF_TURN_SET: tuple[EndOfTurnCase, ...] = (
    # Complete: confirmations, answers to the agent's questions, requests.
    _complete("Yes."),
    _complete("No."),
    _complete("Sure."),
    _complete("Yes, that works for me."),
    _complete("Tuesday works."),
    _complete("That's fine."),
    _complete("Okay, thank you."),
    _complete("No, that's everything, thank you."),
    _complete("Yeah, go ahead."),
    _complete("Thanks, bye."),
    _complete("That one, please."),
    _complete("The earlier one, please."),
    _complete("Nine thirty is perfect."),
    _complete("Wednesday at two."),
    _complete("I'd prefer the afternoon."),
    _complete("It's Maria Lopez."),
    _complete("My name is John Smith."),
    _complete("My date of birth is March third, nineteen eighty."),
    _complete("My phone number is five five five, one two three, four five six seven."),
    _complete("My insurance is Delta Dental."),
    _complete("It's for my daughter."),
    _complete("I'd like to book a cleaning."),
    _complete("I need to reschedule my appointment."),
    _complete("I'd like to cancel my appointment on Friday."),
    _complete("I'm calling to confirm my appointment tomorrow."),
    _complete("Can I come in next Monday morning?"),
    _complete("Do you have anything on Thursday afternoon?"),
    _complete("Can I get an appointment this week?"),
    _complete("Is Doctor Patel available next week?"),
    _complete("Could you send me a text confirmation?"),
    _complete("Do you take new patients?"),
    _complete("How much is a whitening?"),
    _complete("I have a toothache on the lower left side."),
    _complete("I think I lost a filling."),
    _complete("My gums have been bleeding when I brush."),
    _complete("I'd like to speak to someone about my bill."),
    # Paused after a filler.
    _paused("I'd like to book, um,", 0.8, "a cleaning."),
    _paused("My date of birth is, uh,", 1.0, "March third, nineteen eighty."),
    _paused("I need to, um,", 0.6, "move my appointment to next week."),
    _paused("Can I come in on, uh,", 1.2, "Thursday afternoon?"),
    _paused("My insurance is, um,", 0.7, "Delta Dental, I think."),
    _paused("The pain is on the, uh,", 0.9, "upper right side."),
    _paused("I was hoping for, um,", 1.1, "something after five."),
    _paused("My name is, uh,", 0.5, "Maria Lopez."),
    _paused("It's about my, um,", 1.0, "crown that came loose."),
    _paused("Could you check, uh,", 0.8, "if Doctor Patel is free on Monday?"),
    _paused("I'd like to cancel, um,", 1.2, "my cleaning on Friday."),
    _paused("The best number is, uh,", 0.6, "five five five, one two three, four five six seven."),
    _paused("I think it was, um,", 0.9, "last Tuesday that I called."),
    _paused("We need appointments for, uh,", 0.7, "me and my two kids."),
    _paused("I'm available, um,", 1.1, "any morning next week."),
    _paused("My last visit was, uh,", 0.5, "about a year ago."),
    _paused("I'd like to ask about, um,", 1.0, "the cost of a root canal."),
    _paused("Can you, uh,", 0.8, "send the confirmation by text?"),
    # Paused mid-sentence, no filler.
    _paused("My date of birth is", 0.9, "March third."),
    _paused("I'd like to book a", 0.7, "cleaning for next week."),
    _paused("I need to reschedule my", 1.1, "appointment on Friday."),
    _paused("My name is", 0.6, "John Smith."),
    _paused("Can I come in on", 1.0, "Tuesday morning?"),
    _paused("The tooth that hurts is on the", 1.2, "lower left."),
    _paused("My insurance provider is", 0.8, "Cigna."),
    _paused("I was wondering if", 0.5, "you have anything this week."),
    _paused("I'd like to see", 0.9, "Doctor Patel if possible."),
    _paused("It started hurting when I", 1.1, "bit into something hard."),
    _paused("My phone number is", 0.7, "five five five, two three four, nine eight seven six."),
    _paused("I'm calling because", 1.0, "I chipped my front tooth."),
    _paused("Could I get an appointment for", 0.6, "my son?"),
    _paused("The appointment I have is on", 1.2, "the twelfth."),
    _paused("I'd prefer something in the", 0.8, "afternoon."),
    _paused("I need to cancel because", 0.5, "I'm going to be out of town."),
    _paused("Do you have anything", 0.9, "after work on Thursday?"),
    _paused("My email address is", 1.0, "john at example dot com."),
)
