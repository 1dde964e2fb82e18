"""Platform overhead per turn: the server's voice-to-voice time minus the vendor time on its path.

The vendor time of a turn is what the fakes took on the way to its first audio:
- STT: the caller's end of speech -> the final transcript (the fake's record of that utterance);
- LLM: each message of the reply until the one that completes the reply's first clause, cut as the
  turn loop cuts it (`ClauseStream` over the messages' text in order, with the space the engine
  streams after a spoken message whose tools run next): whole messages before it (their tool
  calls then run on the platform, between two messages), then that message's arrival -> the token
  that completed the clause (or the end of the message, for the space);
- TTS: the request for that clause (the turn loop hands TTS one clause per request) -> its first
  chunk; the earliest request for that text (or text beginning the same way) after the clause
  was written.

Turns are joined to the fakes' records by the call's tag (its first transcript) and caller line.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from frontdesk.bench.vendor_log import LlmMessage, Synthesis, VendorLog
from frontdesk.realtime.turn.clauses import ClauseStream


@dataclass(frozen=True)
class FirstClause:
    """A reply's first clause: its text, when the LLM finished writing it, and the LLM time to it."""

    text: str
    written_at: float
    llm_ms: float
    after_tools: bool  # completed in a later message than the first: a tool round ran on the way


def first_clause(messages: Sequence[LlmMessage]) -> FirstClause | None:
    """The first clause of a reply made of `messages` (in order), as the turn loop would cut it."""
    stream = ClauseStream()
    before_ms = 0.0  # LLM time of the messages already complete
    for number, message in enumerate(messages):
        # The engine ends a spoken message whose tools run next with a space: the clause is cut there.
        boundary = [(" ", message.ended_at)] if message.tools and message.tokens else []
        for token, sent_at in [*message.tokens, *boundary]:
            if done := stream.feed(token):
                llm_ms = before_ms + (sent_at - message.arrived_at) * 1000
                return FirstClause(done[0], sent_at, llm_ms, after_tools=number > 0)
        before_ms += (message.ended_at - message.arrived_at) * 1000
    rest = stream.flush()  # the turn loop speaks what is left once the reply is over
    return FirstClause(rest[0], messages[-1].ended_at, before_ms, len(messages) > 1) if rest else None


def replies_by_turn(messages: Iterable[LlmMessage]) -> dict[tuple[int, int], list[LlmMessage]]:
    """Each call's messages grouped by the caller line they answer: (tag, line) -> messages."""
    replies: dict[tuple[int, int], list[LlmMessage]] = {}
    current: dict[int, list[LlmMessage]] = {}
    for message in sorted(messages, key=lambda m: m.arrived_at):
        if message.tag is None or message.summary:
            continue
        if message.line is not None:
            current[message.tag] = replies.setdefault((message.tag, message.line), [])
        if message.tag in current:
            current[message.tag].append(message)
    return replies


class _Syntheses:
    """Syntheses in arrival order, each claimed by at most one turn."""

    def __init__(self, syntheses: Iterable[Synthesis]) -> None:
        self._unclaimed = sorted(syntheses, key=lambda s: s.arrived_at)

    def claim(self, text: str, after: float) -> Synthesis | None:
        """The earliest synthesis since `after` of `text`, or of text that begins the same way: the
        turn loop cuts a clause where the stream's chunks allow, so when several tokens arrive at
        once its first clause may run on past the one cut token by token here."""
        for index, synthesis in enumerate(self._unclaimed):
            if synthesis.arrived_at >= after and (
                synthesis.text.startswith(text) or text.startswith(synthesis.text)
            ):
                return self._unclaimed.pop(index)
        return None


@dataclass(frozen=True)
class TurnVendorTime:
    """The vendor time on one turn's path to its first audio, in ms."""

    stt_ms: float
    llm_ms: float
    tts_ms: float
    after_tools: bool  # the first audio waited for a tool round (the platform's tool time is on it)

    @property
    def total_ms(self) -> float:
        """All of it."""
        return self.stt_ms + self.llm_ms + self.tts_ms


def vendor_times(log: VendorLog, turns: Iterable[tuple[int, int]]) -> dict[tuple[int, int], TurnVendorTime]:
    """The vendor time of each (tag, line) turn that can be joined to the fakes' records."""
    finals = {(final.connection, final.index): final for final in log.stt}
    replies = replies_by_turn(log.llm)
    clauses = {turn: clause for turn in turns if turn in replies and (clause := first_clause(replies[turn]))}
    syntheses = _Syntheses(log.tts)
    joined: dict[tuple[int, int], TurnVendorTime] = {}
    # Claim syntheses in the order the clauses were written: the earliest writer gets the earliest.
    for turn, clause in sorted(clauses.items(), key=lambda item: item[1].written_at):
        synthesis = syntheses.claim(clause.text, clause.written_at)
        if turn in finals and synthesis is not None:
            joined[turn] = TurnVendorTime(
                finals[turn].vendor_ms, clause.llm_ms, synthesis.vendor_ms, clause.after_tools
            )
    return joined
