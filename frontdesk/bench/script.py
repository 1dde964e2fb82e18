"""What every bench call says, and what the fake speech-to-text hears in it.

The caller books a consultation as the demo clinic's patient John Smith, interrupting the agent's
first question with their name (the call's barge-in), says yes to the slot offered and declines
anything else; the agent then says goodbye and ends the call.

Each line is spoken without commas (piper pauses at a comma for longer than the fake STT's end
of speech) and transcribed with its punctuation. The first transcript of each STT connection is
tagged with the connection's number (`bench caller N`): the fake LLM and the figures tell calls
apart by it, since everything else every call says is the same.
"""

import re
from dataclasses import dataclass
from typing import Final

from frontdesk.caller.script import BargeIn, Say, Step


@dataclass(frozen=True)
class Line:
    """One caller line: the audio's words and the transcript the fake STT sends for it."""

    spoken: str
    transcript: str
    barge_in: bool = False


GREETING_ASK: Final = 0  # asks for a consultation
NAME: Final = 1  # name and date of birth, over the agent's question
ACCEPT: Final = 2  # yes to the offered slot
DONE: Final = 3  # nothing else

LINES: Final = (
    Line(
        "Hi I would like to book a consultation please.", "Hi, I would like to book a consultation, please."
    ),
    Line(
        "My name is John Smith born June fourteenth nineteen seventy five.",
        "My name is John Smith, born June 14th, 1975.",
        barge_in=True,
    ),
    Line("Yes that one works for me.", "Yes, that one works for me."),
    Line("No that is everything thank you.", "No, that is everything, thank you."),
)

PATIENT: Final = {"first_name": "John", "last_name": "Smith", "date_of_birth": "1975-06-14"}
CALLER_NUMBER: Final = "+15550199002"  # John Smith's number in the demo clinic

_TAG: Final = re.compile(r"\(bench caller (\d+)\)")


def caller_steps() -> list[Step]:
    """The caller's steps for `converse`."""
    return [BargeIn(line.spoken) if line.barge_in else Say(line.spoken) for line in LINES]


def transcript(index: int, connection: int) -> str | None:
    """What the fake STT sends for the `index`-th utterance on STT connection `connection`."""
    if index >= len(LINES):
        return None
    text = LINES[index].transcript
    return f"{text} (bench caller {connection})" if index == 0 else text


def tag_of(text: str) -> int | None:
    """The connection number a transcript was tagged with, if any."""
    match = _TAG.search(text)
    return int(match.group(1)) if match else None


def line_of(text: str) -> int | None:
    """Which caller line a transcript is (tag or not), None for words not in the script."""
    for index, line in enumerate(LINES):
        if line.transcript in text:
            return index
    return None
