"""The caller's number of a web call (the dashboard's "talk to your agent"): a placeholder no
phone has, in the unassigned NANP area code 000 (area codes never begin with 0), one per call so
a patient registered during one web call is not the "known caller" of the next. Nothing is ever
texted or called back on it."""

from typing import Final

WEB_CALL_SID_PREFIX: Final = "WEB"
_PLACEHOLDER_PREFIX: Final = "+1000"
_PLACEHOLDER_DIGITS: Final = 7


def web_caller_number(call_sid: str) -> str:
    """The call's placeholder caller number: +1000 and seven digits from its (hex) sid."""
    digits = int(call_sid[len(WEB_CALL_SID_PREFIX) :], 16) % 10**_PLACEHOLDER_DIGITS
    return f"{_PLACEHOLDER_PREFIX}{digits:0{_PLACEHOLDER_DIGITS}d}"


def is_web_caller_number(number: str) -> bool:
    """Whether `number` is a web call's placeholder (no phone answers or reads it)."""
    return (
        number.startswith(_PLACEHOLDER_PREFIX)
        and len(number) == len(_PLACEHOLDER_PREFIX) + _PLACEHOLDER_DIGITS
    )
