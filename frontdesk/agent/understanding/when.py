"""What a caller means by "next Tuesday morning", "the 14th", "tomorrow at 2", "after 3 on Friday".

`parse_when` turns an utterance into a `TimePreference`: a range of clinic-local dates plus a
time-of-day window, which the availability tool searches. Speech-to-text errors are tolerated by
fuzzy-matching weekday and month names, and spoken numbers are normalized first.
"""

import difflib
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Literal

from frontdesk.agent.understanding.numbers import normalize_numbers

PartOfDay = Literal["morning", "afternoon", "evening"]

PARTS_OF_DAY: dict[PartOfDay, tuple[time, time]] = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(23, 59)),
}

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_ABBREVIATIONS = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "weds": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH_ABBREVIATIONS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# Words speech-to-text tends to produce for weekdays; fuzzy matching catches the rest.
_WEEKDAY_MISHEARINGS = {
    "tuesdays": 1,
    "twosday": 1,
    "chooseday": 1,
    "wednesdays": 2,
    "thirsday": 3,
    "fryday": 4,
    "mondays": 0,
    "thursdays": 3,
    "fridays": 4,
}
# Words that are close to a weekday or month name but mean something else.
_NOT_CALENDAR_WORDS = {"mayday", "maybe", "marched", "monkey", "sundae", "sunday's", "may", "march"}

_EARLIEST = re.compile(
    r"\b(earliest|soonest|as soon as (possible|you can)|asap|a s a p|(?:first|1st) (available|opening|thing)|"
    r"next (available|opening)|whatever you have (?:first|1st)|any ?time|whenever)\b"
)


@dataclass(frozen=True)
class TimePreference:
    """A caller's wish about when: clinic-local dates and a time-of-day window.

    Every field is optional; `merge` lets a later utterance refine an earlier one
    ("next week" then "Thursday afternoon").
    """

    date_from: date | None = None
    date_to: date | None = None  # inclusive
    weekdays: frozenset[int] | None = None  # e.g. "any Tuesday"
    part_of_day: PartOfDay | None = None
    after: time | None = None
    before: time | None = None
    at: time | None = None  # a specific time ("tomorrow at 2")
    around: time | None = None  # "around 10": the window after..before is centred on it
    earliest: bool = False

    @property
    def is_empty(self) -> bool:
        """True when the utterance said nothing about when."""
        return self == TimePreference()

    @property
    def day(self) -> date | None:
        """The one date wished for, when the wish is a single day."""
        return self.date_from if self.date_from is not None and self.date_from == self.date_to else None

    def merge(self, newer: "TimePreference") -> "TimePreference":
        """This preference refined by a newer one; the newer one's fields win where set.

        A newer date replaces the old date range, and a newer time window replaces the old one.
        """
        merged = self
        if newer.date_from is not None or newer.weekdays is not None:
            merged = replace(
                merged, date_from=newer.date_from, date_to=newer.date_to, weekdays=newer.weekdays
            )
        clock = merged.at or merged.around
        only_part = newer.part_of_day and not (newer.after or newer.before or newer.at)
        if only_part and clock is not None and _in_part(clock, newer.part_of_day):
            pass  # "at ten... I can drive him that morning": the time said stands
        elif newer.part_of_day or newer.after or newer.before or newer.at:
            merged = replace(
                merged,
                part_of_day=newer.part_of_day,
                after=newer.after,
                before=newer.before,
                at=newer.at,
                around=newer.around,
            )
        if newer.earliest:
            merged = replace(merged, earliest=True)
        return merged

    def time_window(self) -> tuple[time, time]:
        """The wall-clock window a slot's start must fall in (inclusive start, exclusive end)."""
        start, end = PARTS_OF_DAY[self.part_of_day] if self.part_of_day else (time(0, 0), time(23, 59))
        if self.after is not None:
            start = max(start, self.after)
        if self.before is not None:
            end = min(end, self.before)
        if self.at is not None:
            start, end = self.at, (datetime.combine(date.min, self.at) + timedelta(minutes=1)).time()
        return start, end

    def admits(self, local_start: datetime) -> bool:
        """Whether a slot starting at this clinic-local time satisfies the preference."""
        day = local_start.date()
        if self.date_from is not None and day < self.date_from:
            return False
        if self.date_to is not None and day > self.date_to:
            return False
        if self.weekdays is not None and day.weekday() not in self.weekdays:
            return False
        start, end = self.time_window()
        return start <= local_start.time().replace(second=0, microsecond=0) < end


def _in_part(clock: time, part: PartOfDay | None) -> bool:
    start, end = PARTS_OF_DAY[part] if part else (time(0, 0), time(23, 59))
    return start <= clock < end


