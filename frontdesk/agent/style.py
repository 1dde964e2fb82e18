"""The receptionist's speaking style, enforced after generation.

Filler openers ("Certainly!", "Absolutely!", "Great question!") are stripped before they
reach speech, whatever the brain wrote. The filter works on a stream: it holds back only the
first few words of a message, until it knows whether they open with filler.
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
# Enough characters to see any opener, or a sentence end, before releasing text.
_HOLD_CHARS = max(len(f) for f in FILLER_OPENERS) + 12


def strip_filler(text: str) -> str:
    """`text` without filler openers, its first remaining letter capitalized."""
    stripped = _OPENER.sub("", text, count=1)
    if stripped != text and stripped:
        stripped = stripped[0].upper() + stripped[1:]
    return stripped


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
        if len(self._held) < _HOLD_CHARS and not re.search(r"[.?!]\s+\w", self._held):
            return ""
        return self._release()

    def flush(self) -> str:
        """Whatever is still held at the end of the message."""
        return "" if self._released else self._release()

    def _release(self) -> str:
        self._released = True
        text, self._held = strip_filler(self._held), ""
        return text
