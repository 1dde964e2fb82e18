"""Tool arguments are checked against their models before anything runs."""

import pytest

from frontdesk.agent.tools import GetAvailability, ToolArgumentsError, parse_tool_call

SEARCH = {"service": "cleaning", "date_from": "2030-01-07", "date_to": "2030-01-11"}


@pytest.mark.parametrize("bound", ["after", "before"])
@pytest.mark.parametrize("value", ["25:99", "24:00", "9:30", "09:60"])
def test_a_time_that_is_no_time_of_day_is_bad_arguments(bound: str, value: str) -> None:
    with pytest.raises(ToolArgumentsError):
        parse_tool_call("get_availability", {**SEARCH, bound: value})


def test_a_window_of_wall_clock_times_is_taken() -> None:
    args = parse_tool_call("get_availability", {**SEARCH, "after": "00:00", "before": "23:59"})
    assert isinstance(args, GetAvailability) and (args.after, args.before) == ("00:00", "23:59")