def _fuzzy(word: str, choices: list[str], cutoff: float) -> int | None:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return choices.index(match[0]) if match else None


def weekday_of(word: str) -> int | None:
    """The weekday index (Monday 0) a word names, tolerating plurals and mishearings."""
    if word in _NOT_CALENDAR_WORDS:
        return None
    if word in WEEKDAYS:
        return WEEKDAYS.index(word)
    if word in _WEEKDAY_ABBREVIATIONS:
        return _WEEKDAY_ABBREVIATIONS[word]
    if word in _WEEKDAY_MISHEARINGS:
        return _WEEKDAY_MISHEARINGS[word]
    if len(word) >= 5 and word.endswith(("day", "days", "dey", "dy", "dai")):
        return _fuzzy(word.rstrip("s"), WEEKDAYS, 0.75)
    return None


def month_of(word: str, *, strict: bool = False) -> int | None:
    """The month number a word names (abbreviations and close mishearings included)."""
    if word in MONTHS:
        return MONTHS.index(word) + 1
    if word in _MONTH_ABBREVIATIONS:
        return _MONTH_ABBREVIATIONS[word]
    if strict or word in _NOT_CALENDAR_WORDS or len(word) < 5:
        return None
    index = _fuzzy(word, MONTHS, 0.8)
    return None if index is None else index + 1


_NEGATIONS = frozenset({"not", "no", "nothing", "can't", "cannot", "except", "never", "won't"})
# "Anything but Monday" excludes Monday; "next week works, but Tuesday would be ideal" does not.
_ALL_BUT = frozenset({"anything", "everything", "day", "anytime", "time", "all", "whenever"})
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"


def _next_weekday(today: date, weekday: int, *, include_today: bool = False) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _month_day(today: date, month: int, day: int, year: int | None = None) -> date | None:
    """The date with that month and day: in `year`, or the next one not in the past."""
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _day_of_month(today: date, day: int) -> date | None:
    """ "The 14th": this month's if still ahead, else next month's."""
    for offset in range(0, 3):
        month = (today.month - 1 + offset) % 12 + 1
        year = today.year + (today.month - 1 + offset) // 12
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _hour_clock(hour: int, minute: int, meridiem: str | None, *, default_pm_below: int = 7) -> time | None:
    """A clock time, guessing am/pm as a clinic would: "at 2" is 2 pm, "at 9" is 9 am."""
    if not (0 <= minute < 60) or not (0 <= hour <= 23):
        return None
    if meridiem:
        if hour > 12:
            return None
        if meridiem.startswith("p") and hour != 12:
            hour += 12
        elif meridiem.startswith("a") and hour == 12:
            hour = 0
    elif 1 <= hour < default_pm_below:
        hour += 12
    return time(hour, minute)


_MERIDIEM = r"\s*(a\.?\s?m\.?|p\.?\s?m\.?|in the morning|in the afternoon|in the evening|at night)?"
_CLOCK = r"(\d{1,2})(?:(?::|\s)(\d{2}))?" + _MERIDIEM
# "Throbbing for 3 days", "about 2 weeks": a count of something, no clock time.
_NO_UNIT = (
    r"(?!\d)(?!\s*(days?|nights?|weeks?|months?|years?|hours?|minutes?|mins?|times|teeth|people|kids|of|"
    r"appointments?|patients|visits)\b)"
)
# A clock time said without "at": it needs minutes or am/pm to be told from other numbers.
_BARE_CLOCKS = (
    re.compile(r"\b(\d{1,2}):(\d{2})" + _MERIDIEM),
    re.compile(
        r"\b(\d{1,2})()\s*(a\.?\s?m\.?|p\.?\s?m\.?|in the morning|in the afternoon|in the evening)(?=\W|$)"
    ),
    re.compile(r"\b(\d{1,2})()\s*(?:o'clock|oclock)()"),
)


def _meridiem_token(raw: str | None) -> str | None:
    if not raw:
        return None
    raw = raw.replace(".", "").replace(" ", "")
    if raw.startswith("a") or raw == "inthemorning":
        return "am"
    return "pm"


def _clock_from_match(match: re.Match[str]) -> time | None:
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    return _hour_clock(hour, minute, _meridiem_token(match.group(3)))


