"""The demo clinic: Maple Dental (slug `demo`), its staff, schedules, patients and appointments.

Everything time-dependent is placed relative to `today` (the clinic's local date), and upcoming
appointments are taken from the availability engine's own slots, so they are always valid.
"""

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frontdesk.domain.clinic_settings import (
    AfterHoursPolicy,
    BookingRules,
    DentalUrgencyPolicy,
    EndOfTurnProfile,
    EscalationRules,
    InsuranceCarriers,
    OpeningHours,
    TimeRange,
    Weekday,
)
from frontdesk.domain.database import session_scope, write_scope
from frontdesk.domain.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    ExceptionKind,
    Patient,
    PhoneNumber,
    Provider,
    ProviderRole,
    ProviderSchedule,
    ProviderService,
    ScheduleException,
    Service,
)
from frontdesk.domain.repository import ClinicRepository, clinic_by_slug
from frontdesk.logs import get_logger

log = get_logger(__name__)

DEMO_SLUG = "demo"
DEMO_TIMEZONE = "America/New_York"
DEMO_NUMBER = "+15550100000"

_WEEKDAYS = (Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday)

# slug -> (name, minutes, description)
_SERVICES = {
    "cleaning": ("Cleaning", 60, "Routine cleaning and polish by a hygienist."),
    "exam": ("Exam", 30, "Check-up exam with a dentist, including X-rays when due."),
    "filling": ("Filling", 60, "Tooth-coloured filling for a cavity."),
    "consultation": ("Consultation", 30, "Talk through a treatment plan or a new concern."),
}

# (name, short name, role, services, weekly blocks as (weekdays, start, end))
_PROVIDERS: tuple[
    tuple[str, str, ProviderRole, tuple[str, ...], tuple[tuple[range, time, time], ...]], ...
] = (
    (
        "Dr. Priya Patel",
        "Dr. Patel",
        ProviderRole.dentist,
        ("exam", "filling", "consultation", "cleaning"),
        ((range(0, 5), time(8), time(12)), (range(0, 5), time(13), time(16))),
    ),
    (
        "Dr. Marcus Chen",
        "Dr. Chen",
        ProviderRole.dentist,
        ("exam", "filling", "consultation"),
        (
            (range(1, 5), time(9), time(13)),
            (range(1, 5), time(14), time(17)),
            (range(5, 6), time(9), time(13)),
        ),
    ),
    (
        "Sarah Kim",
        "Sarah Kim",
        ProviderRole.hygienist,
        ("cleaning",),
        ((range(0, 5), time(8), time(12)), (range(0, 5), time(13), time(17))),
    ),
)

# (first, last, date of birth, phone, email, carrier, member id)
_PATIENTS = (
    (
        "John",
        "Smith",
        date(1975, 6, 14),
        "+15550199002",
        "john.smith@example.com",
        "Delta Dental",
        "DD48213377",
    ),
    ("Maria", "Garcia", date(1990, 11, 2), "+15550199003", "maria.garcia@example.com", "Cigna", "U7712045"),
    # Carries an insurer the clinic does not accept: the insurance-check scenario.
    (
        "Robert",
        "Johnson",
        date(1962, 3, 21),
        "+15550199004",
        "rjohnson@example.com",
        "UnitedHealthcare",
        "UH90322",
    ),
    ("Emily", "Davis", date(1988, 8, 30), "+15550199005", "emily.davis@example.com", "MetLife", "ML5531980"),
)

# (patient first name, provider short name, service slug, days after today, earliest local time)
_UPCOMING = (
    ("John", "Sarah Kim", "cleaning", 3, time(10)),
    ("Maria", "Dr. Patel", "exam", 5, time(14)),
    ("Robert", "Dr. Chen", "filling", 8, time(11)),
)
# Emily's last cleaning was about six months ago: she is due for a recall call.
_PAST_CLEANING_DAYS_AGO = 182


def seed_demo(
    engine: Engine, today: date | None = None, slug: str = DEMO_SLUG, number: str = DEMO_NUMBER
) -> Clinic:
    """Create the demo clinic unless it exists; return it either way.

    `today` is the clinic-local date the schedule is relative to (default: today in New York).
    `slug` and `number` make another copy of it (the test-call suite gives each call its own).
    """
    with session_scope(engine) as session:
        existing = clinic_by_slug(session, slug)
    if existing is not None:
        return existing
    try:
        with write_scope(engine) as session:
            existing = clinic_by_slug(session, slug)
            if existing is not None:
                return existing
            clinic = _demo_clinic(slug)
            session.add(clinic)
            session.flush()
            _populate(ClinicRepository(session, clinic.id), today or datetime.now(clinic.tz).date(), number)
    except sa.exc.IntegrityError:
        # Another process seeded it between our check and our insert.
        with session_scope(engine) as session:
            existing = clinic_by_slug(session, slug)
        if existing is None:
            raise
        return existing
    log.info("demo clinic seeded", clinic_id=str(clinic.id))
    return clinic


