"""Patient data found by value in log lines, replaced by a typed placeholder.

`frontdesk.logs` hashes values under keys that name patient data; this module catches the same
data wherever else it turns up: in a message, in a field under any key, in an exception's text
(a vendor's error body, an httpx error's URL, `repr` of an exception), in a stack. Each finding
becomes `[kind h:0123456789]`, the kind and `fingerprint` of what it replaced, so lines about the
same caller still correlate:

- phone numbers: E.164 (+15550199001, URL-encoded %2B15550199001, +44 20 7946 0958), US forms
  with separators ((555) 019-9001, 555-019-9001, 555.019.9001, 1 555 019 9001) and bare runs of
  10 or 11 digits that could be a US number. A run that touches letters, digits or a decimal
  point is part of something else (a call sid, a UUID, a float) and is left alone.
- email addresses, also URL-encoded (%40).
- dates that could be a date of birth: a date alone, in ISO (1988-03-03), numeric (3/3/1988,
  03-03-1988, 3/3/88) or in words with its year (March 3rd, 1988; 3 March 1988). A birth date
  cannot be told from another date, so every date alone goes. Three kinds stay: a date with its
  time of day (2024-06-01T12:00:00Z, a line's timestamp, an appointment's start, an HTTP Date
  header) is an event; a day without its year ("Tuesday, March 3rd") is how the agent speaks of
  appointments; an ISO date that is a folder of a URL is an API's version (Twilio's /2010-04-01/).
- the names a call has learned: `remember_names` adds them to the current context's set (the
  call's, which `known_names` opens), and every later line logged in that context, by the call's
  tasks and the threads they hand work to (asyncio.to_thread copies the context), has them
  redacted, whatever their case. The names themselves are never logged.

Temporal's workflow code and a thread started without the context (piper's) see no names, only
the patterns above.
"""

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Fields that never carry patient data (the line's own timestamp, level and logger), and
# structlog's bookkeeping (`_record`, `_from_structlog`): skipped, for speed and to keep types.
_SKIPPED_KEYS = frozenset({"timestamp", "level", "logger"})
# Values that are left as they are: numbers are counts, latencies and ids, never a number as text.
_PLAIN_TYPES = (bool, int, float, type(None))

# Case is ignored only where words are matched: a pattern that ignores case everywhere is slower.
_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?i:st|nd|rd|th)?"
_YEAR = r"(?:1[89]|20)\d{2}"
# What follows a date that is an event: its time of day (an HTTP Date header, an appointment).
_NO_TIME = r"(?!,?\s+(?:at\s+)?\d{1,2}:\d{2})"
# One pass finds every kind; the first alternative that matches at a position wins, so what must
# stay (timestamps, fingerprints already in the line) is matched first and given back unchanged.
_FINDINGS = re.compile(
    rf"""
    (?P<keep>
        # a timestamp: a date with its time of day
        \d{{4}}-\d{{2}}-\d{{2}}[T\ ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:[.,]\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?
        # a fingerprint, whose ten hex digits may all be digits
      | (?<!\w)h:[0-9a-f]{{10}}(?![0-9a-f])
    )
  | (?P<email>
        (?<![\w.+%-])[A-Za-z0-9][\w.+-]*(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,}}(?![\w-])
    )
  | (?P<date>
        # in words, with its year: March 3rd, 1988; 3 March 1988; the 3rd of March, 1988
        (?<!\w)(?:{_MONTH}\s+{_DAY},?\s+|{_DAY}\s+(?i:of\s+)?{_MONTH},?\s+){_YEAR}(?!\w){_NO_TIME}
        # numeric: 3/3/1988, 03-03-1988, 3.3.1988, 3/3/88
      | (?<![\w./-])\d{{1,2}}(?P<sep>[/.-])\d{{1,2}}(?P=sep){_YEAR}(?!\w|[./-]\d){_NO_TIME}
      | (?<![\w./-])\d{{1,2}}/\d{{1,2}}/\d{{2}}(?!\w|[./-]\d){_NO_TIME}
        # ISO, unless it is a folder of a URL (Twilio's /2010-04-01/ is its API's version)
      | (?<!\w){_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\w|[.-]\d|/){_NO_TIME}
    )
  | (?P<phone>
        # E.164, also URL-encoded, its digits maybe grouped: +15550199001, +44 20 7946 0958
        (?<![\w+%])(?:\+|%2[Bb])[1-9](?:[\ .-]?\d){{6,14}}(?!\w|[.-]\d)
        # US with separators: (555) 019-9001, 555-019-9001, 555.019.9001, +1 555 019 9001
      | (?<![\w+.-])(?:(?:\+|%2[Bb])?1[\ .-]?)?(?:\(\d{{3}}\)\ ?|\d{{3}}[\ .-])
        \d{{3}}[\ .-]\d{{4}}(?!\w|[.-]\d)
        # a bare US number: 10 digits (an area code starts 2-9), or 11 starting with 1
      | (?<![\w+.])1?[2-9]\d{{9}}(?!\w|\.\d)
    )
    """,
    re.VERBOSE,
)
# Every finding holds a digit or an @: a string with neither is skipped without the full scan.
_MAY_HOLD_FINDINGS = re.compile(r"[\d@]")


