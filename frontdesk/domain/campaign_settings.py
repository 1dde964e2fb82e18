"""What ops staff set on an outbound campaign: who it calls (its audience) and how (its plan).

Stored as JSON on the campaign row; the workflows read these same typed shapes.
"""

from datetime import datetime, time, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from frontdesk.domain.clinic_settings import Weekday

WORKDAYS = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]


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
    """When the campaign may ring patients, in the clinic's time zone."""

    start: time = time(9, 0)
    end: time = time(19, 0)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS), min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> "CallingHours":
        if self.end <= self.start:
            raise ValueError(f"calling hours end {self.end} must be after their start {self.start}")
        return self

    def wait_from(self, now: datetime, timezone: str) -> timedelta:
        """How long from the aware moment `now` until calls may be placed in `timezone` (zero when open)."""
        local = now.astimezone(ZoneInfo(timezone))
        return self.next_opening(local) - local

    def next_opening(self, local: datetime) -> datetime:
        """`local` itself when calls may be placed then, else the next moment they may (same zone)."""
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            candidate_day = day + timedelta(days=offset)
            if list(Weekday)[candidate_day.weekday()] not in self.weekdays:
                continue
            opens = candidate_day.replace(hour=self.start.hour, minute=self.start.minute)
            closes = candidate_day.replace(hour=self.end.hour, minute=self.end.minute)
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
