"""What the agent knows about the clinic for one call: a snapshot read at call start.

The snapshot is plain data (no database session) so the engine, the prompt and both brains can
use it anywhere, and a change made through the admin API shows up on the next call.
"""

from datetime import datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from frontdesk.domain.clinic_settings import (
    BookingRules,
    EndOfTurnProfile,
    EscalationRules,
    OpeningHours,
    Weekday,
)


class ProviderInfo(BaseModel):
    """A provider as the agent names them."""

    id: UUID
    name: str  # "Dr. Priya Patel"
    short_name: str  # "Dr. Patel"
    role: str
    service_slugs: list[str] = Field(default_factory=list)


class ServiceInfo(BaseModel):
    """A bookable service."""

    id: UUID
    slug: str
    name: str
    duration_minutes: int


class ClinicProfile(BaseModel):
    """The clinic, its agent and its rules, as one call sees them."""

    id: UUID
    slug: str
    name: str
    timezone: str
    address: str
    phone_number: str | None = None
    agent_name: str
    voice: str | None = None
    greeting: str | None = None
    style_notes: str | None = None
    opening_hours: OpeningHours
    escalation: EscalationRules
    booking_rules: BookingRules
    accepted_insurance: list[str] = Field(default_factory=list)
    end_of_turn_profile: EndOfTurnProfile = EndOfTurnProfile.balanced
    max_call_seconds: int = 600
    providers: list[ProviderInfo] = Field(default_factory=list)
    services: list[ServiceInfo] = Field(default_factory=list)

    @property
    def voice_key(self) -> str:
        """The voice as a cache key ("" for the default voice)."""
        return self.voice or ""

    @property
    def tz(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.timezone)

    def is_open(self, moment: datetime) -> bool:
        """Whether the clinic is open at an aware moment."""
        local = moment.astimezone(self.tz)
        return any(r.start <= local.time() < r.end for r in self.opening_hours.ranges_for(local.weekday()))

    def hours_sentence(self) -> str:
        """The opening hours as one speakable sentence, days with equal hours grouped."""
        groups: list[tuple[list[str], str]] = []
        for day in Weekday:
            ranges = self.opening_hours.days.get(day, [])
            spoken = " and ".join(f"{speak_time(r.start)} to {speak_time(r.end)}" for r in ranges) or "closed"
            if groups and groups[-1][1] == spoken:
                groups[-1][0].append(day.value.title())
            else:
                groups.append(([day.value.title()], spoken))
        parts = []
        for days, spoken in groups:
            label = days[0] if len(days) == 1 else f"{days[0]} through {days[-1]}"
            parts.append(f"{label}, {spoken}" if spoken != "closed" else f"{label}, closed")
        return "; ".join(parts) + "."

    def greeting_text(self) -> str:
        """What the agent says when it picks up."""
        return (
            self.greeting
            or f"Thank you for calling {self.name}, this is {self.agent_name}. How can I help you today?"
        )

    def service_by_slug(self, slug: str) -> ServiceInfo | None:
        """The service with this slug, if the clinic offers it."""
        return next((s for s in self.services if s.slug == slug), None)

    def provider_by_id(self, provider_id: UUID) -> ProviderInfo | None:
        """The provider with this id."""
        return next((p for p in self.providers if p.id == provider_id), None)


def speak_time(clock: time) -> str:
    """A clock time as a receptionist says it: "9 AM", "2:30 PM", "noon"."""
    hour, minute = clock.hour, clock.minute
    if (hour, minute) == (12, 0):
        return "noon"
    suffix = "AM" if hour < 12 else "PM"
    hour12 = hour % 12 or 12
    return f"{hour12} {suffix}" if minute == 0 else f"{hour12}:{minute:02d} {suffix}"


def speak_date(moment: datetime) -> str:
    """A date as a receptionist says it: "Tuesday, December 1st"."""
    day = moment.day
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{moment.strftime('%A, %B')} {day}{suffix}"