def _time_words(text: str) -> str:
    """Rewrite spoken clock idioms into digits: "half past 2" -> "2:30", "noon" -> "12:00 pm"."""
    text = re.sub(r"\b(noon|midday|lunch ?time)\b", "12:00 pm", text)
    text = re.sub(r"\bhalf (?:past|after) (\d{1,2})\b", r"\1:30", text)
    text = re.sub(r"\bhalf (\d{1,2})\b(?!:)", r"\1:30", text)  # "half eight": 8:30, as said in Britain
    text = re.sub(r"\b(?:a )?quarter (?:past|after) (\d{1,2})\b", r"\1:15", text)
    text = re.sub(r"\b(?:a )?quarter (?:to|till|of) (\d{1,2})\b", lambda m: f"{int(m.group(1)) - 1}:45", text)
    text = re.sub(r"\b(\d{1,2}) o'? ?clock\b", r"\1:00", text)
    text = re.sub(r"\b(\d{1,2}) (15|30|45|00|05|10|20|40|50)\b", r"\1:\2", text)  # "2 30" -> "2:30"
    return text


def _dates(text: str, today: date) -> TimePreference:
    """The date part of an utterance."""
    words = re.findall(r"[a-z']+", text)
    # "in two weeks", "in 3 days", "a week from today" (before "today", which they contain).
    if m := re.search(r"\b(?:(\d+)|an?) (day|week)s? from (?:now|today)\b", text):
        day = today + (timedelta(days=1) if m.group(2) == "day" else timedelta(weeks=1)) * int(
            m.group(1) or 1
        )
        return TimePreference(date_from=day, date_to=day)
    if m := re.search(r"\bin (?:(\d+)|an?|a couple(?: of)?) (day|week|month)s?\b", text):
        count = int(m.group(1) or (2 if "couple" in m.group(0) else 1))
        unit = m.group(2)
        if unit == "day":
            day = today + timedelta(days=count)
            return TimePreference(date_from=day, date_to=day)
        if unit == "week":
            start = today + timedelta(weeks=count)
            start -= timedelta(days=start.weekday())
            return TimePreference(date_from=max(start, today), date_to=start + timedelta(days=6))
        start = _add_months(today, count)
        return TimePreference(date_from=start, date_to=start + timedelta(days=13))
    if re.search(r"\b(today|this afternoon|this morning|tonight|this evening)\b", text):
        return TimePreference(date_from=today, date_to=today)
    if re.search(r"\bday after tomorrow\b", text):
        day = today + timedelta(days=2)
        return TimePreference(date_from=day, date_to=day)
    if re.search(r"\b(tomorrow|tomorow|tmrw|tomorrows)\b", text):
        day = today + timedelta(days=1)
        return TimePreference(date_from=day, date_to=day)

    # Explicit calendar dates: "december 3rd", "3rd of december", "12/14", "the 14th".
    for index, word in enumerate(words):
        month = month_of(word, strict=word in ("may", "march"))
        if month is None:
            continue
        after = " ".join(words[index + 1 : index + 3])
        before = " ".join(words[max(0, index - 3) : index])
        day_match = re.match(r"(?:the )?(\d{1,2})(?:st|nd|rd|th)?\b", _after_word(text, word))
        if day_match is None:
            day_match = re.search(r"(?:the )?" + _DAY + r" of$", _before_word(text, word))
        if day_match is not None and (day := _month_day(today, month, int(day_match.group(1)))):
            return TimePreference(date_from=day, date_to=day)
        if word in ("may", "march") and not re.search(
            r"\b(in|of|early|late|mid|end)\b", before + " " + after
        ):
            continue  # "may" is usually the verb
        start = _month_day(today, month, 1) or today
        if (start.month == today.month and start.year == today.year) or start < today:
            start = today
        end = _month_day(start, month, _days_in_month(start.year, month), start.year) or start
        return _partial_month(TimePreference(date_from=start, date_to=end), text)

    if m := re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", text):
        year = int(m.group(3)) if m.group(3) else None
        if year is not None and year < 100:
            year += 2000
        if day := _month_day(today, int(m.group(1)), int(m.group(2)), year):
            return TimePreference(date_from=day, date_to=day)

    ordinal = re.search(
        r"\b(?:the|on) " + _ORDINAL + r"(?! (?:one|option|slot|time|thing|available|opening))\b", text
    )
    if ordinal is None and (alone := re.fullmatch(r"(?:on )?" + _ORDINAL + r"(?: please)?", text)):
        ordinal = alone
    if ordinal is not None:
        if day := _day_of_month(today, int(ordinal.group(1))):
            return TimePreference(date_from=day, date_to=day)

    weekday_pref = _weekdays(text, words, today)
    if weekday_pref is not None:
        return weekday_pref
    return _weeks(text, today)


def _after_word(text: str, word: str) -> str:
    position = re.search(r"\b" + re.escape(word) + r"\b", text)
    return text[position.end() :].strip() if position else ""


