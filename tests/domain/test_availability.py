"""Unit tests of the availability engine: pure functions, no database."""

import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from frontdesk.domain.availability import (
    ProviderCalendar,
    ScheduleException,
    Slot,
    WeeklyHours,
    available_slots,
    is_slot_available,
)
from frontdesk.domain.clinic_settings import BookingRules, OpeningHours, TimeRange, Weekday

TZ = ZoneInfo("America/New_York")
ALICE = UUID(int=1)
BOB = UUID(int=2)
CAROL = UUID(int=3)
MONDAY = date(2024, 6, 3)  # an ordinary week, far from any DST change
SPRING_FORWARD = date(2024, 3, 10)  # 02:00 EST -> 03:00 EDT
FALL_BACK = date(2024, 11, 3)  # 02:00 EDT -> 01:00 EST
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)
MINUTES_30 = timedelta(minutes=30)


def at(day: date, hhmm: str, *, fold: int = 0) -> datetime:
    """An aware clinic-local datetime."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ).replace(fold=fold)


def utc(day: date, hhmm: str) -> datetime:
    """An aware UTC datetime."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=UTC)


def booking_rules(**overrides: int) -> BookingRules:
    """Rules that stay out of the way unless a test sets them."""
    fields = {"min_lead_minutes": 0, "horizon_days": 365, "buffer_minutes": 0, "slot_step_minutes": 30}
    return BookingRules(**(fields | overrides))


def every_day(start: str, end: str) -> list[WeeklyHours]:
    """The same hours on all seven weekdays."""
    return [WeeklyHours(day, time.fromisoformat(start), time.fromisoformat(end)) for day in range(7)]


def calendar(
    weekly: Sequence[WeeklyHours] = (),
    exceptions: Sequence[ScheduleException] = (),
    busy: Sequence[tuple[datetime, datetime]] = (),
    provider: UUID = ALICE,
) -> ProviderCalendar:
    """One provider's calendar, Alice's unless told otherwise."""
    return ProviderCalendar(provider_id=provider, weekly=weekly, exceptions=exceptions, busy=busy)


def slots(
    calendars: Sequence[ProviderCalendar],
    date_from: date,
    date_to: date | None = None,
    *,
    duration: timedelta = MINUTES_30,
    rules: BookingRules | None = None,
    now: datetime = LONG_AGO,
    opening_hours: OpeningHours | None = None,
) -> list[Slot]:
    """available_slots in the clinic's zone, with rules and `now` that stay out of the way."""
    return available_slots(
        calendars,
        duration=duration,
        rules=rules or booking_rules(),
        tz=TZ,
        now=now,
        date_from=date_from,
        date_to=date_to or date_from,
        opening_hours=opening_hours,
    )


def local_starts(found: Sequence[Slot]) -> list[str]:
    """Slot starts as clinic-local "Mon 09:00" labels."""
    return [slot.start.astimezone(TZ).strftime("%a %H:%M") for slot in found]


def utc_starts(found: Sequence[Slot]) -> list[datetime]:
    """Slot starts as UTC datetimes."""
    return [slot.start for slot in found]


# Weekly schedules and the slot grid


def test_weekly_hours_give_a_grid_counted_from_each_interval_start() -> None:
    weekly = [WeeklyHours(0, time(9), time(12)), WeeklyHours(2, time(14, 10), time(15, 30))]
    found = slots([calendar(weekly)], MONDAY, MONDAY + timedelta(days=2))

    assert local_starts(found) == [
        *(f"Mon {t}" for t in ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]),
        "Wed 14:10",
        "Wed 14:40",  # 15:10 would end at 15:40, after the 15:30 close
    ]
    for slot in found:
        assert slot.start.tzinfo is UTC and slot.end.tzinfo is UTC
        assert slot.end - slot.start == MINUTES_30
        assert slot.provider_id == ALICE
    assert found[0].start == utc(MONDAY, "13:00")  # 09:00 EDT


def test_a_service_longer_than_the_step_must_still_fit() -> None:
    weekly = [WeeklyHours(0, time(9), time(10))]
    found = slots(
        [calendar(weekly)], MONDAY, duration=timedelta(minutes=45), rules=booking_rules(slot_step_minutes=15)
    )
    assert local_starts(found) == ["Mon 09:00", "Mon 09:15"]


