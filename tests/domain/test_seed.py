"""The demo clinic seed: idempotent, complete, and its appointments sit in valid slots."""

from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.domain import availability
from frontdesk.domain.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Patient,
    Provider,
    ScheduleException,
    Service,
)
from frontdesk.domain.repository import ClinicRepository, clinic_by_phone_number
from frontdesk.domain.seed import seed_demo

TODAY = date(2030, 3, 6)  # a Wednesday, days before the US spring-forward of 2030-03-10


def test_seed_is_idempotent(engine: Engine) -> None:
    first = seed_demo(engine, TODAY)
    second = seed_demo(engine, TODAY + timedelta(days=3))
    assert second.id == first.id
    with Session(engine) as session:
        assert len(session.exec(select(Clinic)).all()) == 1
        assert len(session.exec(select(Appointment)).all()) == 4


def test_seed_creates_maple_dental(engine: Engine) -> None:
    clinic = seed_demo(engine, TODAY)
    assert (clinic.slug, clinic.name, clinic.timezone, clinic.agent_name) == (
        "demo",
        "Maple Dental",
        "America/New_York",
        "Ava",
    )
    escalation = clinic.get_escalation()
    assert (escalation.transfer_number, escalation.billing_number, escalation.clinical_number) == (
        "+15550100001",
        "+15550100002",
        "+15550100003",
    )
    assert clinic.get_insurance().accepted == ["Delta Dental", "Cigna", "Aetna", "MetLife", "Guardian"]
    hours = clinic.get_opening_hours()
    assert [(r.start, r.end) for r in hours.ranges_for(0)] == [(time(8), time(17))]
    assert [(r.start, r.end) for r in hours.ranges_for(5)] == [(time(9), time(13))]
    assert hours.ranges_for(6) == []

    with Session(engine) as session:
        found = clinic_by_phone_number(session, "+15550100000")
        assert found is not None and found.id == clinic.id
        repo = ClinicRepository(session, clinic.id)
        services = {s.slug: s.duration_minutes for s in repo.services()}
        assert services == {"cleaning": 60, "exam": 30, "filling": 60, "consultation": 30}
        offered = {p.name: sorted(s.slug for s in repo.services_of_provider(p.id)) for p in repo.providers()}
        assert offered == {
            "Dr. Priya Patel": ["cleaning", "consultation", "exam", "filling"],
            "Dr. Marcus Chen": ["consultation", "exam", "filling"],
            "Sarah Kim": ["cleaning"],
        }
        chen = repo.provider_by_name("Dr. Chen")
        assert chen is not None
        (chen_calendar,) = repo.provider_calendars([chen.id], *repo.local_day_bounds(TODAY))
        assert sorted({hours.weekday for hours in chen_calendar.weekly}) == [1, 2, 3, 4, 5]  # Tue-Sat

        john = repo.patient_by_name_and_dob("John", "Smith", date(1975, 6, 14))
        maria = repo.patient_by_name_and_dob("Maria", "Garcia", date(1990, 11, 2))
        assert john is not None and john.phone == "+15550199002" and john.insurance_carrier == "Delta Dental"
        assert maria is not None and maria.phone == "+15550199003"
        assert repo.patients_by_phone("+15550199001") == []  # kept free for "new patient" scenarios
        assert all(p.phone.startswith("+155501990") for p in session.exec(select(Patient)))

        now = datetime.combine(TODAY, time(), tzinfo=clinic.tz)
        (johns,) = repo.upcoming_appointments(john.id, now)
        (marias,) = repo.upcoming_appointments(maria.id, now)
        assert repo.require(Service, johns.service_id).slug == "cleaning"
        assert repo.require(Service, marias.service_id).slug == "exam"

        (time_off,) = session.exec(select(ScheduleException)).all()
        assert repo.require(Provider, time_off.provider_id).short_name == "Dr. Patel"
        assert TODAY < time_off.start_at.astimezone(clinic.tz).date() <= TODAY + timedelta(days=7)


def test_seeded_appointments_are_in_valid_slots(engine: Engine) -> None:
    clinic = seed_demo(engine, TODAY)
    now = datetime.combine(TODAY, time(), tzinfo=clinic.tz)
    with Session(engine) as session:
        repo = ClinicRepository(session, clinic.id)
        appointments = repo.appointments()
        upcoming = [a for a in appointments if a.status == AppointmentStatus.booked]
        assert len(upcoming) == 3
        assert all(a.start_at > now for a in upcoming)
        for appointment in appointments:
            service = repo.require(Service, appointment.service_id)
            assert appointment.end_at - appointment.start_at == timedelta(minutes=service.duration_minutes)
            (calendar,) = repo.provider_calendars(
                [appointment.provider_id],
                appointment.start_at,
                appointment.end_at,
                exclude_appointment_id=appointment.id,
            )
            # The past (completed) one is checked as if booked the day before it.
            booked_at = min(now, appointment.start_at - timedelta(days=1))
            assert availability.is_slot_available(
                calendar,
                appointment.start_at,
                duration=appointment.end_at - appointment.start_at,
                rules=clinic.get_booking_rules(),
                tz=clinic.tz,
                now=booked_at,
                opening_hours=clinic.get_opening_hours(),
            ), appointment


def test_seed_defaults_to_today(engine: Engine) -> None:
    clinic = seed_demo(engine)
    with Session(engine) as session:
        repo = ClinicRepository(session, clinic.id)
        today = datetime.now(clinic.tz).date()
        starts = [a.start_at.astimezone(clinic.tz).date() for a in repo.appointments(statuses=["booked"])]
        assert starts and all(today < start <= today + timedelta(days=30) for start in starts)
