"""The settings a clinic admin configures, stored as JSON on the clinic row.

These are pydantic models so the API validates them with field-named errors and the
availability engine, the agent and the workflows all read one typed shape.
"""

from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, Field, TypeAdapter, field_validator, model_validator

E164 = Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$", description="phone number in E.164 form")]

# How long a clinic keeps its calls' transcripts and its messages' bodies (frontdesk.activities.retention).
# At least a month, so last month's calls can still be read back; at most ten years.
DEFAULT_RETENTION_DAYS: Final = 365
MIN_RETENTION_DAYS: Final = 30
MAX_RETENTION_DAYS: Final = 3650
RetentionDays = Annotated[
    int,
    Field(
        strict=True,
        ge=MIN_RETENTION_DAYS,
        le=MAX_RETENTION_DAYS,
        description="days a call's transcript and summary and a message's body are kept, "
        f"{MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}",
    ),
]
_RETENTION_DAYS: Final = TypeAdapter(RetentionDays)


def check_retention_days(value: int) -> int:
    """Return `value` if it is a whole number of days within the retention bounds, else raise a
    clear ValueError."""
    try:
        return _RETENTION_DAYS.validate_python(value)
    except ValueError:
        raise ValueError(
            f"retention_days must be a whole number of days from {MIN_RETENTION_DAYS} to "
            f"{MAX_RETENTION_DAYS}, got {value!r}"
        ) from None


class Weekday(StrEnum):
    """Days of the week; the order matches `date.weekday()` (Monday is 0)."""

    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"

    @property
    def index(self) -> int:
        """0 for Monday through 6 for Sunday, as `date.weekday()`."""
        return list(Weekday).index(self)


class TimeRange(BaseModel):
    """A wall-clock interval within one day, in the clinic's time zone."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> "TimeRange":
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class OpeningHours(BaseModel):
    """When the clinic is open, per weekday; a missing or empty day means closed."""

    days: dict[Weekday, list[TimeRange]] = Field(default_factory=dict)

    def ranges_for(self, weekday_index: int) -> list[TimeRange]:
        """The open ranges for a `date.weekday()` index."""
        return self.days.get(list(Weekday)[weekday_index], [])


class AfterHoursPolicy(StrEnum):
    """What the agent does with a request for a human when the clinic is closed."""

    take_message = "take_message"
    transfer_anyway = "transfer_anyway"


class DentalUrgencyPolicy(StrEnum):
    """What the agent does for a dental urgency (a knocked-out or broken tooth, severe pain,
    swelling) that is no medical emergency: a medical emergency always gets 911 first."""

    book_soonest = "book_soonest"  # the soonest free slot, booked on the call
    clinical_line = "clinical_line"  # a transfer to the clinical (on-call) number


class EscalationRules(BaseModel):
    """Where humans are reached, per reason for a transfer."""

    transfer_number: E164 | None = None
    billing_number: E164 | None = None
    clinical_number: E164 | None = None
    after_hours_policy: AfterHoursPolicy = AfterHoursPolicy.take_message
    dental_urgency: DentalUrgencyPolicy = DentalUrgencyPolicy.book_soonest
    callback_on_dropped_call: bool = True


class BookingRules(BaseModel):
    """Constraints every bookable slot satisfies."""

    min_lead_minutes: int = Field(default=120, ge=0, le=60 * 24 * 30)
    horizon_days: int = Field(default=60, ge=1, le=365)
    buffer_minutes: int = Field(default=0, ge=0, le=240)
    slot_step_minutes: int = Field(default=15, ge=5, le=120)

    @property
    def min_lead(self) -> timedelta:
        """The minimum time between now and a bookable slot's start."""
        return timedelta(minutes=self.min_lead_minutes)

    @property
    def horizon(self) -> timedelta:
        """How far ahead slots can be booked."""
        return timedelta(days=self.horizon_days)

    @property
    def buffer(self) -> timedelta:
        """Free time kept between two appointments of one provider."""
        return timedelta(minutes=self.buffer_minutes)

    @property
    def slot_step(self) -> timedelta:
        """The granularity of slot start times."""
        return timedelta(minutes=self.slot_step_minutes)


class EndOfTurnProfile(StrEnum):
    """How long the agent waits for a caller to finish (DESIGN.md section 4)."""

    terse = "terse"  # callers mostly confirm: answer quickly
    balanced = "balanced"
    patient = "patient"  # callers describe symptoms and pause mid-thought


class InsuranceCarriers(BaseModel):
    """The insurance carriers the clinic accepts."""

    accepted: list[str] = Field(default_factory=list)

    @field_validator("accepted")
    @classmethod
    def _strip(cls, carriers: list[str]) -> list[str]:
        cleaned = [c.strip() for c in carriers if c.strip()]
        if len({c.lower() for c in cleaned}) != len(cleaned):
            raise ValueError("carriers must be unique")
        return cleaned