# Exceptions


def test_partial_time_off_splits_the_day_and_restarts_the_grid() -> None:
    weekly = [WeeklyHours(0, time(9), time(12))]
    time_off = ScheduleException(at(MONDAY, "10:00"), at(MONDAY, "10:50"), "time_off")
    found = slots([calendar(weekly, [time_off])], MONDAY)
    assert local_starts(found) == ["Mon 09:00", "Mon 09:30", "Mon 10:50", "Mon 11:20"]


def test_whole_days_of_time_off_remove_only_those_days() -> None:
    weekly = [WeeklyHours(day, time(9), time(10)) for day in range(5)]
    vacation = ScheduleException(
        at(MONDAY + timedelta(days=1), "00:00"), at(MONDAY + timedelta(days=3), "00:00"), "time_off"
    )
    found = slots([calendar(weekly, [vacation])], MONDAY, MONDAY + timedelta(days=4))
    assert local_starts(found) == [
        "Mon 09:00",
        "Mon 09:30",
        "Thu 09:00",
        "Thu 09:30",
        "Fri 09:00",
        "Fri 09:30",
    ]


def test_extra_hours_join_weekly_hours_and_add_a_day() -> None:
    weekly = [WeeklyHours(0, time(9), time(11, 45))]
    extra = [
        # Touches the weekly hours: one interval, so the 11:30 slot spans the seam.
        ScheduleException(at(MONDAY, "11:45"), at(MONDAY, "13:00"), "extra_hours"),
        ScheduleException(
            at(MONDAY + timedelta(days=5), "10:00"), at(MONDAY + timedelta(days=5), "11:00"), "extra_hours"
        ),
    ]
    found = slots([calendar(weekly, extra)], MONDAY, MONDAY + timedelta(days=6))
    assert local_starts(found) == [
        *(f"Mon {h:02d}:{m:02d}" for h in range(9, 13) for m in (0, 30)),
        "Sat 10:00",
        "Sat 10:30",
    ]


def test_extra_hours_win_over_time_off() -> None:
    weekly = [WeeklyHours(0, time(9), time(17))]
    exceptions = [
        ScheduleException(at(MONDAY, "00:00"), at(MONDAY + timedelta(days=1), "00:00"), "time_off"),
        ScheduleException(at(MONDAY, "13:00"), at(MONDAY, "14:00"), "extra_hours"),
    ]
    assert local_starts(slots([calendar(weekly, exceptions)], MONDAY)) == ["Mon 13:00", "Mon 13:30"]


def test_hours_across_midnight_restart_the_grid_at_midnight() -> None:
    friday, saturday = MONDAY + timedelta(days=4), MONDAY + timedelta(days=5)
    night = ScheduleException(at(friday, "22:00"), at(saturday, "02:00"), "extra_hours")
    rules = booking_rules(slot_step_minutes=45)
    hour = timedelta(hours=1)

    both = slots([calendar(exceptions=[night])], friday, saturday, duration=hour, rules=rules)
    # Friday 23:30 runs past midnight inside the same interval; Saturday's grid starts at 00:00.
    assert local_starts(both) == ["Fri 22:00", "Fri 22:45", "Fri 23:30", "Sat 00:00", "Sat 00:45"]
    # A date's slots do not depend on the range asked for.
    assert slots([calendar(exceptions=[night])], saturday, duration=hour, rules=rules) == both[3:]


def test_opening_hours_clip_weekly_hours_but_not_extra_hours() -> None:
    weekly = [WeeklyHours(0, time(8), time(12)), WeeklyHours(1, time(9), time(10))]
    saturday = MONDAY + timedelta(days=5)
    extra = [ScheduleException(at(saturday, "10:00"), at(saturday, "11:00"), "extra_hours")]
    opening = OpeningHours(days={Weekday.monday: [TimeRange(start=time(9), end=time(11))]})  # Tuesday closed

    found = slots([calendar(weekly, extra)], MONDAY, saturday, opening_hours=opening)
    assert local_starts(found) == [
        "Mon 09:00",
        "Mon 09:30",
        "Mon 10:00",
        "Mon 10:30",
        "Sat 10:00",
        "Sat 10:30",
    ]


# Lead time and horizon


