"""Cutting the agent's streamed text into clauses, so speech starts before the reply is written.

The first clause is released as early as a natural pause allows (a comma after a few words),
later ones at sentence ends, so the voice keeps a natural rhythm. A ready phrase ("Okay.") is
released the moment it is written, without waiting for the space after it: it is played from the
phrase cache at once.
"""

import re

from frontdesk.agent.acknowledgements import is_ready_phrase

# A clause ends at sentence punctuation, or at a comma/semicolon/colon/dash once it has enough words.
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
# A period after these ends no sentence: "Dr. Patel" is one name, spoken in one breath.
_ABBREVIATION = re.compile(r"(?:^|\s)(?:dr|mr|mrs|ms|st|jr|sr|prof|mt|ave|vs|approx)\.$", re.IGNORECASE)
_PAUSE = re.compile(r"[,;:\u2014](?=\s)")
FIRST_CLAUSE_MIN_WORDS = 3
CLAUSE_MIN_WORDS = 6


class ClauseStream:
    """Feed text deltas; take complete clauses as soon as they exist."""

    def __init__(self) -> None:
        self._buffer = ""
        self._released = 0

    def feed(self, delta: str) -> list[str]:
        """The clauses completed by this delta (possibly none)."""
        self._buffer += delta
        clauses = []
        while clause := self._next_clause():
            clauses.append(clause)
        return clauses

    def flush(self) -> list[str]:
        """Whatever text remains at the end of the reply."""
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []

    def _next_clause(self) -> str | None:
        min_words = FIRST_CLAUSE_MIN_WORDS if self._released == 0 else CLAUSE_MIN_WORDS
        cut = None
        ends = (m.end() for m in _SENTENCE_END.finditer(self._buffer))
        if (end := next((e for e in ends if not ends_with_title(self._buffer[:e])), None)) is not None:
            cut = end
        elif is_ready_phrase(self._buffer):
            cut = len(self._buffer)
        else:
            for m in _PAUSE.finditer(self._buffer):
                if len(self._buffer[: m.end()].split()) >= min_words:
                    cut = m.end()
                    break
        if cut is None:
            return None
        clause, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
        if not clause:
            return None
        self._released += 1
        return clause


def ends_with_title(text: str) -> bool:
    """Whether `text` ends with an abbreviation such as "Dr." (whose period ends no sentence)."""
    return bool(_ABBREVIATION.search(text))


def clauses_of(text: str) -> list[str]:
    """A whole text cut as the stream would cut it (fixed phrases are cached clause by clause)."""
    stream = ClauseStream()
    return [*stream.feed(text), *stream.flush()]