def _before_word(text: str, word: str) -> str:
    position = re.search(r"\b" + re.escape(word) + r"\b", text)
    return text[: position.start()].strip() if position else ""


def _days_in_month(year: int, month: int) -> int:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def _partial_month(pref: TimePreference, text: str) -> TimePreference:
    """Narrow a month to its early, middle or late part when the caller said so."""
    assert pref.date_from is not None and pref.date_to is not None
    first = pref.date_from.replace(day=1)
    if re.search(r"\b(early|beginning of|start of)\b", text):
        window = (first, first.replace(day=10))
    elif re.search(r"\b(mid|middle of)\b", text):
        window = (first.replace(day=10), first.replace(day=20))
    elif re.search(r"\b(late|end of)\b", text):
        window = (first.replace(day=20), pref.date_to)
    else:
        return pref
    start = max(window[0], pref.date_from)
    return TimePreference(date_from=start, date_to=max(start, window[1]))


def _weekdays(text: str, words: list[str], today: date) -> TimePreference | None:
    """ "Tuesday", "next Tuesday", "this Friday", "Tuesday or Thursday", "any Tuesday"."""
    found = [(i, w, d) for i, w in enumerate(words) if (d := weekday_of(w)) is not None]
    # "not Monday", "anything but Monday"; "no" only right before the day ("no Mondays"): in "no, I
    # said Thursday" it answers the agent.
    excluded = {
        d
        for i, _, d in found
        if (_NEGATIONS - {"no"}).intersection(words[max(0, i - 3) : i])
        or (i and words[i - 1] == "no")
        or (i >= 2 and words[i - 1] == "but" and words[i - 2] in _ALL_BUT)
    }
    found = [item for item in found if item[2] not in excluded]
    if excluded and not found:
        # "anything but Monday": the coming three weeks without those days.
        start = today + timedelta(days=1)
        allowed = frozenset(range(7)) - excluded
        return TimePreference(date_from=start, date_to=start + timedelta(days=20), weekdays=allowed)
    if not found:
        return None
    days = [d for _, _, d in found]
    index, word, _ = found[0]
    previous = words[index - 1] if index else ""
    plural_or_any = word.endswith("days") or previous in ("any", "every", "a")
    if len(set(days)) > 1 or plural_or_any:
        # Several weekdays, or "any Tuesday": each of them within the next few weeks.
        start = today + timedelta(days=1)
        if re.search(r"\bnext week\b", text):
            start = _next_weekday(today, 0)
        return TimePreference(date_from=start, date_to=start + timedelta(days=20), weekdays=frozenset(days))
    weekday = days[0]
    include_today = previous == "this" and weekday == today.weekday()
    day = _next_weekday(today, weekday, include_today=include_today)
    if previous == "next" and re.search(r"\bnext week\b", text) is None and day - today <= timedelta(days=1):
        # "next Tuesday" said on Monday: a receptionist hears the Tuesday of next week.
        day += timedelta(days=7)
    if re.search(r"\b(week after next|following week|after next|a week from)\b", text):
        day += timedelta(days=7)
    elif re.search(r"\bnext week\b", text) and day < _next_weekday(today, 0):
        day += timedelta(days=7)
    return TimePreference(date_from=day, date_to=day)


def _weeks(text: str, today: date) -> TimePreference:
    """ "this week", "next week", "the week after next", "this weekend", "later this week"."""
    monday_next = _next_weekday(today, 0)
    if re.search(r"\b(week after next|following week)\b", text):
        start = monday_next + timedelta(days=7)
        return TimePreference(date_from=start, date_to=start + timedelta(days=6))
    if re.search(r"\bnext week(end)?\b", text):
        if "weekend" in text:
            saturday = monday_next + timedelta(days=5)
            return TimePreference(date_from=saturday, date_to=saturday + timedelta(days=1))
        if re.search(r"\bearly\b", text):
            return TimePreference(date_from=monday_next, date_to=monday_next + timedelta(days=2))
        if re.search(r"\b(late|end of)\b", text):
            return TimePreference(
                date_from=monday_next + timedelta(days=3), date_to=monday_next + timedelta(days=6)
            )
        return TimePreference(date_from=monday_next, date_to=monday_next + timedelta(days=6))
    if re.search(r"\b(this|the) weekend\b|\bweekend\b", text):
        saturday = _next_weekday(today, 5, include_today=True)
        return TimePreference(
            date_from=max(today, saturday - timedelta(days=1 if today.weekday() == 6 else 0)),
            date_to=saturday + timedelta(days=1),
        )
    if re.search(r"\b(this week|later this week|end of (the|this) week|rest of the week)\b", text):
        start = today + timedelta(days=1) if re.search(r"\blater\b", text) else today
        if re.search(r"\bend of\b", text):
            start = max(today, monday_next - timedelta(days=3))
        return TimePreference(date_from=start, date_to=monday_next - timedelta(days=1))
    if m := re.search(r"\b(next|this) month\b", text):
        start = _add_months(today.replace(day=1), 1) if m.group(1) == "next" else today
        end = start.replace(day=_days_in_month(start.year, start.month))
        return _partial_month(TimePreference(date_from=start, date_to=end), text)
    return TimePreference()


