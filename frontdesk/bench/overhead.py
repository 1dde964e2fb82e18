"""Platform overhead per turn: the server's voice-to-voice time minus the wait on its path that
is not the platform's: the vendors' time, and the end-of-turn pause of a reply started on a guess.

What a turn's first audio waited for:
- before the reply began: the STT's final (the caller's end of speech -> the final transcript,
  as the server timed it from the end of speech its voice-to-voice counts from); or, for a reply
  started at the caller's pause before the final came (preemptive generation), the pause the
  end-of-turn rule waits before it guesses (`GUESS_AFTER_MS` on the voice detector's 32 ms
  window grid: 160 ms, counted, as the server counts, from the end of speech);
- LLM: each message of the reply until the one that completes the reply's first clause, cut as the
  turn loop cuts it (`ClauseStream` over the messages' text in order, with the space the engine
  streams when a spoken message begins its tool calls): whole messages before it (their tool
  calls then run on the platform, between two messages), then that message's arrival -> the token
  that completed the clause (or the start of its first tool call, for the space). A reply that
  begins with a tool call whose acknowledgement the engine says ("Let me check.") has that as
  its first clause, written when the call's block began; so does a reply whose first sentence is an
  opener ("Okay.");
- TTS: the request for that clause (the turn loop hands TTS one clause per request) -> its first
  chunk; the earliest request for that text (or text beginning the same way) after the clause
  was written. An acknowledgement or an opener comes from the phrase cache: no TTS.

Turns are joined to the fakes' records by the call's tag (its first transcript) and caller line.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from frontdesk.agent.acknowledgements import acknowledgement_for, is_ready_phrase
from frontdesk.bench.vendor_log import LlmMessage, Synthesis, VendorLog
from frontdesk.realtime.audio.vad import heard_silence_ms
from frontdesk.realtime.turn.clauses import ClauseStream
from frontdesk.realtime.turn.end_of_turn import GUESS_AFTER_MS


@dataclass(frozen=True)
class FirstClause:
    """A reply's first clause: its text, when the LLM finished writing it, and the LLM time to it."""

    text: str
    written_at: float
    llm_ms: float
    after_tools: bool  # completed in a later message than the first: a tool round ran on the way
    cached: bool = False  # a ready phrase (acknowledgement, opener), played from the phrase cache


def first_clause(messages: Sequence[LlmMessage]) -> FirstClause | None:
    """The first clause of a reply made of `messages` (in order), as the turn loop would cut it."""
    stream = ClauseStream()
    before_ms = 0.0  # LLM time of the messages already complete
    for number, message in enumerate(messages):
        if message.first_tool is not None and not message.tokens and number == 0:
            tool, began_at = message.first_tool
            if (acknowledgement := acknowledgement_for(tool)) is not None:
                llm_ms = (began_at - message.arrived_at) * 1000
                return FirstClause(acknowledgement, began_at, llm_ms, after_tools=False, cached=True)
        # The engine ends a spoken message's words with a space as its first tool call begins.
        boundary = [(" ", message.first_tool[1])] if message.first_tool and message.tokens else []
        for token, sent_at in [*message.tokens, *boundary]:
            if done := stream.feed(token):
                llm_ms = before_ms + (sent_at - message.arrived_at) * 1000
                cached = is_ready_phrase(done[0])
                return FirstClause(done[0], sent_at, llm_ms, after_tools=number > 0, cached=cached)
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
    """The wait on one turn's path to its first audio that is not the platform's, in ms."""

    stt_ms: float  # 0 for a reply started at the caller's pause (then `pause_ms`)
    llm_ms: float
    tts_ms: float  # 0 for an acknowledgement from the phrase cache
    after_tools: bool  # the first audio waited for a tool round (the platform's tool time is on it)
    pause_ms: float = 0.0  # the end-of-turn pause before a reply started on a guess

    @property
    def preemptive(self) -> bool:
        """Whether the reply began at the caller's pause, before the final transcript."""
        return self.pause_ms > 0

    @property
    def total_ms(self) -> float:
        """All of it."""
        return self.stt_ms + self.pause_ms + self.llm_ms + self.tts_ms


def vendor_times(
    log: VendorLog, turns: Mapping[tuple[int, int], float | None]
) -> dict[tuple[int, int], TurnVendorTime]:
    """The vendor time of each (tag, line) turn that can be joined to the fakes' records. `turns`
    gives each turn's `stt_final` as the server timed it (from the end of speech it counts from,
    which the fake cannot see when the turn model judged it), or None to take the fake's."""
    finals = {(final.connection, final.index): final for final in log.stt}
    replies = replies_by_turn(log.llm)
    clauses = {turn: clause for turn in turns if turn in replies and (clause := first_clause(replies[turn]))}
    syntheses = _Syntheses(log.tts)
    joined: dict[tuple[int, int], TurnVendorTime] = {}
    # Claim syntheses in the order the clauses were written: the earliest writer gets the earliest.
    for turn, clause in sorted(clauses.items(), key=lambda item: item[1].written_at):
        synthesis = None if clause.cached else syntheses.claim(clause.text, clause.written_at)
        if turn not in finals or (synthesis is None and not clause.cached):
            continue
        tts_ms = synthesis.vendor_ms if synthesis is not None else 0.0
        final = finals[turn]
        if replies[turn][0].arrived_at < final.sent_at:  # begun on a guess, before the words
            pause_ms = heard_silence_ms(GUESS_AFTER_MS)
            joined[turn] = TurnVendorTime(0.0, clause.llm_ms, tts_ms, clause.after_tools, pause_ms)
        else:
            stt_ms = final.vendor_ms if (server_stt := turns[turn]) is None else server_stt
            joined[turn] = TurnVendorTime(stt_ms, clause.llm_ms, tts_ms, clause.after_tools)
    return joined
