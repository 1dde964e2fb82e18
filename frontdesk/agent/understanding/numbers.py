"""Spoken numbers as speech-to-text writes them: digits, words, ordinals ("twenty first", "3rd").

Normalizing them first lets the date and time grammar deal with digits only.
"""

import re

_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}  # fmt: skip
_ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19,
}  # fmt: skip
_ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}

_WORD = r"[a-z]+"
_TOKEN = re.compile(r"\d+(?:st|nd|rd|th)?|[a-z]+(?:-[a-z]+)?|[^\sa-z\d]+|\s+")


def _word_value(word: str) -> tuple[int, bool] | None:
    """(value, is_ordinal) of one number word, or None."""
    if word in _UNITS:
        return _UNITS[word], False
    if word in _TENS:
        return _TENS[word], False
    if word in _ORDINAL_UNITS:
        return _ORDINAL_UNITS[word], True
    if word in _ORDINAL_TENS:
        return _ORDINAL_TENS[word], True
    return None


def _compound(words: list[str]) -> tuple[int, bool, int] | None:
    """Parse the longest number at the head of `words`: (value, is_ordinal, words used)."""
    if not words:
        return None
    first = words[0]
    if "-" in first:  # "twenty-one", "twenty-first"
        tens, _, unit = first.partition("-")
        if tens in _TENS and (value := _word_value(unit)) and value[0] < 10:
            return _TENS[tens] + value[0], value[1], 1
        return None
    head = _word_value(first)
    if head is None or first == "oh":
        return None
    value, ordinal = head
    if first in _TENS and len(words) > 1 and (unit := _word_value(words[1])) and 0 < unit[0] < 10:
        return value + unit[0], unit[1], 2
    return value, ordinal, 1


def normalize_numbers(text: str) -> str:
    """Lower-case `text` and write spoken numbers as digits; ordinals keep a suffix.

    "the twenty first at two thirty" -> "the 21st at 2 30"; "3rd" stays "3rd";
    "nineteen eighty eight" -> "19 88" (the date grammar joins year halves).
    """
    tokens = [t for t in _TOKEN.findall(text.lower()) if t]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if re.fullmatch(_WORD + r"(?:-" + _WORD + ")?", token):
            # Collect following words (skipping single spaces) to parse compounds like "twenty one".
            words, positions = [token], [i]
            j = i + 1
            while j + 1 < len(tokens) and tokens[j].isspace() and re.fullmatch(_WORD, tokens[j + 1]):
                words.append(tokens[j + 1])
                positions.append(j + 1)
                j += 2
                if len(words) == 2:
                    break
            parsed = _compound(words)
            if parsed is not None and token == "one" and not _one_is_a_number(out, words):
                parsed = None  # "the first one", "that one": a pronoun, not a number
            if parsed is not None:
                value, ordinal, used = parsed
                out.append(f"{value}{_suffix(value)}" if ordinal else str(value))
                i = positions[used - 1] + 1
                continue
        out.append(token)
        i += 1
    return "".join(out)


_CLOCK_PREPOSITIONS = {"at", "around", "about", "by", "after", "before", "till", "until", "from", "past"}
_CLOCK_FOLLOWERS = {"am", "pm", "a", "p", "o'clock", "oclock", "o", "thirty", "fifteen", "forty", "oh"}


def _one_is_a_number(out: list[str], words: list[str]) -> bool:
    """Whether a spoken "one" is the number (a clock time) rather than a pronoun."""
    previous = next((t for t in reversed(out) if not t.isspace()), "")
    following = words[1] if len(words) > 1 else ""
    return previous in _CLOCK_PREPOSITIONS or following in _CLOCK_FOLLOWERS


def _suffix(value: int) -> str:
    if 10 <= value % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