# Fingerprints are keyed: a bare hash of a phone number or a date of birth is undone by trying
# every one. Until configure_logging sets the key every process shares, they correlate within one
# process only.
_fingerprint_key = secrets.token_bytes(32)


def set_fingerprint_key(secret: str) -> None:
    """Key fingerprints with `secret` (settings.secret_key), the same in every process."""
    global _fingerprint_key
    _fingerprint_key = hmac.new(secret.encode(), b"frontdesk log fingerprints", hashlib.sha256).digest()


def fingerprint(value: object) -> str:
    """A short stable keyed hash of a sensitive value, for correlating log lines."""
    return "h:" + hmac.new(_fingerprint_key, str(value).encode(), hashlib.sha256).hexdigest()[:10]


def _phone_key(found: str) -> str:
    """The number in E.164, so each way of writing it hashes alike (and like a `phone=` field)."""
    digits = re.sub(r"\D", "", re.sub("%2[Bb]", "", found))
    return "+" + ("1" + digits if len(digits) == 10 else digits)


def _replace(match: re.Match[str]) -> str:
    kind, found = match.lastgroup, match.group()
    if kind == "keep":
        return found
    if kind == "phone":
        return f"[phone {fingerprint(_phone_key(found))}]"
    if kind == "email":
        return f"[email {fingerprint(found.replace('%40', '@').lower())}]"
    return f"[date {fingerprint(found)}]"


def _replace_name(match: re.Match[str]) -> str:
    return f"[name {fingerprint(' '.join(match.group().casefold().split()))}]"


class _KnownNames:
    """The names one call has learned, as the pattern that finds them (replaced whole when a name
    is added, so a thread logging meanwhile reads the old pattern or the new, never half of one)."""

    def __init__(self, names: frozenset[str] = frozenset()) -> None:
        self.names = names
        self.pattern = _names_pattern(names)
        self._lock = threading.Lock()

    def add(self, names: set[str]) -> None:
        with self._lock:
            if names <= self.names:
                return
            self.names = self.names | names
            self.pattern = _names_pattern(self.names)


def _names_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    if not names:
        return None
    # Longest first: "ana lopez" is one finding, not two.
    words = [r"\s+".join(map(re.escape, name.split())) for name in sorted(names, key=len, reverse=True)]
    return re.compile(rf"(?<!\w)(?:{'|'.join(words)})(?!\w)", re.IGNORECASE)


_KNOWN_NAMES: ContextVar[_KnownNames | None] = ContextVar("frontdesk_known_names", default=None)


@contextmanager
def known_names() -> Iterator[None]:
    """Open the set of names of one call (starting with the enclosing one's): a name remembered
    inside the block, by it, its tasks or the threads they hand work to, is redacted from every
    line logged inside the block from then on."""
    outer = _KNOWN_NAMES.get()
    token = _KNOWN_NAMES.set(_KnownNames(outer.names if outer else frozenset()))
    try:
        yield
    finally:
        _KNOWN_NAMES.reset(token)


def remember_names(*names: str | None) -> None:
    """Redact these names (a first name, a last name: each, and the two together) from every later
    line logged in this context: the call's, when `known_names` opened one; else a set opened here
    (a Temporal activity runs in a context of its own, which ends with it)."""
    parts = [part for part in (" ".join(name.split()).casefold() for name in names if name) if part]
    # A single letter is an initial, not a name (redacting it would eat every "a" of the call's
    # lines); two letters are a name (Li, Wu, Ng), however often they also spell a word.
    learned = {part for part in parts if len(part) > 1}
    if len(parts) > 1:
        learned.add(" ".join(parts))
    if not learned:
        return
    known = _KNOWN_NAMES.get()
    if known is None:
        known = _KnownNames()
        _KNOWN_NAMES.set(known)
    known.add(learned)


def _known_pattern() -> re.Pattern[str] | None:
    known = _KNOWN_NAMES.get()
    return known.pattern if known else None


def _redact_text(text: str, names: re.Pattern[str] | None) -> str:
    if _MAY_HOLD_FINDINGS.search(text):
        text = _FINDINGS.sub(_replace, text)
    if names is not None:
        text = names.sub(_replace_name, text)
    return text


def _redacted(value: Any, names: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        return _redact_text(value, names)
    if isinstance(value, _PLAIN_TYPES):
        return value
    if isinstance(value, dict):
        return {_redacted(k, names): _redacted(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_redacted(item, names) for item in value]
        return items if isinstance(value, list) else tuple(items)
    # Anything else is written as its repr (an exception, a date, a UUID): kept as the object when
    # neither its str nor its repr holds patient data, else replaced by the redacted text.
    for text in (str(value), repr(value)):
        redacted = _redact_text(text, names)
        if redacted != text:
            return redacted
    return value


def redact_values(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: redact patient data by value in every field of the line (run it after
    the exception and the stack are rendered into text)."""
    names = _known_pattern()  # once a line, not once a field
    for key, value in event_dict.items():
        if key not in _SKIPPED_KEYS and not key.startswith("_"):
            event_dict[key] = _redacted(value, names)
    return event_dict