def test_minimum_lead_time_is_inclusive() -> None:
    weekly = [WeeklyHours(0, time(9), time(12))]
    rules = booking_rules(min_lead_minutes=120)

    found = slots([calendar(weekly)], MONDAY, now=at(MONDAY, "08:00"), rules=rules)
    assert local_starts(found) == ["Mon 10:00", "Mon 10:30", "Mon 11:00", "Mon 11:30"]
    later = slots([calendar(weekly)], MONDAY, now=at(MONDAY, "08:01"), rules=rules)
    assert local_starts(later) == ["Mon 10:30", "Mon 11:00", "Mon 11:30"]
    # Dates entirely in the past hold nothing.
    assert slots([calendar(weekly)], MONDAY - timedelta(days=7), now=at(MONDAY, "08:00"), rules=rules) == []


def test_horizon_is_exclusive() -> None:
    rules = booking_rules(horizon_days=1)
    found = slots(
        [calendar(every_day("07:00", "09:00"))],
        MONDAY,
        MONDAY + timedelta(days=4),
        now=at(MONDAY, "08:00"),
        rules=rules,
    )
    assert local_starts(found) == ["Mon 08:00", "Mon 08:30", "Tue 07:00", "Tue 07:30"]


def test_lead_time_and_horizon_are_real_time_across_a_dst_change() -> None:
    # now is 04:30 UTC on 2 March; ten real days later is 04:30 UTC on 12 March, 00:30 EDT. Adding
    # ten days to the local wall clock instead would stop at 23:30 EDT on 11 March.
    now = at(date(2024, 3, 1), "23:30")
    found = slots(
        [calendar(every_day("00:00", "01:00"))],
        date(2024, 3, 11),
        date(2024, 3, 12),
        now=now,
        rules=booking_rules(horizon_days=10),
    )
    assert utc_starts(found) == [
        utc(date(2024, 3, 11), "04:00"),
        utc(date(2024, 3, 11), "04:30"),
        utc(date(2024, 3, 12), "04:00"),
    ]


# Busy intervals and buffers


def test_buffer_is_kept_before_and_after_an_appointment() -> None:
    weekly = [WeeklyHours(0, time(9), time(12))]
    busy = [(at(MONDAY, "10:00"), at(MONDAY, "10:30"))]
    rules = booking_rules(buffer_minutes=15, slot_step_minutes=15)
    found = slots([calendar(weekly, busy=busy)], MONDAY, rules=rules)
    assert local_starts(found) == [
        "Mon 09:00",
        "Mon 09:15",
        "Mon 10:45",
        "Mon 11:00",
        "Mon 11:15",
        "Mon 11:30",
    ]


def test_overlapping_unsorted_busy_intervals_in_any_zone() -> None:
    weekly = [WeeklyHours(0, time(9), time(12))]
    busy = [
        (at(MONDAY, "10:30"), at(MONDAY, "11:00")),
        (utc(MONDAY, "14:00"), utc(MONDAY, "14:45")),  # 10:00-10:45 EDT
        (at(MONDAY, "10:10"), at(MONDAY, "10:20")),  # inside the one above
    ]
    found = slots([calendar(weekly, busy=busy)], MONDAY)
    assert local_starts(found) == ["Mon 09:00", "Mon 09:30", "Mon 11:00", "Mon 11:30"]


def test_providers_are_merged_sorted_by_start_then_provider() -> None:
    alice = calendar([WeeklyHours(0, time(9), time(10))], provider=ALICE)
    bob = calendar([WeeklyHours(0, time(9, 30), time(10, 30))], provider=BOB)
    found = slots([bob, alice], MONDAY)
    assert [(slot.start, slot.provider_id) for slot in found] == [
        (at(MONDAY, "09:00"), ALICE),
        (at(MONDAY, "09:30"), ALICE),
        (at(MONDAY, "09:30"), BOB),
        (at(MONDAY, "10:00"), BOB),
    ]


# Daylight-saving changes in America/New_York


