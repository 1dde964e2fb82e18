"""Booking integrity: concurrency, idempotency, rescheduling, cancelling, tenancy."""

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.domain.booking import book_appointment, cancel_appointment, reschedule_appointment
from frontdesk.domain.database import create_database_engine, session_scope
from frontdesk.domain.errors import (
    AppointmentNotActive,
    IdempotencyKeyReused,
    NotFound,
    ProviderDoesNotOfferService,
    SlotTaken,
    SlotUnavailable,
)
from frontdesk.domain.models import Action, Appointment, AppointmentStatus
from tests.domain.factories import NOW, SmallClinic, local, make_small_clinic

ATTEMPTS = 50


@pytest.fixture
def clinic(engine: Engine) -> SmallClinic:
    return make_small_clinic(engine, "north", "+15550120000", buffer_minutes=15)


def _book(engine: Engine, c: SmallClinic, start: datetime, key: str, **overrides: Any) -> Appointment:
    arguments = {
        "patient_id": c.patient_id,
        "provider_id": c.provider_id,
        "service_id": c.exam_id,
        "start_at": start,
        "idempotency_key": key,
        "now": NOW,
    }
    return book_appointment(engine, c.clinic_id, **{**arguments, **overrides})


def _active_rows(engine: Engine) -> list[Appointment]:
    with Session(engine) as session:
        statement = select(Appointment).where(
            Appointment.status.in_([AppointmentStatus.booked, AppointmentStatus.confirmed])
        )
        return list(session.exec(statement))


