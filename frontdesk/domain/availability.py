"""The availability engine: which appointment slots a clinic can offer.

A pure function over plain dataclasses (no database, no models): the repository loads a
`ProviderCalendar` per provider and calls `available_slots`; the booking path checks one
candidate with `is_slot_available`, which runs the very same computation for the candidate's
local date, so the two can never disagree.

Rules, for one provider and one clinic-local date D:

- Working time = (weekly hours of D's weekday, intersected with the clinic's opening hours when
  given, minus `time_off` exceptions) plus `extra_hours` exceptions. Extra hours are an explicit
  decision by the clinic, so they win over both time off and opening hours.
- Weekly and opening hours are local wall-clock times. A wall time is placed at the first instant
  the clock in `tz` reads that time or later: the first occurrence of an ambiguous (fall-back)
  time, and the transition instant for a nonexistent (spring-gap) time. So a 09:00 schedule is
  09:00 local on both sides of a DST change, and a 00:00-06:00 schedule on the spring-forward
  day lasts five real hours.
- Slot starts lie on the `rules.slot_step` wall-clock grid counted from the start of each working
  interval; a working interval carried over from the previous evening restarts its grid at local
  midnight, so the slots of a date never depend on the range queried. Grid times that do not
  exist (spring gap) are skipped, ambiguous ones use their first occurrence (fold=0), so starts
  are strictly increasing and never repeat.
- A slot lasts `duration` of real time, fits inside one working interval (it may run past
  midnight), and keeps `rules.buffer` clear before and after every busy interval.
- now + rules.min_lead <= start < now + rules.horizon, in real (UTC) time: a 60-day horizon is
  60 x 24 hours even across a DST change.

All returned datetimes are aware UTC.
"""

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from uuid import UUID
from zoneinfo import ZoneInfo

from frontdesk.domain.clinic_settings import BookingRules, OpeningHours

ExceptionKind = Literal["time_off", "extra_hours"]

# A half-open interval [start, end) of aware UTC datetimes.
Interval = tuple[datetime, datetime]


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}")


@dataclass(frozen=True)
class WeeklyHours:
    """A provider's recurring working hours on one weekday, in local wall-clock time."""

    weekday: int  # 0 = Monday, as date.weekday()
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("weekly hours are local wall-clock times and must not carry a tzinfo")
        if self.end <= self.start:
            raise ValueError(f"weekly hours end {self.end} must be after start {self.start} on the same day")


@dataclass(frozen=True)
class ScheduleException:
    """A one-off change to a provider's schedule: time off, or extra hours worked."""

    start: datetime
    end: datetime
    kind: ExceptionKind

    def __post_init__(self) -> None:
        _require_aware(self.start, "schedule exception start")
        _require_aware(self.end, "schedule exception end")
        if self.end <= self.start:
            raise ValueError(
                f"schedule exception end {self.end.isoformat()} must be after start {self.start.isoformat()}"
            )
        if self.kind not in get_args(ExceptionKind):
            raise ValueError(
                f"schedule exception kind must be one of {get_args(ExceptionKind)}, got {self.kind!r}"
            )


@dataclass(frozen=True)
class ProviderCalendar:
    """Everything the engine needs to know about one provider."""

    provider_id: UUID
    weekly: Sequence[WeeklyHours]
    exceptions: Sequence[ScheduleException]
    busy: Sequence[tuple[datetime, datetime]]  # active appointments, aware

    def __post_init__(self) -> None:
        for start, end in self.busy:
            _require_aware(start, f"busy interval start of provider {self.provider_id}")
            _require_aware(end, f"busy interval end of provider {self.provider_id}")
            if end <= start:
                raise ValueError(
                    f"busy interval of provider {self.provider_id} must end after it starts "
                    f"(start {start.isoformat()}, end {end.isoformat()})"
                )


@dataclass(frozen=True)
class Slot:
    """A bookable appointment slot; start and end are aware UTC."""

    provider_id: UUID
    start: datetime
    end: datetime