def _demo_clinic(slug: str) -> Clinic:
    weekday_hours = [TimeRange(start=time(8), end=time(17))]
    hours = OpeningHours(
        days={
            **{day: weekday_hours for day in _WEEKDAYS},
            Weekday.saturday: [TimeRange(start=time(9), end=time(13))],
        }
    )
    return Clinic(
        slug=slug,
        name="Maple Dental",
        timezone=DEMO_TIMEZONE,
        address="1420 Maple Avenue, Suite 200, Springfield, NJ 07081",
        opening_hours=hours,
        agent_name="Ava",
        voice="default",
        greeting="Thank you for calling Maple Dental, this is Ava. How can I help you today?",
        style_notes=(
            "Warm, calm and brief. Use the patient's first name once you know it. "
            "Never give clinical advice; offer the clinical line for urgent questions."
        ),
        max_call_seconds=600,
        end_of_turn_profile=EndOfTurnProfile.balanced,
        escalation=EscalationRules(
            transfer_number="+15550100001",
            billing_number="+15550100002",
            clinical_number="+15550100003",
            after_hours_policy=AfterHoursPolicy.take_message,
            dental_urgency=DentalUrgencyPolicy.book_soonest,
        ),
        booking_rules=BookingRules(
            min_lead_minutes=120, horizon_days=60, buffer_minutes=10, slot_step_minutes=15
        ),
        insurance=InsuranceCarriers(accepted=["Delta Dental", "Cigna", "Aetna", "MetLife", "Guardian"]),
    )


def _populate(repo: ClinicRepository, today: date, number: str) -> None:
    clinic = repo.clinic()
    tz = clinic.tz
    repo.add(PhoneNumber(clinic_id=clinic.id, e164=number, label="main"))
    services = {
        slug: repo.add(
            Service(
                clinic_id=clinic.id, slug=slug, name=name, duration_minutes=minutes, description=description
            )
        )
        for slug, (name, minutes, description) in _SERVICES.items()
    }
    providers: dict[str, Provider] = {}
    for name, short_name, role, offered, blocks in _PROVIDERS:
        provider = repo.add(Provider(clinic_id=clinic.id, name=name, short_name=short_name, role=role))
        providers[short_name] = provider
        repo.session.flush()
        for slug in offered:
            repo.add(
                ProviderService(clinic_id=clinic.id, provider_id=provider.id, service_id=services[slug].id)
            )
        for weekdays, start, end in blocks:
            for weekday in weekdays:
                repo.add(
                    ProviderSchedule(
                        clinic_id=clinic.id,
                        provider_id=provider.id,
                        weekday=weekday,
                        start_time=start,
                        end_time=end,
                    )
                )

    # Dr. Patel is away for a whole working day a few days from now.
    day_off = _next_weekday(today + timedelta(days=4))
    repo.add(
        ScheduleException(
            clinic_id=clinic.id,
            provider_id=providers["Dr. Patel"].id,
            start_at=datetime.combine(day_off, time(), tzinfo=tz),
            end_at=datetime.combine(day_off + timedelta(days=1), time(), tzinfo=tz),
            kind=ExceptionKind.time_off,
            note="Continuing-education course",
        )
    )

    patients: dict[str, Patient] = {}
    for first, last, born, phone, email, carrier, member_id in _PATIENTS:
        patients[first] = repo.add(
            Patient(
                clinic_id=clinic.id,
                phone=phone,
                first_name=first,
                last_name=last,
                date_of_birth=born,
                email=email,
                insurance_carrier=carrier,
                insurance_member_id=member_id,
            )
        )
    repo.session.flush()

    # "Now" for the schedule is the start of `today`, so a given date always seeds the same times.
    now = datetime.combine(today, time(), tzinfo=tz).astimezone(UTC)
    for first, short_name, slug, days_ahead, not_before in _UPCOMING:
        service, provider = services[slug], providers[short_name]
        day = today + timedelta(days=days_ahead)
        slots = repo.available_slots(service.id, provider.id, day, day + timedelta(days=14), now)
        slot = next(s for s in slots if s.start.astimezone(tz).time() >= not_before)
        repo.add(
            Appointment(
                clinic_id=clinic.id,
                patient_id=patients[first].id,
                provider_id=provider.id,
                service_id=service.id,
                start_at=slot.start,
                end_at=slot.end,
                status=AppointmentStatus.booked,
            )
        )
        repo.session.flush()  # the next search must see this appointment as busy

    past_day = _next_weekday(today - timedelta(days=_PAST_CLEANING_DAYS_AGO))
    past_start = datetime.combine(past_day, time(9), tzinfo=tz)
    repo.add(
        Appointment(
            clinic_id=clinic.id,
            patient_id=patients["Emily"].id,
            provider_id=providers["Sarah Kim"].id,
            service_id=services["cleaning"].id,
            start_at=past_start,
            end_at=past_start + timedelta(minutes=services["cleaning"].duration_minutes),
            status=AppointmentStatus.completed,
        )
    )


def _next_weekday(day: date) -> date:
    """`day` itself if it is Monday to Friday, else the Monday after."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