def test_concurrent_bookings_of_one_slot_let_exactly_one_through(
    database_url: str, engine: Engine, clinic: SmallClinic
) -> None:
    # Our own engine so that every thread holds a connection of its own at the same time.
    own_engine = create_database_engine(database_url, pool_size=ATTEMPTS, max_overflow=0)
    start = local(2030, 1, 9, 10)
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: list[object] = [None] * ATTEMPTS

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = _book(own_engine, clinic, start, f"attempt-{i}")
        except Exception as exc:  # recorded and asserted on below
            outcomes[i] = exc

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(ATTEMPTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        own_engine.dispose()

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Appointment": 1, "SlotTaken": ATTEMPTS - 1}, outcomes
    taken = next(o for o in outcomes if isinstance(o, SlotTaken))
    assert "just taken" in taken.message
    (row,) = _active_rows(engine)
    assert row.start_at == start


def test_concurrent_twins_with_one_key_book_once(
    database_url: str, engine: Engine, clinic: SmallClinic
) -> None:
    # A retry racing a slow first attempt: same key, same request, at the same time.
    twins = 10
    own_engine = create_database_engine(database_url, pool_size=twins, max_overflow=0)
    barrier = threading.Barrier(twins)
    outcomes: list[object] = [None] * twins

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = _book(own_engine, clinic, local(2030, 1, 9, 10), "the-one-key")
        except Exception as exc:  # recorded and asserted on below
            outcomes[i] = exc

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(twins)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        own_engine.dispose()
    assert all(isinstance(outcome, Appointment) for outcome in outcomes), outcomes
    assert len({outcome.id for outcome in outcomes if isinstance(outcome, Appointment)}) == 1
    assert len(_active_rows(engine)) == 1


def test_overlapping_but_different_start_is_taken_too(engine: Engine, clinic: SmallClinic) -> None:
    _book(engine, clinic, local(2030, 1, 9, 10), "first", service_id=clinic.cleaning_id)  # 10:00-11:00
    with pytest.raises(SlotTaken):
        _book(engine, clinic, local(2030, 1, 9, 10, 30), "second")
    # The buffer (15 min) keeps 11:00 free of a new start; 11:15 is fine.
    with pytest.raises(SlotTaken):
        _book(engine, clinic, local(2030, 1, 9, 11), "third")
    assert _book(engine, clinic, local(2030, 1, 9, 11, 15), "fourth").start_at == local(2030, 1, 9, 11, 15)


def test_another_provider_may_take_the_same_time(engine: Engine, clinic: SmallClinic) -> None:
    start = local(2030, 1, 9, 10)
    _book(engine, clinic, start, "dentist", service_id=clinic.cleaning_id)
    other = _book(
        engine,
        clinic,
        start,
        "hygienist",
        provider_id=clinic.other_provider_id,
        service_id=clinic.cleaning_id,
    )
    assert other.provider_id == clinic.other_provider_id
    assert len(_active_rows(engine)) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_constraint_refuses_overlap_written_around_the_booking_code(
    engine: Engine, clinic: SmallClinic
) -> None:
    start = local(2030, 1, 9, 10)
    rows = [
        Appointment(
            clinic_id=clinic.clinic_id,
            patient_id=clinic.patient_id,
            provider_id=clinic.provider_id,
            service_id=clinic.exam_id,
            start_at=start + timedelta(minutes=offset),
            end_at=start + timedelta(minutes=offset + 30),
        )
        for offset in (0, 15)
    ]
    with session_scope(engine) as session:
        session.add(rows[0])
    with (
        pytest.raises(sa.exc.IntegrityError, match="ex_appointments_no_overlap"),
        session_scope(engine) as session,
    ):
        session.add(rows[1])
    # A cancelled appointment does not hold its slot.
    with session_scope(engine) as session:
        first = session.get(Appointment, rows[0].id)
        assert first is not None
        first.status = AppointmentStatus.cancelled
    with session_scope(engine) as session:
        session.add(Appointment.model_validate(rows[1].model_dump()))


def test_idempotent_retry_returns_the_first_result(engine: Engine, clinic: SmallClinic) -> None:
    start = local(2030, 1, 9, 10)
    first = _book(engine, clinic, start, "call-1/book-1")
    again = _book(engine, clinic, start, "call-1/book-1")
    assert again.id == first.id
    assert len(_active_rows(engine)) == 1
    with Session(engine) as session:
        actions = list(session.exec(select(Action)))
    assert [(a.kind, a.idempotency_key, a.result) for a in actions] == [
        ("book_appointment", "call-1/book-1", {"appointment_id": str(first.id)})
    ]


def test_a_key_reused_for_a_different_request_is_refused(engine: Engine, clinic: SmallClinic) -> None:
    _book(engine, clinic, local(2030, 1, 9, 10), "key-1")
    with pytest.raises(IdempotencyKeyReused, match="key-1"):
        _book(engine, clinic, local(2030, 1, 9, 14), "key-1")
    assert len(_active_rows(engine)) == 1


def test_unavailable_times_are_refused_with_the_reason(engine: Engine, clinic: SmallClinic) -> None:
    cases = {
        local(2030, 1, 8, 7, 30): "notice",  # 30 minutes from NOW, lead time is 60
        local(2030, 3, 1, 10): "days ahead",  # beyond the 30-day horizon
        local(2030, 1, 9, 19): "open appointment times",  # after hours
        local(2030, 1, 9, 10, 5): "open appointment times",  # off the 15-minute grid
    }
    for start, reason in cases.items():
        with pytest.raises(SlotUnavailable, match=reason):
            _book(engine, clinic, start, f"key-{start.isoformat()}")
    assert _active_rows(engine) == []


def test_bad_inputs_get_clear_errors(engine: Engine, clinic: SmallClinic) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _book(engine, clinic, local(2030, 1, 9, 10).replace(tzinfo=None), "naive")
    with pytest.raises(ValueError, match="idempotency_key"):
        _book(engine, clinic, local(2030, 1, 9, 10), "  ")
    with pytest.raises(ProviderDoesNotOfferService, match="Tom doesn't offer exam"):
        _book(engine, clinic, local(2030, 1, 9, 10), "wrong-provider", provider_id=clinic.other_provider_id)


def test_another_clinics_ids_are_refused(engine: Engine, clinic: SmallClinic) -> None:
    other = make_small_clinic(engine, "south", "+15550130000")
    start = local(2030, 1, 9, 10)
    for field, foreign in [
        ("patient_id", other.patient_id),
        ("provider_id", other.provider_id),
        ("service_id", other.exam_id),
    ]:
        with pytest.raises(NotFound):
            _book(engine, clinic, start, f"foreign-{field}", **{field: foreign})
    theirs = _book(engine, other, start, "theirs")
    with pytest.raises(NotFound):
        cancel_appointment(
            engine, clinic.clinic_id, appointment_id=theirs.id, idempotency_key="cancel-theirs"
        )
    with pytest.raises(NotFound):
        reschedule_appointment(
            engine,
            clinic.clinic_id,
            appointment_id=theirs.id,
            new_start_at=local(2030, 1, 9, 14),
            idempotency_key="move-theirs",
            now=NOW,
        )
    (row,) = _active_rows(engine)
    assert row.id == theirs.id and row.start_at == start


def test_reschedule_moves_the_appointment_and_frees_the_old_slot(engine: Engine, clinic: SmallClinic) -> None:
    booked = _book(engine, clinic, local(2030, 1, 9, 10), "book")
    moved = reschedule_appointment(
        engine,
        clinic.clinic_id,
        appointment_id=booked.id,
        new_start_at=local(2030, 1, 10, 15),
        idempotency_key="move",
        now=NOW,
    )
    assert (moved.id, moved.start_at, moved.end_at) == (
        booked.id,
        local(2030, 1, 10, 15),
        local(2030, 1, 10, 15, 30),
    )
    replay = reschedule_appointment(
        engine,
        clinic.clinic_id,
        appointment_id=booked.id,
        new_start_at=local(2030, 1, 10, 15),
        idempotency_key="move",
        now=NOW,
    )
    assert replay.start_at == moved.start_at
    # The old time is free again, and overlapping itself is no conflict.
    assert _book(engine, clinic, local(2030, 1, 9, 10), "rebook-old").start_at == local(2030, 1, 9, 10)
    shifted = reschedule_appointment(
        engine,
        clinic.clinic_id,
        appointment_id=booked.id,
        new_start_at=local(2030, 1, 10, 15, 15),
        idempotency_key="nudge",
        now=NOW,
    )
    assert shifted.start_at == local(2030, 1, 10, 15, 15)
    with pytest.raises(SlotTaken):
        reschedule_appointment(
            engine,
            clinic.clinic_id,
            appointment_id=booked.id,
            new_start_at=local(2030, 1, 9, 10),
            idempotency_key="onto-taken",
            now=NOW,
        )


def test_reschedule_to_another_provider(engine: Engine, clinic: SmallClinic) -> None:
    booked = _book(engine, clinic, local(2030, 1, 9, 10), "book", service_id=clinic.cleaning_id)
    moved = reschedule_appointment(
        engine,
        clinic.clinic_id,
        appointment_id=booked.id,
        new_start_at=local(2030, 1, 9, 10),
        provider_id=clinic.other_provider_id,
        idempotency_key="to-hygienist",
        now=NOW,
    )
    assert moved.provider_id == clinic.other_provider_id


def test_cancel_frees_the_slot_and_cannot_be_repeated_with_a_new_key(
    engine: Engine, clinic: SmallClinic
) -> None:
    booked = _book(engine, clinic, local(2030, 1, 9, 10), "book")
    cancelled = cancel_appointment(
        engine, clinic.clinic_id, appointment_id=booked.id, idempotency_key="cancel", reason="feeling better"
    )
    assert cancelled.status == AppointmentStatus.cancelled
    same = cancel_appointment(
        engine, clinic.clinic_id, appointment_id=booked.id, idempotency_key="cancel", reason="feeling better"
    )
    assert same.id == booked.id and same.status == AppointmentStatus.cancelled
    with pytest.raises(AppointmentNotActive, match="already cancelled"):
        cancel_appointment(engine, clinic.clinic_id, appointment_id=booked.id, idempotency_key="cancel-again")
    with pytest.raises(AppointmentNotActive):
        reschedule_appointment(
            engine,
            clinic.clinic_id,
            appointment_id=booked.id,
            new_start_at=local(2030, 1, 9, 14),
            idempotency_key="move-cancelled",
            now=NOW,
        )
    assert _book(engine, clinic, local(2030, 1, 9, 10), "rebook").status == AppointmentStatus.booked