def test_spring_forward_week_keeps_the_local_schedule() -> None:
    days = [SPRING_FORWARD + timedelta(days=offset) for offset in range(-3, 4)]
    found = slots([calendar(every_day("09:00", "10:00"))], days[0], days[-1])
    # 09:00 EST is 14:00 UTC; from the change on, 09:00 EDT is 13:00 UTC.
    expected = [
        utc(day, f"{14 if day < SPRING_FORWARD else 13}:{minute}") for day in days for minute in ("00", "30")
    ]
    assert utc_starts(found) == expected


def test_fall_back_week_keeps_the_local_schedule() -> None:
    days = [FALL_BACK + timedelta(days=offset) for offset in range(-3, 4)]
    found = slots([calendar(every_day("09:00", "10:00"))], days[0], days[-1])
    expected = [
        utc(day, f"{13 if day < FALL_BACK else 14}:{minute}") for day in days for minute in ("00", "30")
    ]
    assert utc_starts(found) == expected


def test_spring_forward_schedule_across_two_am_skips_the_missing_hour() -> None:
    sunday = [WeeklyHours(6, time(0), time(6))]
    found = slots([calendar(sunday)], SPRING_FORWARD)
    assert local_starts(found) == [
        *(f"Sun {t}" for t in ["00:00", "00:30", "01:00", "01:30"]),
        *(f"Sun {t}" for t in ["03:00", "03:30", "04:00", "04:30", "05:00", "05:30"]),
    ]
    # Five real hours of work: 05:00 UTC (00:00 EST) to 10:00 UTC (06:00 EDT).
    assert found[0].start == utc(SPRING_FORWARD, "05:00")
    assert found[-1].end == utc(SPRING_FORWARD, "10:00")
    # The 01:30 EST slot lasts 30 real minutes and ends at 03:00 EDT.
    assert (found[3].start, found[3].end) == (utc(SPRING_FORWARD, "06:30"), utc(SPRING_FORWARD, "07:00"))


def test_spring_forward_hours_ending_or_starting_in_the_gap_use_the_transition() -> None:
    hour = timedelta(hours=1)
    # 02:30 never happens: the day ends when the clock passes it, at 03:00 EDT (07:00 UTC), so a
    # one-hour slot at 01:30 EST would end after closing.
    ends_in_gap = calendar([WeeklyHours(6, time(0), time(2, 30))])
    assert local_starts(slots([ends_in_gap], SPRING_FORWARD, duration=hour)) == [
        "Sun 00:00",
        "Sun 00:30",
        "Sun 01:00",
    ]
    # Starting at 02:30: the grid still counts from 02:30, and 02:30 itself does not exist.
    starts_in_gap = calendar([WeeklyHours(6, time(2, 30), time(4))])
    found = slots([starts_in_gap], SPRING_FORWARD)
    assert utc_starts(found) == [utc(SPRING_FORWARD, "07:00"), utc(SPRING_FORWARD, "07:30")]


def test_fall_back_schedule_across_two_am_has_no_duplicate_or_overlapping_slots() -> None:
    sunday = [WeeklyHours(6, time(0), time(4))]
    found = slots([calendar(sunday)], FALL_BACK)
    # 01:00 and 01:30 happen twice; they are offered once, at their first (EDT) occurrence.
    assert utc_starts(found) == [
        utc(FALL_BACK, hhmm)
        for hhmm in ["04:00", "04:30", "05:00", "05:30", "07:00", "07:30", "08:00", "08:30"]
    ]
    assert local_starts(found) == [
        f"Sun {t}" for t in ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]
    ]
    for earlier, later in pairwise(found):
        assert earlier.end <= later.start


def test_fall_back_time_off_ending_in_the_repeated_hour() -> None:
    sunday = [WeeklyHours(6, time(0), time(4))]
    # Off until 01:30 EST (06:30 UTC), the second 01:30. The grid counts from 01:30, whose fold=0
    # reading (01:30 EDT) is before the time off ends, so the first slot is 02:00 EST.
    time_off = ScheduleException(at(FALL_BACK, "00:00"), at(FALL_BACK, "01:30", fold=1), "time_off")
    found = slots([calendar(sunday, [time_off])], FALL_BACK)
    assert utc_starts(found) == [utc(FALL_BACK, hhmm) for hhmm in ["07:00", "07:30", "08:00", "08:30"]]


