"""Two small clinics as the agent sees them, different in every way a prompt should show."""

import uuid
from datetime import time

from frontdesk.agent.clinic_profile import ClinicProfile, ProviderInfo, ServiceInfo
from frontdesk.domain.clinic_settings import (
    AfterHoursPolicy,
    BookingRules,
    DentalUrgencyPolicy,
    EscalationRules,
    OpeningHours,
    TimeRange,
    Weekday,
)

CLEANING = ServiceInfo(id=uuid.uuid4(), slug="cleaning", name="Cleaning", duration_minutes=60)
EXAM = ServiceInfo(id=uuid.uuid4(), slug="exam", name="Exam", duration_minutes=30)
FILLING = ServiceInfo(id=uuid.uuid4(), slug="filling", name="Filling", duration_minutes=60)
PATEL = ProviderInfo(
    id=uuid.uuid4(),
    name="Dr. Priya Patel",
    short_name="Dr. Patel",
    role="dentist",
    service_slugs=["exam", "filling"],
)
LEE = ProviderInfo(
    id=uuid.uuid4(), name="Sam Lee", short_name="Sam", role="hygienist", service_slugs=["cleaning"]
)


def _hours(days: list[Weekday], start: time, end: time) -> dict[Weekday, list[TimeRange]]:
    return {day: [TimeRange(start=start, end=end)] for day in days}


def bright_smile() -> ClinicProfile:
    """Bright Smile Dental in New York: agent Ava, weekdays 8 to 5, takes messages after hours."""
    weekdays = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]
    return ClinicProfile(
        id=uuid.uuid4(),
        slug="bright-smile",
        name="Bright Smile Dental",
        timezone="America/New_York",
        address="12 Elm Street, Springfield",
        phone_number="+15550100100",
        agent_name="Ava",
        opening_hours=OpeningHours(days=_hours(weekdays, time(8), time(17))),
        escalation=EscalationRules(
            transfer_number="+15550100101",
            billing_number="+15550100102",
            clinical_number="+15550100103",
            after_hours_policy=AfterHoursPolicy.take_message,
        ),
        booking_rules=BookingRules(),
        accepted_insurance=["Delta Dental", "Aetna", "Cigna"],
        providers=[PATEL, LEE],
        services=[CLEANING, EXAM, FILLING],
    )


def harbor() -> ClinicProfile:
    """Harbor Family Dentistry in Los Angeles: agent Leo, shorter Fridays, transfers after hours
    and sends a dental urgency to its clinical line."""
    whitening = ServiceInfo(id=uuid.uuid4(), slug="whitening", name="Teeth whitening", duration_minutes=90)
    haddad = ProviderInfo(
        id=uuid.uuid4(),
        name="Dr. Omar Haddad",
        short_name="Dr. Haddad",
        role="dentist",
        service_slugs=["whitening"],
    )
    days = _hours([Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday], time(9), time(18))
    days[Weekday.friday] = [TimeRange(start=time(9), end=time(13))]
    return ClinicProfile(
        id=uuid.uuid4(),
        slug="harbor",
        name="Harbor Family Dentistry",
        timezone="America/Los_Angeles",
        address="400 Pier Avenue, Bayport",
        agent_name="Leo",
        style_notes="Mention that parking behind the building is free when giving directions.",
        opening_hours=OpeningHours(days=days),
        escalation=EscalationRules(
            transfer_number="+15550200201",
            after_hours_policy=AfterHoursPolicy.transfer_anyway,
            dental_urgency=DentalUrgencyPolicy.clinical_line,
        ),
        booking_rules=BookingRules(),
        accepted_insurance=[],
        providers=[haddad],
        services=[whitening],
    )