def _times(text: str) -> TimePreference:
    """The time-of-day part: parts of day, "after 3", "before 11", "at 2:30", "around 10"."""
    text = _time_words(text)
    part: PartOfDay | None = None
    if re.search(r"\b(morning|mornings|a\.?m\.? appointment|before lunch|1st thing)\b", text):
        part = "morning"
    elif re.search(r"\b(afternoon|afternoons|after lunch|after work|after school)\b", text):
        part = "afternoon"
    elif re.search(r"\b(evening|evenings|tonight|after 5|late in the day)\b", text):
        part = "evening"
    after = before = at = around = None
    if m := re.search(r"\b(?:after|from|later than|past|no earlier than|not before)\s+" + _CLOCK, text):
        after = _clock_from_match(m)
    if m := re.search(r"\b(?:before|by|earlier than|no later than|not after|until)\s+" + _CLOCK, text):
        before = _clock_from_match(m)
    at_clock = r"\b(?:at|around|about|for)\s+" + _CLOCK + _NO_UNIT
    if after is None and before is None and (m := re.search(at_clock, text)):
        at_time = _clock_from_match(m)
        if at_time is not None and re.search(
            r"\b(around|about|ish)\b", m.group(0) + text[m.end() : m.end() + 4]
        ):
            # "around 10" is a window, not a point.
            around = at_time
            start = datetime.combine(date.min, at_time)
            after = max(time(0, 0), (start - timedelta(minutes=45)).time()) if at_time.hour else at_time
            before = (start + timedelta(minutes=46)).time()
        else:
            at = at_time
    elif after is None and before is None:
        bare = next((m for pattern in _BARE_CLOCKS if (m := pattern.search(text))), None)
        at = _clock_from_match(bare) if bare else None
    if re.search(r"\b(end of the day|late afternoon|later in the afternoon)\b", text) and after is None:
        after = time(15, 0)
    if re.search(r"\bearly afternoon\b", text):
        before = before or time(14, 0)
    if re.search(r"\b(early morning|1st thing)\b", text):
        before = before or time(10, 0)
    if re.search(r"\blate morning\b", text):
        after = after or time(10, 0)
    if (after or before or at) and part is not None:
        # An explicit clock time refines the part of day only when they agree.
        clock = at or after or before
        assert clock is not None
        low, high = PARTS_OF_DAY[part]
        if not (low <= clock <= high):
            part = None
    return TimePreference(part_of_day=part, after=after, before=before, at=at, around=around)


