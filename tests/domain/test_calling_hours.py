"""The legal calling-hours floor (8 a.m. to 9 p.m. in the clinic's zone, 47 CFR 64.1200(c)(1)):
new plans are refused outside it, stored plans are cut to it, across daylight-saving changes."""

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from frontdesk.campaign_command import campaign_app
from frontdesk.config import get_settings
from frontdesk.domain.campaign_settings import (
    LEGAL_CALLING_END,
    LEGAL_CALLING_START,
    CallingHours,
    CampaignPlan,
    legal_to_call,
)
from frontdesk.domain.clinic_settings import Weekday
from frontdesk.domain.models import Clinic

NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)
EVERY_DAY = list(Weekday)
# A plan saved before the floor was enforced: round the clock, every day.
ROUND_THE_CLOCK = CallingHours.model_construct(start=time(0, 0), end=time(23, 59), weekdays=EVERY_DAY)


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock moment."""
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def test_the_floor_is_eight_to_nine() -> None:
    assert (LEGAL_CALLING_START, LEGAL_CALLING_END) == (time(8), time(21))


@pytest.mark.parametrize(
    ("start", "end"), [(time(7, 59), time(19)), (time(9), time(21, 1)), (time(0), time(23, 59))]
)
def test_a_plan_outside_the_floor_is_refused_with_the_reason(start: time, end: time) -> None:
    with pytest.raises(ValidationError) as refused:
        CallingHours(start=start, end=end)
    message = str(refused.value)
    assert f"calling hours {start:%H:%M}-{end:%H:%M} must lie within 08:00-21:00" in message
    assert "47 CFR 64.1200(c)(1)" in message and "8 a.m. to 9 p.m." in message
    with pytest.raises(ValidationError, match="must lie within 08:00-21:00"):
        CampaignPlan.model_validate({"calling_hours": {"start": str(start), "end": str(end)}})


def test_the_whole_floor_and_hours_inside_it_are_accepted() -> None:
    assert CallingHours(start=time(8), end=time(21)).legal_window() == (time(8), time(21))
    assert CallingHours(start=time(9), end=time(17)).legal_window() == (time(9), time(17))
    with pytest.raises(ValidationError, match="give no offset"):
        CallingHours.model_validate({"start": "09:00+02:00", "end": "17:00+02:00"})


def test_a_stored_plan_still_loads_and_is_cut_to_the_floor() -> None:
    stored = CampaignPlan.stored({"calling_hours": {"start": "00:00", "end": "23:59", "weekdays": EVERY_DAY}})
    assert stored.calling_hours.legal_window() == (time(8), time(21))


def test_next_opening_of_a_stored_plan_opens_at_eight_and_closes_at_nine() -> None:
    assert ROUND_THE_CLOCK.next_opening(at(2030, 1, 8, 3)) == at(2030, 1, 8, 8)
    assert ROUND_THE_CLOCK.next_opening(at(2030, 1, 8, 8)) == at(2030, 1, 8, 8)
    assert ROUND_THE_CLOCK.next_opening(at(2030, 1, 8, 20, 59)) == at(2030, 1, 8, 20, 59)
    assert ROUND_THE_CLOCK.next_opening(at(2030, 1, 8, 21)) == at(2030, 1, 9, 8)
    assert ROUND_THE_CLOCK.next_opening(at(2030, 1, 8, 23, 30)) == at(2030, 1, 9, 8)


def test_a_plans_own_hours_apply_inside_the_floor() -> None:
    morning = CallingHours(start=time(9, 30), end=time(12), weekdays=[Weekday.tuesday])
    tuesday = at(2030, 1, 8, 8, 15)
    assert morning.next_opening(tuesday) == at(2030, 1, 8, 9, 30)
    assert morning.next_opening(at(2030, 1, 8, 12)) == at(2030, 1, 15, 9, 30)  # next Tuesday
    late = CallingHours.model_construct(start=time(18), end=time(23), weekdays=EVERY_DAY)
    assert late.next_opening(at(2030, 1, 8, 21, 30)) == at(2030, 1, 9, 18)


def test_a_stored_plan_wholly_outside_the_floor_never_calls() -> None:
    night = CallingHours.model_construct(start=time(21, 30), end=time(23), weekdays=EVERY_DAY)
    with pytest.raises(ValueError, match="no call can be placed under this plan"):
        night.wait_from(datetime(2030, 1, 8, 12, tzinfo=UTC), NEW_YORK)


def test_wait_from_counts_real_time_across_the_spring_forward() -> None:
    # Saturday 2030-03-09, 22:00 EST; clocks go from 02:00 to 03:00 on Sunday; 08:00 EDT is 9 h on.
    now = at(2030, 3, 9, 22).astimezone(UTC)
    assert ROUND_THE_CLOCK.wait_from(now, NEW_YORK) == timedelta(hours=9)
    assert (now + ROUND_THE_CLOCK.wait_from(now, NEW_YORK)).astimezone(NY) == at(2030, 3, 10, 8)


def test_wait_from_counts_real_time_across_the_fall_back() -> None:
    # Saturday 2030-11-02, 22:00 EDT; clocks go from 02:00 back to 01:00 on Sunday; 08:00 EST is 11 h on.
    now = at(2030, 11, 2, 22).astimezone(UTC)
    hours = CallingHours(start=time(8), end=time(21), weekdays=EVERY_DAY)
    assert hours.wait_from(now, NEW_YORK) == timedelta(hours=11)
    assert hours.wait_from(at(2030, 11, 3, 12), NEW_YORK) == timedelta()  # open, in the zone's own time


def test_legal_to_call_on_the_day_clocks_change() -> None:
    # 2030-03-10: 12:30 UTC is 08:30 EDT (legal), though it would be 07:30 in winter time.
    assert legal_to_call(datetime(2030, 3, 10, 12, 30, tzinfo=UTC), NEW_YORK)
    assert not legal_to_call(datetime(2030, 3, 9, 12, 30, tzinfo=UTC), NEW_YORK)  # 07:30 EST
    assert legal_to_call(datetime(2030, 3, 11, 0, 59, tzinfo=UTC), NEW_YORK)  # 20:59 EDT
    assert not legal_to_call(datetime(2030, 3, 11, 1, 0, tzinfo=UTC), NEW_YORK)  # 21:00 EDT
    assert legal_to_call(datetime(2030, 3, 11, 1, 0, tzinfo=UTC), "America/Los_Angeles")  # 18:00 PDT
    with pytest.raises(ValueError, match="no time zone"):
        legal_to_call(datetime(2030, 3, 10, 12, 30), NEW_YORK)


@pytest.fixture
def _cli_uses_the_test_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("_cli_uses_the_test_database")
def test_the_cli_refuses_hours_outside_the_floor(demo_clinic: Clinic) -> None:
    result = CliRunner().invoke(campaign_app, ["create", "--clinic", "demo", "--hours", "07:00-19:00"])
    assert result.exit_code == 2
    assert "calling hours 07:00-19:00 must lie within 08:00-21:00" in result.stderr
