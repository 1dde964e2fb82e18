"""Which consultation each bench call asks for, so that a hundred calls at once never race for the
same slot: the k-th availability search gets the k-th one-provider, one-hour window of the demo
clinic's consultation hours (frontdesk/domain/seed.py), from day 9 on (past the seeded
appointments) to the end of the booking horizon. Two windows never hold overlapping slots."""

from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from frontdesk.domain.seed import DEMO_TIMEZONE

FIRST_DAY: Final = 9
LAST_DAY: Final = 59  # the demo clinic books at most 60 days ahead
# The demo clinic's consultation providers: the hours a 30-minute consultation can start, by weekday.
_HOURS: Final = {
    "Dr. Patel": {day: (8, 9, 10, 11, 13, 14, 15) for day in range(5)},
    "Dr. Chen": {**{day: (9, 10, 11, 12, 14, 15, 16) for day in range(1, 5)}, 5: (9, 10, 11, 12)},
}


def consultation_windows(today: date) -> list[dict[str, Any]]:
    """Every window, in order, as get_availability arguments."""
    windows = []
    for offset in range(FIRST_DAY, LAST_DAY + 1):
        day = today + timedelta(days=offset)
        for hour in range(24):
            for provider, hours in _HOURS.items():
                if hour in hours.get(day.weekday(), ()):
                    windows.append(
                        {
                            "service": "consultation",
                            "provider": provider,
                            "date_from": day.isoformat(),
                            "date_to": day.isoformat(),
                            "after": f"{hour:02d}:00",
                            "before": f"{hour:02d}:30",
                        }
                    )
    return windows


class WindowPlan:
    """Hands out the windows one by one; None once they are all taken."""

    def __init__(self, today: date | None = None) -> None:
        self._windows = consultation_windows(today or datetime.now(ZoneInfo(DEMO_TIMEZONE)).date())
        self._next = 0

    def remaining(self) -> int:
        """How many windows are left."""
        return len(self._windows) - self._next

    def take(self) -> dict[str, Any] | None:
        """The next unused window."""
        if self._next >= len(self._windows):
            return None
        self._next += 1
        return self._windows[self._next - 1]
