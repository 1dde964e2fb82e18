"""The tenancy-scoped repository: clinic A's repository never sees clinic B's rows."""

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdesk.domain.booking import book_appointment
from frontdesk.domain.database import session_scope
from frontdesk.domain.errors import NotFound, ProviderDoesNotOfferService
from frontdesk.domain.models import (
    Action,
    Appointment,
    Call,
    CallDirection,
    CallTurn,
    Message,
    MessageChannel,
    Patient,
    Provider,
    Service,
    TurnRole,
)
from frontdesk.domain.repository import ClinicRepository, clinic_by_phone_number, clinic_by_slug
from tests.domain.factories import NOW, SmallClinic, local, make_small_clinic

SAME_PHONE = "+15550111000"  # both small clinics have a patient with this number


@dataclass(frozen=True)
class Tenant:
    ids: SmallClinic
    call_id: UUID
    call_sid: str
    appointment_id: UUID


def _tenant(engine: Engine, slug: str, number: str) -> Tenant:
    ids = make_small_clinic(engine, slug, number)
    appointment = book_appointment(
        engine,
        ids.clinic_id,
        patient_id=ids.patient_id,
        provider_id=ids.provider_id,
        service_id=ids.exam_id,
        start_at=local(2030, 1, 9, 10),
        idempotency_key="shared-key",  # keys are unique per clinic, not globally
        now=NOW,
    )
    sid = f"CA-{slug}"
    with session_scope(engine) as session:
        call = Call(
            clinic_id=ids.clinic_id,
            call_sid=sid,
            direction=CallDirection.inbound,
            from_number=SAME_PHONE,
            to_number=number,
        )
        session.add(call)
        session.flush()
        session.add(
            CallTurn(clinic_id=ids.clinic_id, call_id=call.id, index=0, role=TurnRole.caller, text="hi")
        )
        session.add(
            Message(
                clinic_id=ids.clinic_id,
                channel=MessageChannel.sms,
                to=SAME_PHONE,
                body="See you soon",
                idempotency_key="shared-key",
                appointment_id=appointment.id,
                call_id=call.id,
            )
        )
    return Tenant(ids, call.id, sid, appointment.id)


@pytest.fixture
def tenants(engine: Engine) -> tuple[Tenant, Tenant]:
    return _tenant(engine, "clinic-a", "+15550150000"), _tenant(engine, "clinic-b", "+15550160000")


