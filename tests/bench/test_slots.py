"""The consultation windows bench calls search: a different one per call, never overlapping."""

from datetime import date, timedelta

from frontdesk.bench.slots import FIRST_DAY, LAST_DAY, WindowPlan, consultation_windows

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
