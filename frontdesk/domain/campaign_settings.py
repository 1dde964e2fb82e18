"""What ops staff set on an outbound campaign: who it calls (its audience) and how (its plan).

Stored as JSON on the campaign row; the workflows read these same typed shapes. Calling hours
are held to the legal floor (LEGAL_CALLING_START to LEGAL_CALLING_END): a new plan reaching
outside it is refused, and a plan stored before that (read with `CampaignPlan.stored`) is cut to
it wherever it decides when to call.
"""

from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, model_validator

from frontdesk.domain.clinic_settings import Weekday

WORKDAYS = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]
# The legal floor of calling hours: no call before 8 a.m. or after 9 p.m., local time at the
# called party's location (47 CFR 64.1200(c)(1), under the TCPA). A patient is taken to be in
# the clinic's time zone. A campaign's own hours lie inside this window, and no call is placed
# outside it whatever a plan says.
LEGAL_CALLING_START: Final = time(8, 0)
LEGAL_CALLING_END: Final = time(21, 0)
# The validation context of a plan read back (a campaign's row, a workflow's input) rather than
# one being set: a plan stored before the floor was enforced must still load.
_STORED: Final = "stored"


def legal_to_call(now: datetime, timezone: str) -> bool:
    """Whether the law allows a call at the aware moment `now` to a patient in `timezone`: from
    LEGAL_CALLING_START up to (not including) LEGAL_CALLING_END there."""
    if now.utcoffset() is None:
        raise ValueError(f"now {now.isoformat()} has no time zone; pass an aware datetime")
    return LEGAL_CALLING_START <= now.astimezone(ZoneInfo(timezone)).time() < LEGAL_CALLING_END


class CampaignKind(StrEnum):
    """Why the clinic calls."""

    reminder = "reminder"  # an upcoming appointment: confirm, reschedule or cancel it
    recall = "recall"  # a patient due for a visit: book one
    follow_up = "follow_up"  # after a visit: how is the patient doing


class CampaignStatus(StrEnum):
    """The life of a campaign."""

    scheduled = "scheduled"
    running = "running"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"


class TargetStatus(StrEnum):
    """Where one patient of a campaign stands."""

    pending = "pending"
    in_progress = "in_progress"
    reached = "reached"  # a person answered
    confirmed = "confirmed"
    rescheduled = "rescheduled"
    cancelled = "cancelled"  # the appointment was cancelled on the call
    voicemail = "voicemail"
    failed = "failed"  # no answer, busy or failed on every attempt
    opted_out = "opted_out"
    skipped = "skipped"  # the campaign was cancelled, or the appointment is no longer active

    @property
    def is_final(self) -> bool:
        """Nothing more will be done for this target."""
        return self not in (TargetStatus.pending, TargetStatus.in_progress)


class CallingHours(BaseModel):
    """When the campaign may ring patients, in the clinic's time zone, always within the legal
    floor (LEGAL_CALLING_START to LEGAL_CALLING_END)."""

    start: time = time(9, 0)
    end: time = time(19, 0)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS), min_length=1)

    @model_validator(mode="after")
    def _ordered_and_legal(self, info: ValidationInfo) -> "CallingHours":
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("calling hours are wall-clock times in the clinic's time zone: give no offset")
        if self.end <= self.start:
            raise ValueError(f"calling hours end {self.end} must be after their start {self.start}")
        stored = isinstance(info.context, dict) and info.context.get(_STORED) is True
        if not stored and (self.start < LEGAL_CALLING_START or self.end > LEGAL_CALLING_END):
            raise ValueError(
                f"calling hours {self.start:%H:%M}-{self.end:%H:%M} must lie within "
                f"{LEGAL_CALLING_START:%H:%M}-{LEGAL_CALLING_END:%H:%M}: the law (47 CFR 64.1200(c)(1)) "
                "allows calls only from 8 a.m. to 9 p.m. in the clinic's time zone"
            )
        return self

    def legal_window(self) -> tuple[time, time]:
        """The plan's daily hours cut to the legal floor (a stored plan may reach outside it).

        Raises ValueError when nothing of them is legal: no call can be placed under the plan.
        """
        start, end = max(self.start, LEGAL_CALLING_START), min(self.end, LEGAL_CALLING_END)
        if end <= start:
            raise ValueError(
                f"calling hours {self.start:%H:%M}-{self.end:%H:%M} lie wholly outside the legal "
                f"{LEGAL_CALLING_START:%H:%M}-{LEGAL_CALLING_END:%H:%M}: no call can be placed under "
                "this plan"
            )
        return start, end

    def wait_from(self, now: datetime, timezone: str) -> timedelta:
        """How long from the aware moment `now` until calls may be placed in `timezone` (zero when open)."""
        opening = self.next_opening(now.astimezone(ZoneInfo(timezone)))
        # Subtracted as instants: two times in one zone subtract as wall-clock times, an hour off
        # across a change of daylight saving time.
        return opening.astimezone(UTC) - now.astimezone(UTC)

    def next_opening(self, local: datetime) -> datetime:
        """`local` itself when calls may be placed then, else the next moment they may (same zone)."""
        start, end = self.legal_window()
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            candidate_day = day + timedelta(days=offset)
            if list(Weekday)[candidate_day.weekday()] not in self.weekdays:
                continue
            opens = candidate_day.replace(hour=start.hour, minute=start.minute, second=start.second)
            closes = candidate_day.replace(hour=end.hour, minute=end.minute, second=end.second)
            if local < opens:
                return opens
            if local < closes:
                return local
        raise AssertionError("a week always has a calling day")  # weekdays has at least one


class CampaignPlan(BaseModel):
    """How the campaign calls: hours, pace, concurrency, attempts and the SMS fallback."""

    calling_hours: CallingHours = Field(default_factory=CallingHours)
    calls_per_minute: int = Field(default=6, ge=1, le=600)
    max_concurrent: int = Field(default=3, ge=1, le=100)
    attempts_per_target: int = Field(default=2, ge=1, le=5)
    retry_after_minutes: int = Field(default=60, ge=1, le=24 * 60)
    sms_fallback: bool = True

    @classmethod
    def stored(cls, data: Any) -> "CampaignPlan":
        """A plan read back (a campaign's row, a workflow's input): one saved before the legal
        floor was enforced still loads, and its calling hours are cut to the floor when used."""
        return cls.model_validate(data, context={_STORED: True})


class CampaignAudience(BaseModel):
    """Who the campaign calls: the patients of active appointments in a window, or a list."""

    appointments_from: AwareDatetime | None = None
    appointments_to: AwareDatetime | None = None
    patient_ids: list[UUID] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="after")
    def _one_kind(self) -> "CampaignAudience":
        window = self.appointments_from is not None or self.appointments_to is not None
        if window == bool(self.patient_ids):
            raise ValueError("give either an appointment window (appointments_from and _to) or patient_ids")
        if window and (self.appointments_from is None or self.appointments_to is None):
            raise ValueError("an appointment window needs both appointments_from and appointments_to")
        if window and self.appointments_to <= self.appointments_from:  # type: ignore[operator]
            raise ValueError("appointments_to must be after appointments_from")
        return self
