"""A small, fully deterministic clinic for domain tests (no dependence on today's date)."""

from dataclasses import dataclass
from datetime import UTC, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from frontdesk.domain.clinic_settings import BookingRules
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import (
    Clinic,
    Patient,
    PhoneNumber,
    Provider,
    ProviderRole,
    ProviderSchedule,
    ProviderService,
    Service,
)

NEW_YORK = ZoneInfo("America/New_York")
# Tuesday 2030-01-08, 12:00 UTC (07:00 in New York): "now" for bookings in these tests.
NOW = datetime(2030, 1, 8, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SmallClinic:
    """Ids of a clinic with one dentist (daily 08:00-18:00 New York), a 30-minute exam
    and a 60-minute cleaning (offered by the dentist), and one patient."""

    clinic_id: UUID
    provider_id: UUID
    other_provider_id: UUID  # a hygienist who offers only the cleaning
    exam_id: UUID
    cleaning_id: UUID
    patient_id: UUID


def make_small_clinic(engine: Engine, slug: str, number: str, *, buffer_minutes: int = 0) -> SmallClinic:
    """Create a small clinic with its staff, services and one patient."""
    with session_scope(engine) as session:
        clinic = Clinic(
            slug=slug,
            name=f"Clinic {slug}",
            timezone="America/New_York",
            booking_rules=BookingRules(min_lead_minutes=60, horizon_days=30, buffer_minutes=buffer_minutes),
        )
        session.add(clinic)
        session.flush()
        session.add(PhoneNumber(clinic_id=clinic.id, e164=number))
        dentist = Provider(
            clinic_id=clinic.id, name="Dr. Ana Lopez", short_name="Dr. Lopez", role=ProviderRole.dentist
        )
        hygienist = Provider(
            clinic_id=clinic.id, name="Tom Reed", short_name="Tom", role=ProviderRole.hygienist
        )
        exam = Service(clinic_id=clinic.id, slug="exam", name="Exam", duration_minutes=30)
        cleaning = Service(clinic_id=clinic.id, slug="cleaning", name="Cleaning", duration_minutes=60)
        patient = Patient(clinic_id=clinic.id, phone="+15550111000", first_name="Pat", last_name="Doe")
        session.add_all([dentist, hygienist, exam, cleaning, patient])
        session.flush()
        for provider, service in [(dentist, exam), (dentist, cleaning), (hygienist, cleaning)]:
            session.add(ProviderService(clinic_id=clinic.id, provider_id=provider.id, service_id=service.id))
        for provider in (dentist, hygienist):
            for weekday in range(7):
                session.add(
                    ProviderSchedule(
                        clinic_id=clinic.id,
                        provider_id=provider.id,
                        weekday=weekday,
                        start_time=time(8),
                        end_time=time(18),
                    )
                )
        return SmallClinic(clinic.id, dentist.id, hygienist.id, exam.id, cleaning.id, patient.id)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An aware datetime in the small clinic's time zone (America/New_York)."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)
