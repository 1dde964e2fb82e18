"""A call script: one step per line.

    Hi, I'd like to book a cleaning     say this line, then wait for the agent's reply
    barge_in: actually, make it Friday  say it while the agent's reply is still playing
    dtmf: 0                             press a key
    silence: 12                         say nothing for 12 seconds (the agent may prompt)
    hangup                              end the call here

Blank lines and lines starting with # are skipped.
"""

import re
from dataclasses import dataclass
from typing import Final

MAX_SILENCE_SECONDS: Final = 600.0
_DIGIT: Final = re.compile(r"^[0-9*#]$")


@dataclass(frozen=True)
class Say:
    """Speak a line, then wait for the agent's reply to finish."""

    text: str


@dataclass(frozen=True)
class BargeIn:
    """Wait until the agent is speaking, then speak over it."""

    text: str


@dataclass(frozen=True)
class Dtmf:
    """Press a key, then wait for the agent's reply."""

    digit: str


@dataclass(frozen=True)
class Silence:
    """Stay quiet (the line keeps carrying silence) for a while."""

    seconds: float


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Step = Say | BargeIn | Dtmf | Silence | Hangup


class ScriptError(ValueError):
    """A script line that is not a step; the message names the line."""


def parse_step(line: str, where: str = "line") -> Step | None:
    """The step of one script line, None for a blank or comment line; ScriptError when malformed."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    keyword, colon, argument = text.partition(":")
    keyword, argument = keyword.strip().lower(), argument.strip()
    if text.lower() == "hangup":
        return Hangup()
    if not colon or keyword not in {"dtmf", "silence", "barge_in"}:
        return Say(text)
    if keyword == "dtmf":
        if not _DIGIT.fullmatch(argument):
            raise ScriptError(f"{where}: dtmf needs one key of 0-9, * or #, got {argument!r}")
        return Dtmf(argument)
    if keyword == "silence":
        try:
            seconds = float(argument)
        except ValueError:
            raise ScriptError(f"{where}: silence needs a number of seconds, got {argument!r}") from None
        if not 0 < seconds <= MAX_SILENCE_SECONDS:
            raise ScriptError(f"{where}: silence must be within (0, {MAX_SILENCE_SECONDS:g}] seconds")
        return Silence(seconds)
    if not argument:
        raise ScriptError(f"{where}: barge_in needs the text to say")
    return BargeIn(argument)


def parse_script(text: str) -> list[Step]:
    """Every step of a script file's text, in order."""
    steps = [parse_step(line, f"line {number}") for number, line in enumerate(text.splitlines(), start=1)]
    return [step for step in steps if step is not None]