# An hour said alone, in words or digits ("three", "3"), for the approximate times below.
_HOUR_WORD = r"(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[1-9]|1[0-2])"
# "A little later, like three?": around that hour (not "I'd like two", "like 3 teeth").
_LIKE_HOUR = (
    re.compile(
        r"(?<!would )(?<!i'd )(?<!we'd )\blike " + _HOUR_WORD + r"\b(?! (of|appointments?|people|kids|"
        r"children|minutes|hours|days|weeks|months|years|times|teeth|visits))"
    ),
    r"around \1",
)
# Speech-to-text slips around times and days: "at 230", "too thirty", "at for", "the forth",
# "to morrow", "quarter two four"; and what the caller can't do ("I work mornings") is no wish.
_SLIPS = (
    (re.compile(r"\b(at|around|by|after|before) ([1-9]|1[0-2])([0-5]\d)\b"), r"\1 \2:\3"),
    # "Could you do ten? Actually, make it eleven": an hour asked for without "at".
    (
        re.compile(
            r"\b((?:could|can) (?:you|we|i) do|how about|what about|make it|make that) "
            + _HOUR_WORD
            + r"\b(?![:'])"
            + _NO_UNIT
        ),
        r"\1 at \2",
    ),
    (
        re.compile(
            r"\b(at|around|by|after|before) (too|to)(?= (30|15|45|o'clock|oclock|pm|am|p m|a m|in the)\b|$)"
        ),
        r"\1 2",
    ),
    (re.compile(r"\b(too|to) (o'clock|oclock)\b"), r"2 \2"),
    (
        re.compile(
            r"\b(at|around|by|after|before) (for|fore)(?= (30|15|45|o'clock|oclock|pm|am|p m|a m)\b|$)"
        ),
        r"\1 4",
    ),
    (re.compile(r"\bquarter (two|to|too|2) (\d{1,2})\b"), r"quarter to \2"),
    # "thursday 230", "230 is good": a clock time written without its colon (not "suite 200").
    (
        re.compile(r"(?<!suite )(?<!room )(?<!unit )(?<![\d/.:\-])\b([1-9]|1[0-2])([0-5]\d)\b(?![\d/:])"),
        r"\1:\2",
    ),
    (re.compile(r"\bthe forth\b"), "the 4th"),
    # "not Friday", "Saturday doesn't work", "I can't do mornings": ruled out, not wished for.
    (
        re.compile(
            r"\b(?:not|can't do|cannot do)( on)?( the)? ((mon|tues|wednes|thurs|fri|satur|sun)days?|"
            r"mornings?|afternoons?|evenings?)\b|\b((mon|tues|wednes|thurs|fri|satur|sun)days?|mornings?|afternoons?|"
            r"evenings?) (doesn't|does not|don't|do not|won't|will not) work\b|\b((mon|tues|wednes|thurs|fri|"
            r"satur|sun)days?|mornings?|afternoons?|evenings?) (are|is) (tough|hard|difficult|bad|no good|"
            r"impossible|out)\b"
        ),
        " ",
    ),
    _LIKE_HOUR,
    # "Good morning, I'd like a consultation": a greeting, not a wish for the morning.
    (
        re.compile(
            r"(?:^\W*|(?<=[.,!?] )|(?<=\bhi )|(?<=\bhello )|(?<=\bhey )|(?<=\byes ))"
            r"good (morning|afternoon|evening)\b"
        ),
        " ",
    ),
    # "nine or so": around nine.
    (re.compile(r"\b" + _HOUR_WORD + r" or so\b"), r"around \1"),
    # "like three-ish", "3ish": around that hour.
    (re.compile(r"\b(?:like |at |about |around )?" + _HOUR_WORD + r"[- ]?ish\b"), r"around \1"),
    (re.compile(r"\bto morrow\b"), "tomorrow"),
    (re.compile(r"\b(\w+day)-?ish\b"), r"\1"),
    (
        re.compile(
            r"\b(i|i've got|i have|cause i|because i) (work|have work|have class|have school|have a job|"
            r"(a|an) \w+)( in the| this| tomorrow)? (mornings?|afternoons?|evenings?)\b"
        ),
        " ",
    ),
)


def _repair_slips(text: str) -> str:
    for pattern, replacement in _SLIPS:
        text = pattern.sub(replacement, text)
    return text


def parse_when(utterance: str, now: datetime) -> TimePreference:
    """Parse what an utterance says about when, relative to `now` in the clinic's time zone.

    Returns an empty preference when the utterance names no date or time.
    """
    text = _repair_slips(normalize_numbers(_repair_slips(utterance.lower())))
    text = re.sub(r"[\s,\-]+", " ", text).strip()  # Whisper writes "March 3rd-1988" and "3-3-88"
    today = now.date()
    dates = _dates(text, today)
    times = _times(text)
    earliest = bool(_EARLIEST.search(text))
    pref = TimePreference(
        date_from=dates.date_from,
        date_to=dates.date_to,
        weekdays=dates.weekdays,
        part_of_day=times.part_of_day,
        after=times.after,
        before=times.before,
        at=times.at,
        around=times.around,
        earliest=earliest,
    )
    if re.search(r"\b(tonight|this evening)\b", text) and pref.part_of_day is None:
        pref = replace(pref, part_of_day="evening")
    if re.search(r"\bthis afternoon\b", text):
        pref = replace(pref, part_of_day="afternoon")
    if re.search(r"\bthis morning\b", text):
        pref = replace(pref, part_of_day="morning")
    return pref


_YEAR = r"(19\d{2}|20\d{2}|19 \d{2}|20 \d{2}|\d{2})"


_DIGIT_WORDS = "one two three four five six seven eight nine".split()
# How birth dates are said beyond "March 3rd 1988": "'88", "oh five oh seven sixty-three",
# "two thousand and four", "eleven two nineteen ninety".
_BIRTH_SLIPS = (
    (re.compile(r"\boh[- ]?(" + "|".join(_DIGIT_WORDS) + r"|[1-9])\b"), lambda m: "0" + _digit(m.group(1))),
    (re.compile(r"'(\d{2})\b"), lambda m: m.group(1)),
    # "one" stays a word in normalized text ("the one at 9"), so it is read here.
    (
        re.compile(r"\b2 thousand(?: and)? (\d{1,2}|one)\b"),
        lambda m: str(2000 + (1 if m.group(1) == "one" else int(m.group(1)))),
    ),
    (re.compile(r"\b2 thousand\b"), lambda m: "2000"),
    (re.compile(r"\b(19|20) (\d{2})\b"), lambda m: m.group(1) + m.group(2)),
)
_CUE = re.compile(r"\b(born|birth|birthday|dob|d o b)\b")
_MONTH_NAME = r"([a-z]+)"