def test_fall_back_time_off_within_the_repeated_hour_never_duplicates_a_slot() -> None:
    sunday = [WeeklyHours(6, time(0), time(4))]
    # Off 01:00-01:30 EST (06:00-06:30 UTC). The later interval's grid starts at wall 01:30,
    # whose fold=0 reading (05:30 UTC) the morning interval already offers: it must not repeat.
    time_off = ScheduleException(at(FALL_BACK, "01:00", fold=1), at(FALL_BACK, "01:30", fold=1), "time_off")
    found = slots([calendar(sunday, [time_off])], FALL_BACK)
    assert utc_starts(found) == [
        utc(FALL_BACK, hhmm)
        for hhmm in ["04:00", "04:30", "05:00", "05:30", "07:00", "07:30", "08:00", "08:30"]
    ]


# is_slot_available agrees with available_slots


@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK], ids=["spring-forward", "fall-back"])
def test_is_slot_available_agrees_with_available_slots_over_a_dst_week(change: date) -> None:
    before, after = change - timedelta(days=1), change + timedelta(days=1)
    weekly = [*every_day("00:00", "03:30"), *every_day("08:00", "17:00")]
    exceptions = [
        ScheduleException(at(before, "12:00"), at(before, "15:00"), "time_off"),
        ScheduleException(at(change, "01:30", fold=1), at(change, "02:15"), "time_off"),
        ScheduleException(at(change, "21:00"), at(after, "01:10"), "extra_hours"),
    ]
    busy = [
        (at(change, "01:00"), at(change, "01:20")),
        (at(change, "10:00"), at(change, "10:45")),
        (at(after, "09:30"), at(after, "10:00")),
        (at(after, "09:45"), at(after, "11:00")),
    ]
    cal = calendar(weekly, exceptions, busy)
    opening = OpeningHours(days={day: [TimeRange(start=time(0), end=time(16, 30))] for day in Weekday})
    kwargs = {
        "duration": timedelta(minutes=45),
        "rules": booking_rules(buffer_minutes=10, slot_step_minutes=15, min_lead_minutes=90),
        "tz": TZ,
        "now": at(change - timedelta(days=3), "10:00"),
        "opening_hours": opening,
    }
    first, last = change - timedelta(days=3), change + timedelta(days=3)
    offered = {slot.start for slot in available_slots([cal], date_from=first, date_to=last, **kwargs)}
    # Enough slots on both sides of the change that agreement is not vacuous.
    assert sum(start < at(change, "00:00") for start in offered) > 50
    assert sum(start > at(after, "00:00") for start in offered) > 50

    instant = at(first, "00:00").astimezone(UTC)
    end = at(last + timedelta(days=1), "00:00").astimezone(UTC)
    while instant < end:
        assert is_slot_available(cal, instant, **kwargs) == (instant in offered), instant.astimezone(TZ)
        instant += timedelta(minutes=5)


# Scale: 60 days x 3 providers, checked against the rules written out directly


def test_sixty_days_for_three_providers_match_the_rules() -> None:
    rules = booking_rules(buffer_minutes=10, slot_step_minutes=15, min_lead_minutes=120, horizon_days=60)
    now = at(MONDAY, "08:30")
    duration = MINUTES_30
    last = MONDAY + timedelta(days=60)
    weekdays = [
        MONDAY + timedelta(days=offset)
        for offset in range(61)
        if (MONDAY + timedelta(days=offset)).weekday() < 5
    ]
    weekly = [WeeklyHours(day, time(8), time(17)) for day in range(5)]
    rng = random.Random(7)
    calendars = []
    busy_by_day: dict[tuple[UUID, date], list[tuple[datetime, datetime]]] = {}
    for provider in (ALICE, BOB, CAROL):
        for day in weekdays:
            # Appointments stay within 08:00-17:20, so only same-day ones can conflict with a slot.
            for _ in range(4):
                start = at(day, "08:00") + timedelta(minutes=5 * rng.randrange(0, 100))
                end = start + timedelta(minutes=rng.choice([20, 30, 45, 60]))
                busy_by_day.setdefault((provider, day), []).append((start, end))
        busy = [interval for day in weekdays for interval in busy_by_day[provider, day]]
        calendars.append(calendar(weekly, busy=busy, provider=provider))

    found = available_slots(
        calendars, duration=duration, rules=rules, tz=TZ, now=now, date_from=MONDAY, date_to=last
    )

    expected = []
    for cal in calendars:
        for day in weekdays:
            for step in range(0, 9 * 4 - 1):  # 08:00 to 16:30, the last start that ends by 17:00
                start = at(day, "08:00") + step * rules.slot_step
                clear = all(
                    start + duration <= busy_start - rules.buffer or start >= busy_end + rules.buffer
                    for busy_start, busy_end in busy_by_day[cal.provider_id, day]
                )
                if clear and now + rules.min_lead <= start < now + rules.horizon:
                    expected.append(
                        Slot(cal.provider_id, start.astimezone(UTC), (start + duration).astimezone(UTC))
                    )
    expected.sort(key=lambda slot: (slot.start, slot.provider_id))
    assert found == expected
    assert len(found) > 1000


