"""Which consultation each bench call asks for, so that a hundred calls at once never race for the
same slot: the k-th availability search gets the k-th one-provider, one-hour window of the demo
clinic's consultation hours (frontdesk/domain/seed.py), from day 9 to the end of the booking
horizon. Two windows never hold overlapping slots. Once the stack is seeded, windows in which the
clinic offers no consultation (a seeded appointment moved to a provider's next working day, time
off) are dropped, so every call is handed a window it can book."""

from collections.abc import Mapping, Set
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from frontdesk.domain.database import session_scope
from frontdesk.domain.repository import ClinicRepository, clinic_by_slug
from frontdesk.domain.seed import DEMO_SLUG, DEMO_TIMEZONE

CONSULTATION: Final = "consultation"

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
                            "service": CONSULTATION,
                            "provider": provider,
                            "date_from": day.isoformat(),
                            "date_to": day.isoformat(),
                            "after": f"{hour:02d}:00",
                            "before": f"{hour:02d}:30",
                        }
                    )
    return windows


def open_consultations(engine: Engine, today: date, now: datetime) -> set[tuple[str, datetime]]:
    """(provider short name, clinic-local start) of every consultation the demo clinic offers at
    `now` from day FIRST_DAY to LAST_DAY after `today`, as the agent's availability search sees them."""
    with session_scope(engine) as session:
        clinic = clinic_by_slug(session, DEMO_SLUG)
        if clinic is None:
            raise LookupError(f"no clinic {DEMO_SLUG!r} in the bench stack's database")
        repo = ClinicRepository(session, clinic.id)
        service = repo.service_by_slug(CONSULTATION)
        if service is None:
            raise LookupError(f"the demo clinic offers no {CONSULTATION!r}")
        names = {provider.id: provider.short_name for provider in repo.providers()}
        slots = repo.available_slots(
            service.id, None, today + timedelta(days=FIRST_DAY), today + timedelta(days=LAST_DAY), now
        )
        tz = clinic.tz
    return {(names[slot.provider_id], slot.start.astimezone(tz).replace(tzinfo=None)) for slot in slots}


def _bookable(window: dict[str, Any], offered: Mapping[tuple[str, date], list[time]]) -> bool:
    after, before = time.fromisoformat(window["after"]), time.fromisoformat(window["before"])
    starts = offered.get((window["provider"], date.fromisoformat(window["date_from"])), [])
    return any(after <= start < before for start in starts)


class WindowPlan:
    """Hands out the windows one by one; None once they are all taken."""

    def __init__(self, today: date | None = None) -> None:
        self.today = today or datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()
        self._windows = consultation_windows(self.today)
        self._next = 0

    def keep_bookable(self, offered: Set[tuple[str, datetime]]) -> int:
        """Drop the windows not yet handed out in which nothing is `offered` (see
        open_consultations); how many were dropped."""
        by_day: dict[tuple[str, date], list[time]] = {}
        for name, start in offered:
            by_day.setdefault((name, start.date()), []).append(start.time())
        kept = [window for window in self._windows[self._next :] if _bookable(window, by_day)]
        dropped = len(self._windows) - self._next - len(kept)
        self._windows[self._next :] = kept
        return dropped

    def remaining(self) -> int:
        """How many windows are left."""
        return len(self._windows) - self._next

    def take(self) -> dict[str, Any] | None:
        """The next unused window."""
        if self._next >= len(self._windows):
            return None
        self._next += 1
        return self._windows[self._next - 1]