def _digit(word: str) -> str:
    return word if word.isdigit() else str(_DIGIT_WORDS.index(word) + 1)


def _birth_text(utterance: str) -> str:
    text = normalize_numbers(utterance.lower())
    for pattern, replacement in _BIRTH_SLIPS:
        text = pattern.sub(replacement, text)
    return re.sub(r"[\s,\-]+", " ", re.sub(r"\b(um|uh|er|like|on)\b", " ", text)).strip()


def _birth_candidates(text: str) -> list[tuple[int, int, int, int, str]]:
    """(start, end, month, day, year text) of every way a date with a year is said."""
    found: list[tuple[int, int, int, int, str]] = []
    patterns = (
        # "March 3rd 1988", "March the 3rd of 1988"
        (re.compile(_MONTH_NAME + r"(?: the)? " + _DAY + r"\b(?: of| in)? " + _YEAR + r"\b"), (1, 2, 3)),
        # "November 2nd. 1990": a pause written as a sentence's end (a full year only).
        (re.compile(_MONTH_NAME + r"(?: the)? " + _DAY + r"\b\. (19\d{2}|20\d{2})\b"), (1, 2, 3)),
        # "the 3rd of March 1988"
        (
            re.compile(r"(?:the )?" + _DAY + r"(?: of)? " + _MONTH_NAME + r"(?: of| in)? " + _YEAR + r"\b"),
            (2, 1, 3),
        ),
        # "1997 February 2nd", "in 1944 the 8th of May"
        (re.compile(r"\b(19\d{2}|20\d{2}) (?:in )?" + _MONTH_NAME + r"(?: the)? " + _DAY + r"\b"), (2, 3, 1)),
        (re.compile(r"\b(19\d{2}|20\d{2}) (?:the )?" + _DAY + r"(?: of)? " + _MONTH_NAME + r"\b"), (3, 2, 1)),
        # "born in '95, January 8th": a two-digit year first only right after "born in"
        (re.compile(r"\bborn in (\d{2}) " + _MONTH_NAME + r"(?: the)? " + _DAY + r"\b"), (2, 3, 1)),
    )
    for pattern, (month_at, day_at, year_at) in patterns:
        for m in pattern.finditer(text):
            month = month_of(m.group(month_at))
            if month is not None:
                found.append((m.start(), m.end(), month, int(m.group(day_at)), m.group(year_at)))
    for m in re.finditer(r"\b(\d{1,2})(?:st|nd|rd|th) of the (\d{1,2})(?:st|nd|rd|th) (\d{4}|\d{2})\b", text):
        # "the ninth of the ninth, 91"
        found.append((m.start(), m.end(), int(m.group(2)), int(m.group(1)), m.group(3)))
    for m in re.finditer(r"\b(\d{2})(\d{2})((?:19|20)\d{2})\b", text):  # "07141985"
        found.append((m.start(), m.end(), int(m.group(1)), int(m.group(2)), m.group(3)))
    for m in re.finditer(r"\b(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4}|\d{2})\b", text):
        found.append((m.start(), m.end(), int(m.group(1)), int(m.group(2)), m.group(3)))
    # "5 12 1979", "3 21 62": spoken numbers, only as a birth date is given (a cue, or at the end).
    for m in re.finditer(r"\b(\d{1,2}) (\d{1,2}) (\d{4}|\d{2})\b", text):
        # ...or ending a sentence: "emily davis, eight thirty eighty eight. I'd like..."
        if (
            _CUE.search(text[: m.start()])
            or not text[m.end() :].strip(" .")
            or text[m.end() :].startswith(".")
        ):
            found.append((m.start(), m.end(), int(m.group(1)), int(m.group(2)), m.group(3)))
    return found


def parse_date_of_birth(utterance: str, today: date) -> date | None:
    """A date of birth from "March 3rd 1988", "3/3/88", "the third of March nineteen eighty eight",
    "born 1997, February 2nd", "oh five oh seven sixty-three"; the last one said when corrected."""
    text = _birth_text(utterance)
    for _, end, month, day, year_text in sorted(_birth_candidates(text), reverse=True):
        born = _plausible_birth(today, _full_year(year_text, today), month, day)
        if born is not None:
            return _corrected_birth(text[end:], born, today)
    return None