# Invalid input


def test_naive_now_and_naive_start_are_rejected() -> None:
    cal = calendar([WeeklyHours(0, time(9), time(12))])
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        slots([cal], MONDAY, now=datetime(2024, 6, 1, 12))
    with pytest.raises(ValueError, match="slot start must be a timezone-aware datetime"):
        is_slot_available(
            cal, datetime(2024, 6, 3, 9), duration=MINUTES_30, rules=booking_rules(), tz=TZ, now=LONG_AGO
        )


def test_reversed_date_range_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"date_to 2024-06-02 is before date_from 2024-06-03"):
        slots([calendar()], MONDAY, MONDAY - timedelta(days=1))


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(minutes=-30)])
def test_non_positive_duration_is_rejected(duration: timedelta) -> None:
    with pytest.raises(ValueError, match="duration must be positive"):
        slots([calendar()], MONDAY, duration=duration)
    with pytest.raises(ValueError, match="duration must be positive"):
        is_slot_available(
            calendar(), at(MONDAY, "09:00"), duration=duration, rules=booking_rules(), tz=TZ, now=LONG_AGO
        )


def test_a_time_zone_name_instead_of_a_zoneinfo_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"tz must be a zoneinfo\.ZoneInfo, got str"):
        available_slots(
            [calendar()],
            duration=MINUTES_30,
            rules=booking_rules(),
            tz="America/New_York",  # type: ignore[arg-type]
            now=LONG_AGO,
            date_from=MONDAY,
            date_to=MONDAY,
        )


def test_two_calendars_for_one_provider_are_rejected() -> None:
    with pytest.raises(ValueError, match=f"provider {ALICE} has more than one calendar"):
        slots([calendar(), calendar()], MONDAY)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: WeeklyHours(7, time(9), time(12)),
            "weekday must be 0 \\(Monday\\) to 6 \\(Sunday\\), got 7",
        ),
        (lambda: WeeklyHours(0, time(12), time(9)), "weekly hours end 09:00:00 must be after start 12:00:00"),
        (lambda: WeeklyHours(0, time(9, tzinfo=UTC), time(12)), "must not carry a tzinfo"),
        (
            lambda: ScheduleException(datetime(2024, 6, 3, 9), at(MONDAY, "10:00"), "time_off"),
            "schedule exception start must be a timezone-aware datetime",
        ),
        (
            lambda: ScheduleException(at(MONDAY, "10:00"), at(MONDAY, "10:00"), "time_off"),
            "schedule exception end .* must be after start",
        ),
        (
            lambda: ScheduleException(at(MONDAY, "09:00"), at(MONDAY, "10:00"), "vacation"),  # type: ignore[arg-type]
            "schedule exception kind must be one of \\('time_off', 'extra_hours'\\), got 'vacation'",
        ),
        (
            lambda: calendar(busy=[(datetime(2024, 6, 3, 9), at(MONDAY, "10:00"))]),
            f"busy interval start of provider {ALICE} must be a timezone-aware datetime",
        ),
        (
            lambda: calendar(busy=[(at(MONDAY, "10:00"), at(MONDAY, "09:00"))]),
            f"busy interval of provider {ALICE} must end after it starts",
        ),
    ],
    ids=[
        "weekday",
        "weekly-reversed",
        "weekly-aware",
        "exception-naive",
        "exception-empty",
        "exception-kind",
        "busy-naive",
        "busy-reversed",
    ],
)
def test_bad_calendar_data_is_rejected_where_it_is_built(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
