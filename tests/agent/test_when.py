"""What callers say about dates and times, and what the fallback brain understands.

The reference moment is Monday 2026-11-23 09:30 in New York, the scenarios' default `now`.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from frontdesk.agent.understanding.numbers import normalize_numbers
from frontdesk.agent.understanding.when import TimePreference, parse_date_of_birth, parse_when

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("America/New_York"))
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def d(day: int, month: int = 11, year: int = 2026) -> date:
    return date(year, month, day)


# (utterance, expected fields); fields not named must be at their defaults.
CASES: list[tuple[str, dict[str, object]]] = [
    ("Next Tuesday morning if you have anything.", {"day": d(1, 12), "part_of_day": "morning"}),
    ("tuesday morning", {"day": d(24), "part_of_day": "morning"}),
    ("this Friday before noon", {"day": d(27), "before": time(12)}),
    ("the 14th", {"day": d(14, 12)}),
    ("on the 30th", {"day": d(30)}),
    ("how about the twenty first", {"day": d(21, 12)}),
    ("tomorrow at 2", {"day": d(24), "at": time(14)}),
    ("tomorrow at two thirty", {"day": d(24), "at": time(14, 30)}),
    ("tomorow at 10am", {"day": d(24), "at": time(10)}),
    ("any time after 3 on Friday", {"day": d(27), "after": time(15), "earliest": True}),
    ("earliest you have", {"earliest": True}),
    ("whatever you have first", {"earliest": True}),
    ("as soon as possible please", {"earliest": True}),
    ("Do you have anything on Wednesday afternoon?", {"day": d(25), "part_of_day": "afternoon"}),
    ("December 3rd at 10 am", {"day": d(3, 12), "at": time(10)}),
    ("the third of December", {"day": d(3, 12)}),
    ("Dec 14 in the morning", {"day": d(14, 12), "part_of_day": "morning"}),
    ("12/14", {"day": d(14, 12)}),
    ("january fifth", {"day": d(5, 1, 2027)}),
    ("sometime next week", {"range": (d(30), d(6, 12))}),
    ("maybe early next week", {"range": (d(30), d(2, 12))}),
    ("later this week", {"range": (d(24), d(29))}),
    ("this weekend", {"range": (d(28), d(29))}),
    ("the week after next", {"range": (d(7, 12), d(13, 12))}),
    ("in two weeks", {"range": (d(7, 12), d(13, 12))}),
    ("in 3 days", {"day": d(26)}),
    ("a week from today", {"day": d(30)}),
    ("day after tomorrow in the afternoon", {"day": d(25), "part_of_day": "afternoon"}),
    ("today if possible", {"day": d(23)}),
    ("this afternoon", {"day": d(23), "part_of_day": "afternoon"}),
    (
        "I can do Tuesdays or Thursdays after four",
        {"range": (d(24), d(14, 12)), "weekdays": {TUE, THU}, "after": time(16)},
    ),
    ("anything but Monday", {"range": (d(24), d(14, 12)), "weekdays": {TUE, WED, THU, FRI, SAT, SUN}}),
    ("half past two on thursday", {"day": d(26), "at": time(14, 30)}),
    ("quarter to ten on friday", {"day": d(27), "at": time(9, 45)}),
    (
        "Can I come in around 10 tomorrow",
        {"day": d(24), "after": time(9, 15), "before": time(10, 46), "around": time(10)},
    ),
    (
        "first thing in the morning on monday",
        {"day": d(30), "part_of_day": "morning", "before": time(10), "earliest": True},
    ),
    ("at 9", {"at": time(9)}),
    ("at 4:30 pm", {"at": time(16, 30)}),
    ("5 o'clock", {"at": time(17)}),
    ("something in the evening", {"part_of_day": "evening"}),
    ("late afternoon works", {"part_of_day": "afternoon", "after": time(15)}),
    ("before 11 on Wednesday", {"day": d(25), "before": time(11)}),
    ("mid December", {"range": (d(10, 12), d(20, 12))}),
    ("next month", {"range": (d(1, 12), d(31, 12))}),
    ("Friday the 4th", {"day": d(4, 12)}),
    # Speech-to-text mishearings of weekday names.
    ("what about Thirsday", {"day": d(26)}),
    ("on twosday at 11", {"day": d(24), "at": time(11)}),
    ("do you have wednesdy", {"day": d(25)}),
    # Nothing about when.
    ("I may need an appointment", {}),
    ("yes the first one", {}),
    ("that one please", {}),
    ("my name is John Smith", {}),
]


@pytest.mark.parametrize(("utterance", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse_when(utterance: str, expected: dict[str, object]) -> None:
    fields = dict(expected)
    if "day" in fields:
        day = fields.pop("day")
        fields["date_from"] = fields["date_to"] = day
    if "range" in fields:
        fields["date_from"], fields["date_to"] = fields.pop("range")  # type: ignore[misc]
    if "weekdays" in fields:
        fields["weekdays"] = frozenset(fields["weekdays"])  # type: ignore[arg-type]
    assert parse_when(utterance, NOW) == TimePreference(**fields)  # type: ignore[arg-type]


def test_preferences_merge_newer_fields_win() -> None:
    week = parse_when("next week", NOW)
    refined = week.merge(parse_when("afternoons", NOW))
    assert (refined.date_from, refined.date_to, refined.part_of_day) == (d(30), d(6, 12), "afternoon")
    moved = refined.merge(parse_when("actually Thursday", NOW))
    assert (moved.date_from, moved.part_of_day) == (d(26), "afternoon")


def test_admits_checks_dates_weekdays_and_window() -> None:
    pref = parse_when("Tuesdays or Thursdays after four", NOW)
    tz = NOW.tzinfo
    assert pref.admits(datetime(2026, 11, 24, 16, 0, tzinfo=tz))
    assert not pref.admits(datetime(2026, 11, 24, 15, 45, tzinfo=tz))
    assert not pref.admits(datetime(2026, 11, 25, 16, 30, tzinfo=tz))  # a Wednesday
    assert parse_when("tomorrow at 2", NOW).admits(datetime(2026, 11, 24, 14, 0, tzinfo=tz))
    assert not parse_when("tomorrow at 2", NOW).admits(datetime(2026, 11, 24, 14, 15, tzinfo=tz))


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [
        ("Ana Lopez, March 3rd 1988.", date(1988, 3, 3)),
        ("3/3/88", date(1988, 3, 3)),
        ("the third of March nineteen eighty eight", date(1988, 3, 3)),
        ("June 14th, 1975", date(1975, 6, 14)),
        ("born on 11-02-1990", date(1990, 11, 2)),
        ("it's the 2nd of november 1990", date(1990, 11, 2)),
        ("december 31 2004", date(2004, 12, 31)),
        ("born March 3rd in 1988", date(1988, 3, 3)),  # as Whisper has written them
        ("born March 3rd-1988.", date(1988, 3, 3)),
        ("february 30th 1980", None),  # no such day
        ("march 3rd 2030", None),  # in the future
        ("I don't remember", None),
    ],
)
def test_parse_date_of_birth(utterance: str, expected: date | None) -> None:
    assert parse_date_of_birth(utterance, date(2026, 11, 23)) == expected


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("the twenty first at two thirty", "the 21st at 2 30"),
        ("twenty-first", "21st"),
        ("at one thirty", "at 1 30"),
        ("that one please", "that one please"),
        ("Seven Forty Five AM", "7 45 am"),
    ],
)
def test_normalize_numbers(spoken: str, written: str) -> None:
    assert normalize_numbers(spoken) == written