def available_slots(
    calendars: Sequence[ProviderCalendar],
    *,
    duration: timedelta,
    rules: BookingRules,
    tz: ZoneInfo,
    now: datetime,
    date_from: date,
    date_to: date,
    opening_hours: OpeningHours | None = None,
) -> list[Slot]:
    """Every bookable slot of `duration` for the given providers on clinic-local dates
    `date_from` to `date_to` inclusive, sorted by start and then provider id.

    Raises ValueError for naive datetimes, a reversed date range, a non-positive duration or
    two calendars of the same provider.
    """
    _check_common(duration=duration, tz=tz, now=now)
    if date_to < date_from:
        raise ValueError(f"date_to {date_to} is before date_from {date_from}")
    seen: set[UUID] = set()
    for calendar in calendars:
        if calendar.provider_id in seen:
            raise ValueError(f"provider {calendar.provider_id} has more than one calendar")
        seen.add(calendar.provider_id)

    # Dates outside [today, last date of the horizon] cannot hold a slot; since each date's slots
    # depend only on that date, clipping the range changes nothing but the work done.
    # Lead time and horizon are spans of real time, so add them in UTC: adding to a local `now`
    # would be wall-clock arithmetic, an hour off across a DST change.
    now_utc = now.astimezone(UTC)
    first = max(date_from, now_utc.astimezone(tz).date())
    last = min(date_to, (now_utc + rules.horizon).astimezone(tz).date())
    if last < first:
        return []
    slots = [
        slot
        for calendar in calendars
        for slot in _provider_slots(
            calendar,
            duration=duration,
            rules=rules,
            tz=tz,
            now_utc=now_utc,
            date_from=first,
            date_to=last,
            opening_hours=opening_hours,
        )
    ]
    slots.sort(key=lambda slot: (slot.start, slot.provider_id))
    return slots


def is_slot_available(
    calendar: ProviderCalendar,
    start: datetime,
    *,
    duration: timedelta,
    rules: BookingRules,
    tz: ZoneInfo,
    now: datetime,
    opening_hours: OpeningHours | None = None,
) -> bool:
    """Whether a slot of `duration` starting at `start` is bookable with this provider.

    True exactly when `available_slots` for the start's local date would return it.
    Raises ValueError for naive datetimes or a non-positive duration.
    """
    _check_common(duration=duration, tz=tz, now=now)
    _require_aware(start, "slot start")
    start_utc = start.astimezone(UTC)
    local_date = start_utc.astimezone(tz).date()
    slots = available_slots(
        [calendar],
        duration=duration,
        rules=rules,
        tz=tz,
        now=now,
        date_from=local_date,
        date_to=local_date,
        opening_hours=opening_hours,
    )
    return any(slot.start == start_utc for slot in slots)


def _check_common(*, duration: timedelta, tz: ZoneInfo, now: datetime) -> None:
    if not isinstance(tz, ZoneInfo):
        raise TypeError(f"tz must be a zoneinfo.ZoneInfo, got {type(tz).__name__} {tz!r}")
    _require_aware(now, "now")
    if duration <= timedelta(0):
        raise ValueError(f"duration must be positive, got {duration}")


def _provider_slots(
    calendar: ProviderCalendar,
    *,
    duration: timedelta,
    rules: BookingRules,
    tz: ZoneInfo,
    now_utc: datetime,
    date_from: date,
    date_to: date,
    opening_hours: OpeningHours | None,
) -> Iterator[Slot]:
    """The slots of one provider starting on local dates date_from..date_to.

    Inputs are already validated.
    """
    midnights = {
        day: _first_instant_at_or_after(datetime.combine(day, time()), tz)
        for day in _dates(date_from, date_to + timedelta(days=1))
    }
    window_start = midnights[date_from]
    # Slots starting on the last date may run past midnight by up to one duration.
    window_end = midnights[date_to + timedelta(days=1)] + duration
    days = list(_dates(date_from, window_end.astimezone(tz).date()))

    weekly = _merge(
        _wall_interval(day, hours.start, hours.end, tz)
        for day in days
        for hours in calendar.weekly
        if hours.weekday == day.weekday()
    )
    if opening_hours is not None:
        opening = _merge(
            _wall_interval(day, open_range.start, open_range.end, tz)
            for day in days
            for open_range in opening_hours.ranges_for(day.weekday())
        )
        weekly = _intersect(weekly, opening)
    time_off = _merge(_exception_intervals(calendar.exceptions, "time_off"))
    extra = _merge(_exception_intervals(calendar.exceptions, "extra_hours"))
    working = _clip(_merge([*_subtract(weekly, time_off), *extra]), window_start, window_end)

    blocked = _merge(
        (start.astimezone(UTC) - rules.buffer, end.astimezone(UTC) + rules.buffer)
        for start, end in calendar.busy
    )
    free = _subtract(working, blocked)
    free_starts = [start for start, _ in free]

    earliest = now_utc + rules.min_lead
    latest = now_utc + rules.horizon
    for segment_start, segment_end in _split_at_midnights(working, midnights, date_from, date_to, tz):
        for start in _grid(segment_start, segment_end, rules.slot_step, tz):
            if start < earliest:
                continue
            if start >= latest:
                return
            end = start + duration
            # The slot must lie inside one free interval: working, and clear of busy +/- buffer.
            index = bisect_right(free_starts, start) - 1
            if index >= 0 and free[index][1] >= end:
                yield Slot(calendar.provider_id, start, end)


