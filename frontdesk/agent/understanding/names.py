"""The caller's (or the patient's) name in an utterance: "my name is Ana Lopez", "this is John
Smith", "her name is Lily Carter", "Ana Lopez, March 3rd 1988", "Andreas Weber, born ...".

When a caller corrects themselves ("Andrea... no, sorry, Andreas Weber") the last name given wins.
"""

import re

from frontdesk.agent.understanding.when import MONTHS, WEEKDAYS

_NAME_INTRO = re.compile(
    r"\b(?:my name is|my name's|name is|name's|this is|i am|i'm|it's|its|it is|patient is|for|"
    r"under|last name is)\s+([a-z][a-z'\-]+)\s+([a-z][a-z'\-]+)"
)
# "Andreas Weber, born ...", "Tyrone Bell date of birth ...": a full name right before the birth date.
_NAME_BEFORE_BIRTH = re.compile(
    r"\b([a-z][a-z'\-]+) ([a-z][a-z'\-]+) (?:born|date of birth|dob|d o b|birthday|birth date|"
    r"my birthday|and my birthday|and i was born|i was born)\b"
)
_CALENDAR_WORDS = {*MONTHS, *WEEKDAYS, "born", "birthday"}
_BIRTH_DATE_WORDS = {*MONTHS, "born", "birthday"}  # what follows a name given with a birth date
_NOT_NAMES = {
    "calling",
    "looking",
    "trying",
    "wondering",
    "hoping",
    "just",
    "going",
    "not",
    "a",
    "the",
    "an",
    "here",
    "fine",
    "good",
    "sorry",
    "new",
    "still",
    "available",
    "free",
    "interested",
    "booked",
    "scheduled",
    "on",
    "at",
    "in",
    "about",
    "to",
    "really",
    "very",
    "so",
    "having",
    "okay",
    # "I know it's late", "I'm afraid...", "it's my tooth": not introductions.
    "late",
    "early",
    "afraid",
    "sure",
    "me",
    "my",
    "that",
    "this",
    "it",
    "your",
    "kind",
    "urgent",
    "worried",
    "no",
    "wait",
    "with",
    "and",
    "is",
    "was",
    "name",
    "her",
    "his",
    "their",
    "son",
    "daughter",
    "mom",
    "dad",
    "wife",
    "husband",
    "patient",
    "hi",
    "hello",
    "yes",
    "yeah",
    "um",
    "uh",
}


def extract_name(utterance: str) -> tuple[str, str] | None:
    """(first, last) the utterance gives as a name; the last one given when it gives several."""
    text = re.sub(r"[^\w'\- ]+", " ", utterance.lower())
    text = re.sub(r"\s+", " ", text).strip()
    found: list[tuple[int, str, str]] = []
    for pattern, not_last in ((_NAME_INTRO, _NOT_NAMES), (_NAME_BEFORE_BIRTH, _NOT_NAMES | _CALENDAR_WORDS)):
        for m in pattern.finditer(text):
            first, last = m.group(1), m.group(2)
            if first not in _NOT_NAMES and last not in not_last:
                found.append((m.start(1), first, last))
    # "Ana Lopez, March 3rd 1988": two leading words before a date of birth.
    if m := re.match(r"^(?:yes |yeah |sure |ok |okay |um |uh )*([a-z][a-z'\-]+) ([a-z][a-z'\-]+)\b", text):
        rest = text[m.end() :]
        first, last = m.group(1), m.group(2)
        # "Hanalopas, March 3rd": a misheard name then the birth date's month is not a full name.
        if (
            first not in _NOT_NAMES | _FILLERS
            and last not in _NOT_NAMES | _FILLERS | _CALENDAR_WORDS
            and (re.search(r"\d", rest) or _BIRTH_DATE_WORDS.intersection(rest.split()))
        ):
            found.append((m.start(1), first, last))
    if not found:
        return None
    _, first, last = max(found)
    return first.title(), last.title()


_FILLERS = frozenset({"my", "name", "is", "hi", "hello", "uh", "um", "this", "i", "i'd", "we", "you"})