def test_a_never_sees_b(engine: Engine, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    with Session(engine) as session:
        repo = ClinicRepository(session, a.ids.clinic_id)
        for model, ident in [
            (Provider, b.ids.provider_id),
            (Service, b.ids.exam_id),
            (Patient, b.ids.patient_id),
            (Appointment, b.appointment_id),
            (Call, b.call_id),
        ]:
            assert repo.get(model, ident) is None
            with pytest.raises(NotFound):
                repo.require(model, ident)
            assert repo.get(model, own_id_of(a, model)) is not None  # A's own row is there

        assert repo.call_by_sid(b.call_sid) is None
        assert repo.call_by_sid(a.call_sid) is not None
        assert repo.turns(b.call_id) == []
        assert [t.text for t in repo.turns(a.call_id)] == ["hi"]
        assert repo.messages(call_id=b.call_id) == []
        assert repo.messages(appointment_id=b.appointment_id) == []
        assert repo.upcoming_appointments(b.ids.patient_id, NOW) == []
        assert repo.providers_for_service(b.ids.exam_id) == []

        # Unfiltered listings hold A's rows only.
        own = a.ids.clinic_id
        lists: list[list] = [
            repo.providers(),
            repo.services(),
            repo.patients_by_phone(SAME_PHONE),
            repo.appointments(),
            repo.calls(),
            repo.actions(),
            repo.messages(),
            repo.phone_numbers(),
        ]
        for rows in lists:
            assert rows, "every listing has rows of A"
            assert {row.clinic_id for row in rows} == {own}
        key_action = repo.action_by_key("shared-key")
        key_message = repo.message_by_key("shared-key")
        assert key_action is not None and key_action.clinic_id == own
        assert key_message is not None and key_message.clinic_id == own


def own_id_of(tenant: Tenant, model: type) -> UUID:
    """The id of the tenant's own row of `model`."""
    return {
        Provider: tenant.ids.provider_id,
        Service: tenant.ids.exam_id,
        Patient: tenant.ids.patient_id,
        Appointment: tenant.appointment_id,
        Call: tenant.call_id,
    }[model]


def test_add_refuses_another_clinics_row(engine: Engine, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    with Session(engine) as session:
        repo = ClinicRepository(session, a.ids.clinic_id)
        with pytest.raises(ValueError, match="cannot be added"):
            repo.add(Action(clinic_id=b.ids.clinic_id, kind="x", idempotency_key="k"))


def test_unknown_clinic_is_not_found(engine: Engine) -> None:
    with Session(engine) as session:
        repo = ClinicRepository(session, UUID(int=7))
        with pytest.raises(NotFound, match="clinic"):
            repo.clinic()


def test_tenant_lookups(engine: Engine, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    with Session(engine) as session:
        by_number = clinic_by_phone_number(session, "+15550160000")
        assert by_number is not None and by_number.id == b.ids.clinic_id
        assert clinic_by_phone_number(session, "+15559999999") is None
        by_slug = clinic_by_slug(session, "clinic-a")
        assert by_slug is not None and by_slug.id == a.ids.clinic_id


def test_finding_providers_services_and_patients(engine: Engine, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    with Session(engine) as session:
        repo = ClinicRepository(session, a.ids.clinic_id)
        lopez = repo.get(Provider, a.ids.provider_id)
        assert lopez is not None
        for spoken in ["Dr. Lopez", "doctor lopez", "lopes", "Ana Lopez", "the dentist"]:
            assert repo.provider_by_name(spoken) == lopez, spoken
        assert repo.provider_by_name("Dr. Nobody") is None
        assert repo.provider_by_name("doctor") is None  # says nothing about who
        assert {p.id for p in repo.find_providers("Tom")} == {a.ids.other_provider_id}

        cleaning = repo.find_service("I'd like a teeth cleaning")
        assert cleaning is not None and cleaning.id == a.ids.cleaning_id
        exam = repo.find_service("EXAM")
        assert exam is not None and exam.id == a.ids.exam_id
        assert repo.find_service("root canal") is None
        assert repo.service_by_slug("exam") == exam

        patient = repo.patient_by_name_and_dob("pat", "DOE", date(2000, 1, 1))
        assert patient is None  # the small clinic's patient has no date of birth
        with_dob = repo.require(Patient, a.ids.patient_id)
        with_dob.date_of_birth = date(1980, 2, 3)
        session.flush()
        assert repo.patient_by_name_and_dob(" pat ", "DOE", date(1980, 2, 3)) == with_dob


def test_appointment_queries(engine: Engine, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    with Session(engine) as session:
        repo = ClinicRepository(session, a.ids.clinic_id)
        (upcoming,) = repo.upcoming_appointments(a.ids.patient_id, NOW)
        assert upcoming.id == a.appointment_id
        assert repo.upcoming_appointments(a.ids.patient_id, local(2030, 1, 9, 11)) == []
        assert [x.id for x in repo.appointments(day=date(2030, 1, 9))] == [a.appointment_id]
        assert repo.appointments(day=date(2030, 1, 10)) == []
        assert repo.appointments(provider_id=a.ids.other_provider_id) == []
        assert repo.appointments(statuses=["cancelled"]) == []


def test_available_slots(engine: Engine, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    with Session(engine) as session:
        repo = ClinicRepository(session, a.ids.clinic_id)
        day = date(2030, 1, 9)
        dentist = repo.available_slots(a.ids.exam_id, a.ids.provider_id, day, day, NOW)
        starts = [slot.start for slot in dentist]
        assert starts[0] == local(2030, 1, 9, 8)
        assert local(2030, 1, 9, 10) not in starts  # booked
        assert local(2030, 1, 9, 17, 30) == starts[-1]  # a 30-minute exam ends at 18:00
        assert all(slot.end - slot.start == timedelta(minutes=30) for slot in dentist)

        anyone = repo.available_slots(a.ids.cleaning_id, None, day, day, NOW)
        assert {slot.provider_id for slot in anyone} == {a.ids.provider_id, a.ids.other_provider_id}
        with pytest.raises(ProviderDoesNotOfferService):
            repo.available_slots(a.ids.exam_id, a.ids.other_provider_id, day, day, NOW)
        with pytest.raises(NotFound):
            repo.available_slots(b.ids.exam_id, None, day, day, NOW)