def _full_year(year_text: str, today: date) -> int:
    year = int(year_text.replace(" ", ""))
    if year < 100:
        year += 1900 if year > today.year % 100 else 2000
    return year


def _plausible_birth(today: date, year: int, month: int, day: int) -> date | None:
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return born if born <= today and today.year - born.year < 120 else None


# What follows a full birth date to correct part of it: "..., sorry, March 13th", "..., no, '86".
_PART_CORRECTION = re.compile(r"^\W*(?:\w+ ){0,2}?(?:no|sorry|i mean|i meant|wait|actually)\b(.*)")


def _corrected_birth(rest: str, born: date, today: date) -> date:
    """The birth date with the part a correction right after it gives ("March 3rd, 1988, sorry,
    March 13th" is March 13th 1988; "June 14th 1957, sorry, 1975" is 1975)."""
    correction = _PART_CORRECTION.match(rest)
    if correction is None:
        return born
    said = correction.group(1)
    if (m := re.search(_MONTH_NAME + r"(?: the)? " + _DAY + r"\b", said)) and (month := month_of(m.group(1))):
        return _plausible_birth(today, born.year, month, int(m.group(2))) or born
    if m := re.search(r"\bthe " + _DAY + r"\b", said):
        return _plausible_birth(today, born.year, born.month, int(m.group(1))) or born
    if m := re.search(r"\b(19\d{2}|20\d{2}|\d{2})\b", said):
        return _plausible_birth(today, _full_year(m.group(1), today), born.month, born.day) or born
    return born


_MONTH_WORD = r"(?:" + "|".join([*MONTHS, *_MONTH_ABBREVIATIONS]) + r")"
# A date said with its year ("July 22nd 1986", "the 3rd of March 88", "7/22/86"), and the words that
# introduce a birth date: an appointment wish never comes with a year, a birth date always does.
_BIRTH_DATE_PHRASE = re.compile(
    r"\b(?:(?:my )?(?:date of birth|birth date|birthday|dob|d o b)(?: is)?|(?:i was )?born(?: on| in)?)?\s*"
    r"(?:(?:the )?" + _DAY + r"(?: of)? " + _MONTH_WORD + r"|" + _MONTH_WORD + r"(?: the)? " + _DAY + r")"
    r"(?: of| in)? " + _YEAR + r"\b"
    r"|\b(?:(?:date of birth|birth date|birthday|dob|born)(?: is| on)?\s*)?"
    r"\d{1,2}[/\-. ]\d{1,2}[/\-. ](?:\d{4}|\d{2})\b"
    r"|\b(?:(?:my )?(?:date of birth|birth date|birthday|dob|d o b)(?: is)?|born(?: on| in)?)\s*"
    r"(?:(?:the )?" + _DAY + r"(?: of)? " + _MONTH_WORD + r"|" + _MONTH_WORD + r"(?: the)? " + _DAY + r")\b"
    r"|\b(?:date of birth|birth date|birthday|dob|born)\b"
)

_YEAR_FIRST_BIRTH = re.compile(
    r"\b(?:born )?(?:in )?(?:19\d{2}|20\d{2}) (?:in )?(?:the )?(?:"
    + _MONTH_WORD
    + r"(?: the)? "
    + _DAY
    + r"|"
    + _DAY
    + r"(?: of)? "
    + _MONTH_WORD
    + r")\b"
)

# "the ninth of the ninth, ninety-one": day and month both as ordinals, then the year.
_ORDINAL_BIRTH = re.compile(r"\b\d{1,2}(?:st|nd|rd|th) of the \d{1,2}(?:st|nd|rd|th) (?:\d{4}|\d{2})\b")


def without_birth_dates(utterance: str) -> str:
    """The utterance with any birth date taken out, so "born July 22nd 1986, Thursday morning" leaves
    only Thursday morning for `parse_when`."""
    pattern, replacement = _LIKE_HOUR  # before the fillers ("like") go
    text = _birth_text(pattern.sub(replacement, utterance.lower()))
    text = _YEAR_FIRST_BIRTH.sub(" ", text)
    text = _ORDINAL_BIRTH.sub(" ", text)
    return re.sub(r"\s+", " ", _BIRTH_DATE_PHRASE.sub(" ", text)).strip()


def clock_time(hour: int) -> time:
    """The time a bare hour means at a clinic: 1 to 6 in the afternoon, 7 to 12 in the morning."""
    return time(hour + 12 if 1 <= hour <= 6 else hour % 24)
