"""The consultation windows bench calls search: a different one per call, never overlapping."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from frontdesk.bench.slots import FIRST_DAY, LAST_DAY, WindowPlan, consultation_windows, open_consultations
from frontdesk.domain.seed import DEMO_TIMEZONE, seed_demo

MONDAY = date(2026, 11, 23)


def test_windows_are_distinct_one_provider_one_hour_within_the_horizon_and_never_on_sunday() -> None:
    windows = consultation_windows(MONDAY)
    keys = {(w["date_from"], w["provider"], w["after"]) for w in windows}
    assert len(keys) == len(windows) > 400
    for window in windows:
        day = date.fromisoformat(window["date_from"])
        assert window["date_to"] == window["date_from"]
        assert MONDAY + timedelta(days=FIRST_DAY) <= day <= MONDAY + timedelta(days=LAST_DAY)
        assert day.weekday() != 6
        assert window["after"][:2] == window["before"][:2]  # starts within one half hour


def test_the_plan_hands_each_window_out_once_then_none() -> None:
    plan = WindowPlan(MONDAY)
    taken = [plan.take() for _ in range(plan.remaining())]
    assert len({str(window) for window in taken}) == len(taken)
    assert plan.remaining() == 0
    assert plan.take() is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_windows_a_seeded_appointment_fills_are_dropped_once_the_stack_is_seeded(engine: Engine) -> None:
    # Seeded on a Sunday, Robert's filling with Dr. Chen (day 8, a Monday, when Dr. Chen does not
    # work) moves to Tuesday at 11:00: day 9, inside the bench's first windows.
    sunday = MONDAY - timedelta(days=1)
    seed_demo(engine, sunday)
    now = datetime.combine(sunday, time(12), ZoneInfo(DEMO_TIMEZONE))
    offered = open_consultations(engine, sunday, now)
    plan = WindowPlan(sunday)
    before = plan.remaining()

    dropped = plan.keep_bookable(offered)

    assert dropped >= 1 and plan.remaining() == before - dropped
    taken = [plan.take() for _ in range(plan.remaining())]
    tuesday = (sunday + timedelta(days=FIRST_DAY)).isoformat()
    chen_at_eleven = {"provider": "Dr. Chen", "date_from": tuesday, "after": "11:00"}
    assert not [w for w in taken if w is not None and chen_at_eleven.items() <= w.items()]
    # Every window kept holds a consultation the clinic offers.
    for window in taken:
        assert window is not None
        day = date.fromisoformat(window["date_from"])
        starts = [s.time() for name, s in offered if name == window["provider"] and s.date() == day]
        assert any(
            time.fromisoformat(window["after"]) <= s < time.fromisoformat(window["before"]) for s in starts
        )
