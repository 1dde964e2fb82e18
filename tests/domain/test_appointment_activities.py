"""The appointment activities: keys from the activity's identity, final domain errors, payloads."""

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from frontdesk.activities.appointments import (
    APPOINTMENT_ACTIVITIES,
    BookAppointmentInput,
    CancelAppointmentInput,
    RescheduleAppointmentInput,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from frontdesk.config import get_settings
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Action, Appointment
from frontdesk.domain.repository import ClinicRepository
from tests.domain.factories import NEW_YORK, SmallClinic, local, make_small_clinic


@pytest.fixture
def clinic(engine: Engine) -> SmallClinic:
    return make_small_clinic(engine, "east", "+15550140000")


@pytest.fixture(autouse=True)
def _settings_point_at_the_test_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _environment(workflow_id: str, activity_id: str) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=workflow_id, activity_id=activity_id)
    return env


def _tomorrow_at(hour: int) -> datetime:
    # Activities use the real clock, so book a little ahead of it (the horizon is 30 days).
    day = datetime.now(NEW_YORK).date() + timedelta(days=2)
    return local(day.year, day.month, day.day, hour)


def test_registered_activities() -> None:
    names = {fn.__temporal_activity_definition.name for fn in APPOINTMENT_ACTIVITIES}  # type: ignore[attr-defined]
    assert names == {
        "book_appointment",
        "reschedule_appointment",
        "cancel_appointment",
        "confirm_appointment",
    }


def test_a_retried_activity_books_once(engine: Engine, clinic: SmallClinic) -> None:
    request = BookAppointmentInput(
        clinic_id=clinic.clinic_id,
        patient_id=clinic.patient_id,
        provider_id=clinic.provider_id,
        service_id=clinic.exam_id,
        start_at=_tomorrow_at(10),
    )
    env = _environment("CA-call-1", "7")
    first = env.run(book_appointment, request)
    retried = env.run(book_appointment, request)
    assert retried == first
    assert first.start == request.start_at and first.status == "booked"
    with session_scope(engine) as session:
        repo = ClinicRepository(session, clinic.clinic_id)
        assert [a.idempotency_key for a in repo.actions()] == ["CA-call-1/7"]
        assert len(repo.appointments()) == 1

    # Another activity of another workflow asking for the same slot is told it is taken, finally.
    with pytest.raises(ApplicationError) as caught:
        _environment("CA-call-2", "3").run(book_appointment, request)
    assert caught.value.non_retryable
    assert caught.value.type == "SlotTaken"
    assert "just taken" in caught.value.message


def test_reschedule_and_cancel_with_explicit_keys(engine: Engine, clinic: SmallClinic) -> None:
    env = _environment("CA-call-3", "1")
    booked = env.run(
        book_appointment,
        BookAppointmentInput(
            clinic_id=clinic.clinic_id,
            patient_id=clinic.patient_id,
            provider_id=clinic.provider_id,
            service_id=clinic.exam_id,
            start_at=_tomorrow_at(10),
            idempotency_key="explicit-book",
        ),
    )
    moved = env.run(
        reschedule_appointment,
        RescheduleAppointmentInput(
            clinic_id=clinic.clinic_id,
            appointment_id=booked.id,
            new_start_at=_tomorrow_at(15),
            idempotency_key="explicit-move",
        ),
    )
    assert moved.id == booked.id and moved.start == _tomorrow_at(15)
    cancelled = env.run(
        cancel_appointment,
        CancelAppointmentInput(clinic_id=clinic.clinic_id, appointment_id=booked.id, reason="travel"),
    )
    assert cancelled.status == "cancelled"
    with session_scope(engine) as session:
        keys = [a.idempotency_key for a in ClinicRepository(session, clinic.clinic_id).actions()]
    assert sorted(keys) == ["CA-call-3/1", "explicit-book", "explicit-move"]

    with pytest.raises(ApplicationError) as caught:
        _environment("CA-call-3", "2").run(
            cancel_appointment,
            CancelAppointmentInput(clinic_id=clinic.clinic_id, appointment_id=booked.id),
        )
    assert caught.value.non_retryable and caught.value.type == "AppointmentNotActive"


def test_bad_input_is_final_too(clinic: SmallClinic) -> None:
    request = BookAppointmentInput(
        clinic_id=clinic.clinic_id,
        patient_id=clinic.patient_id,
        provider_id=clinic.provider_id,
        service_id=clinic.exam_id,
        start_at=_tomorrow_at(10).replace(tzinfo=None),
    )
    with pytest.raises(ApplicationError, match="timezone-aware") as caught:
        _environment("CA-call-4", "1").run(book_appointment, request)
    assert caught.value.non_retryable


def test_inputs_and_results_survive_the_temporal_data_converter(engine: Engine, clinic: SmallClinic) -> None:
    converter = DataConverter.default.payload_converter
    request = BookAppointmentInput(
        clinic_id=clinic.clinic_id,
        patient_id=clinic.patient_id,
        provider_id=clinic.provider_id,
        service_id=clinic.exam_id,
        start_at=_tomorrow_at(11),
        call_id=None,
    )
    (decoded_request,) = converter.from_payloads(converter.to_payloads([request]), [BookAppointmentInput])
    assert decoded_request == request
    result = _environment("CA-call-5", "1").run(book_appointment, decoded_request)
    (decoded_result,) = converter.from_payloads(converter.to_payloads([result]), [AppointmentRecord])
    assert decoded_result == result
    with session_scope(engine) as session:
        row = session.get(Appointment, result.id)
        assert row is not None and row.start_at == request.start_at
        assert len(session.exec(select(Action)).all()) == 1