def _split_at_midnights(
    working: list[Interval], midnights: dict[date, datetime], date_from: date, date_to: date, tz: ZoneInfo
) -> Iterator[Interval]:
    """The parts of each working interval on local dates date_from..date_to, in time order.

    Each part anchors its own slot grid, which is why the slots of a date never depend on the
    dates around it.
    """
    one_day = timedelta(days=1)
    for interval_start, interval_end in working:
        day = max(date_from, interval_start.astimezone(tz).date())
        while day <= date_to and midnights[day] < interval_end:
            part_start = max(interval_start, midnights[day])
            part_end = min(interval_end, midnights[day + one_day])
            if part_start < part_end:
                yield part_start, part_end
            day += one_day


def _grid(
    interval_start: datetime, interval_end: datetime, step: timedelta, tz: ZoneInfo
) -> Iterator[datetime]:
    """Slot starts in [interval_start, interval_end): the wall-clock grid from the interval's start."""
    anchor = interval_start.astimezone(tz).replace(tzinfo=None, fold=0)
    k = 0
    while True:
        wall = anchor + k * step
        k += 1
        instant = _resolve_wall(wall, tz)
        if instant is None:  # inside a spring-forward gap: this time never appears on the clock
            continue
        if instant >= interval_end:
            return
        # An interval starting in the repeated (fall-back) hour: fold=0 puts this wall time at its
        # first occurrence, before the interval, so it is not offered.
        if instant >= interval_start:
            yield instant


def _resolve_wall(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a naive local wall time (first occurrence), or None if it does not exist."""
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return instant


def _first_instant_at_or_after(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the clock in `tz` reads `wall` or later."""
    instant = _resolve_wall(wall, tz)
    if instant is not None:
        return instant
    # `wall` is in a spring-forward gap, so the clock first passes it at the transition, which
    # lies between the readings of `wall` with the offsets before and after it. Transitions fall
    # on whole seconds: a binary search over integer timestamps finds it exactly.
    readings = [int(wall.replace(tzinfo=tz, fold=fold).timestamp()) for fold in (0, 1)]
    before, after = min(readings), max(readings)
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _wall_interval(day: date, start: time, end: time, tz: ZoneInfo) -> Interval:
    """A local wall-clock range on `day` as a UTC interval (possibly empty inside a DST gap)."""
    return (
        _first_instant_at_or_after(datetime.combine(day, start), tz),
        _first_instant_at_or_after(datetime.combine(day, end), tz),
    )


def _exception_intervals(exceptions: Iterable[ScheduleException], kind: ExceptionKind) -> Iterator[Interval]:
    for exception in exceptions:
        if exception.kind == kind:
            yield exception.start.astimezone(UTC), exception.end.astimezone(UTC)


def _dates(first: date, last: date) -> Iterator[date]:
    """Each date from first to last inclusive."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union as sorted, disjoint intervals; touching intervals join and empty ones vanish."""
    merged: list[Interval] = []
    for start, end in sorted(interval for interval in intervals if interval[0] < interval[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals: list[Interval], removed: list[Interval]) -> list[Interval]:
    """`intervals` minus `removed`, both sorted and disjoint, in one linear sweep."""
    result: list[Interval] = []
    index = 0
    for start, end in intervals:
        # Removed intervals ending before this one cannot touch it or any later one.
        while index < len(removed) and removed[index][1] <= start:
            index += 1
        cursor = start
        probe = index
        while probe < len(removed) and removed[probe][0] < end:
            if removed[probe][0] > cursor:
                result.append((cursor, removed[probe][0]))
            cursor = max(cursor, removed[probe][1])
            probe += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    """The intersection of two sorted, disjoint interval lists, in one linear sweep."""
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            result.append((start, end))
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return result


def _clip(intervals: list[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of sorted, disjoint intervals that fall within [start, end)."""
    return _intersect(intervals, [(start, end)])
