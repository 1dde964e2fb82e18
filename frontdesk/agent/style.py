"""The receptionist's speaking style, enforced after generation.

Filler openers ("Certainly!", "Absolutely!", "Great question!") are stripped before they
reach speech, whatever the brain wrote. The filter works on a stream: it holds back a message's
first characters only while they could still be filler ("I" could become "I'd be happy to
help"; "I can" cannot), so a reply that opens with no filler is spoken without waiting.
"""

import re

FILLER_OPENERS = (
    "certainly",
    "absolutely",
    "of course",
    "sure thing",
    "great question",
    "good question",
    "no problem",
    "no worries",
    "i'd be happy to help",
    "i would be happy to help",
    "i'd be glad to help",
    "happy to help",
    "definitely",
    "wonderful",
    "fantastic",
    "awesome",
    "perfect",
    "great",
    "excellent",
    "sure",
)
_OPENER = re.compile(
    r"^\s*(?:(?:"
    + "|".join(re.escape(f) for f in FILLER_OPENERS)
    + r")\b(?:\s+with that)?\s*[!.,;:\u2014-]*\s*)+",
    re.IGNORECASE,
)
_OPENER_FORMS = tuple(form for f in FILLER_OPENERS for form in (f"{f} with that", f))
_BETWEEN_OPENERS = " \t\n!.,;:\u2014-"


def strip_filler(text: str) -> str:
    """`text` without filler openers, its first remaining letter capitalized."""
    stripped = _OPENER.sub("", text, count=1)
    if stripped != text and stripped:
        stripped = stripped[0].upper() + stripped[1:]
    return stripped


def could_be_filler(text: str) -> bool:
    """Whether `text` is all filler so far, or the start of it: more text may still make every
    word of it an opener that `strip_filler` removes."""
    rest = text.lower().lstrip(_BETWEEN_OPENERS)
    if not rest:
        return True
    for form in _OPENER_FORMS:
        if form.startswith(rest):
            return True
        after = rest[len(form) :]
        # A whole opener, then a word boundary (as the pattern's \b): what follows may be more.
        if rest.startswith(form) and not after[:1].isalnum() and after[:1] not in ("_", "'"):
            if could_be_filler(after):
                return True
    return False


class FillerFilter:
    """Streaming version of `strip_filler` for one agent message."""

    def __init__(self) -> None:
        self._held = ""
        self._released = False

    def feed(self, delta: str) -> str:
        """Text that is safe to speak now."""
        if self._released:
            return delta
        self._held += delta
        if could_be_filler(self._held):
            return ""
        return self._release()

    def flush(self) -> str:
        """Whatever is still held at the end of the message."""
        return "" if self._released else self._release()

    def _release(self) -> str:
        self._released = True
        text, self._held = strip_filler(self._held), ""
        return text
