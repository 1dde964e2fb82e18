"""The browser media socket's JSON messages, both ways (the whole protocol: media_stream.py).

Audio travels as binary messages and is not modelled here.
"""

import json
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from frontdesk.realtime.transport import TranscriptLine
from frontdesk.telephony.browser.tickets import MAX_TICKET_CHARS

BROWSER_STREAM_PATH: Final = "/browser/stream"
MAX_MARK_CHARS: Final = 64


class _BrowserMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StartMessage(_BrowserMessage):
    """The first message: the ticket start_browser_call issued."""

    type: Literal["start"]
    ticket: str = Field(min_length=1, max_length=MAX_TICKET_CHARS)


class MarkMessage(_BrowserMessage):
    """The browser has played the agent's audio up to this mark (or dropped it on a clear)."""

    type: Literal["mark"]
    name: str = Field(min_length=1, max_length=MAX_MARK_CHARS)


class DtmfMessage(_BrowserMessage):
    """A key of the page's keypad."""

    type: Literal["dtmf"]
    digit: str = Field(pattern=r"^[0-9*#]$")


class StopMessage(_BrowserMessage):
    """The person hung up."""

    type: Literal["stop"]


BrowserMessage = StartMessage | MarkMessage | DtmfMessage | StopMessage
BROWSER_MESSAGE: Final = TypeAdapter[BrowserMessage](Annotated[BrowserMessage, Field(discriminator="type")])


def _text(message: dict[str, str | bool]) -> str:
    return json.dumps(message, separators=(",", ":"))


def mark_text(name: str) -> str:
    """The mark that follows a chunk of agent audio."""
    return _text({"type": "mark", "name": name})


def clear_text() -> str:
    """Drop the agent audio not yet played (a barge-in)."""
    return _text({"type": "clear"})


def transcript_text(line: TranscriptLine) -> str:
    """A line of the live transcript."""
    return _text({"type": "transcript", "role": line.role.value, "text": line.text, "final": line.final})


def ended_text(reason: str) -> str:
    """The call is over, and why (shown to the person)."""
    return _text({"type": "ended", "reason": reason})
