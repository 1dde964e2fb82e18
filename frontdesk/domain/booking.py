"""Booking, rescheduling, confirming and cancelling appointments, safely under concurrency and retries.

Each write runs in one transaction that (1) checks the idempotency key, (2) re-checks the slot
with the availability engine against the database as it is now, (3) writes the appointment and
an `Action` row holding the key and the result. A second call with the same key returns the
first result and changes nothing. Only successful writes are recorded: a refused booking leaves
no trace, so the same request may be tried again once the reason is gone.

Double-booking is impossible by construction of the database, not by the check in (2):
PostgreSQL rejects overlapping active appointments of one provider with an exclusion
constraint (translated to `SlotTaken`); SQLite transactions here start with BEGIN IMMEDIATE, so
writers run one at a time and each sees the previous one's appointment.
"""

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frontdesk.domain import availability
from frontdesk.domain.call_actions import succeeded_action
from frontdesk.domain.database import session_scope, write_scope
from frontdesk.domain.errors import (
    AppointmentNotActive,
    IdempotencyKeyReused,
    NotFound,
    SlotTaken,
    SlotUnavailable,
)
from frontdesk.domain.models import (
    Action,
    Appointment,
    AppointmentStatus,
    Call,
    Patient,
    utcnow,
)
from frontdesk.domain.repository import ClinicRepository
from frontdesk.logs import get_logger

log = get_logger(__name__)

EXCLUSION_CONSTRAINT = "ex_appointments_no_overlap"
MAX_KEY_LENGTH = 255

Operation = Callable[[ClinicRepository], Appointment]


def book_appointment(
    engine: Engine,
    clinic_id: uuid.UUID,
    *,
    patient_id: uuid.UUID,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    start_at: datetime,
    idempotency_key: str,
    call_id: uuid.UUID | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book a patient with a provider for a service at `start_at` (aware).

    Raises NotFound (any id unknown in this clinic), ProviderDoesNotOfferService,
    SlotUnavailable (not a bookable slot), SlotTaken (someone holds it), IdempotencyKeyReused.
    """
    start = _aware_utc(start_at, "start_at")
    payload = {
        "patient_id": str(patient_id),
        "provider_id": str(provider_id),
        "service_id": str(service_id),
        "start_at": start.isoformat(),
        "notes": notes,
    }

    def book(repo: ClinicRepository) -> Appointment:
        repo.require(Patient, patient_id)
        _require_call(repo, call_id)
        _, service = repo.require_offering(provider_id, service_id)
        end = start + timedelta(minutes=service.duration_minutes)
        _check_slot(repo, provider_id, start, end, now=now or utcnow())
        appointment = repo.add(
            Appointment(
                clinic_id=clinic_id,
                patient_id=patient_id,
                provider_id=provider_id,
                service_id=service_id,
                start_at=start,
                end_at=end,
                status=AppointmentStatus.booked,
                created_by_call_id=call_id,
                notes=notes,
            )
        )
        repo.session.flush()
        return appointment

    return _run_once(engine, clinic_id, "book_appointment", idempotency_key, payload, call_id, book)


def reschedule_appointment(
    engine: Engine,
    clinic_id: uuid.UUID,
    *,
    appointment_id: uuid.UUID,
    new_start_at: datetime,
    idempotency_key: str,
    provider_id: uuid.UUID | None = None,
    call_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move an active appointment to `new_start_at`, optionally to another provider.

    The appointment keeps its id and service and is `booked` again (a confirmation was for the
    old time). Raises what `book_appointment` raises, and AppointmentNotActive.
    """
    start = _aware_utc(new_start_at, "new_start_at")
    payload = {
        "appointment_id": str(appointment_id),
        "new_start_at": start.isoformat(),
        "provider_id": None if provider_id is None else str(provider_id),
    }

    def reschedule(repo: ClinicRepository) -> Appointment:
        appointment = _require_active(repo, appointment_id)
        _require_call(repo, call_id)
        target_provider = provider_id or appointment.provider_id
        _, service = repo.require_offering(target_provider, appointment.service_id)
        end = start + timedelta(minutes=service.duration_minutes)
        _check_slot(repo, target_provider, start, end, now=now or utcnow(), moving=appointment.id)
        appointment.provider_id = target_provider
        appointment.start_at = start
        appointment.end_at = end
        appointment.status = AppointmentStatus.booked
        repo.session.flush()
        return appointment

    kind = "reschedule_appointment"
    return _run_once(engine, clinic_id, kind, idempotency_key, payload, call_id, reschedule)


def cancel_appointment(
    engine: Engine,
    clinic_id: uuid.UUID,
    *,
    appointment_id: uuid.UUID,
    idempotency_key: str,
    call_id: uuid.UUID | None = None,
    reason: str = "",
) -> Appointment:
    """Cancel an active appointment, freeing its slot. Raises NotFound, AppointmentNotActive."""
    payload = {"appointment_id": str(appointment_id), "reason": reason}

    def cancel(repo: ClinicRepository) -> Appointment:
        appointment = _require_active(repo, appointment_id)
        _require_call(repo, call_id)
        appointment.status = AppointmentStatus.cancelled
        repo.session.flush()
        return appointment

    return _run_once(engine, clinic_id, "cancel_appointment", idempotency_key, payload, call_id, cancel)


def confirm_appointment(
    engine: Engine,
    clinic_id: uuid.UUID,
    *,
    appointment_id: uuid.UUID,
    idempotency_key: str,
    patient_id: uuid.UUID | None = None,
    call_id: uuid.UUID | None = None,
) -> Appointment:
    """Mark an active appointment confirmed (the patient said they will come); an appointment
    already confirmed stays as it is.

    With `patient_id`, the appointment must be that patient's: another patient's is NotFound, as
    one of another clinic is. Raises NotFound, AppointmentNotActive, IdempotencyKeyReused.
    """
    payload = {"appointment_id": str(appointment_id)}

    def confirm(repo: ClinicRepository) -> Appointment:
        appointment = _require_active(repo, appointment_id)
        if patient_id is not None and appointment.patient_id != patient_id:
            raise NotFound("appointment", appointment_id)
        _require_call(repo, call_id)
        appointment.status = AppointmentStatus.confirmed
        repo.session.flush()
        return appointment

    return _run_once(engine, clinic_id, "confirm_appointment", idempotency_key, payload, call_id, confirm)


# --- the transaction around every write ----------------------------------------------------


def _run_once(
    engine: Engine,
    clinic_id: uuid.UUID,
    kind: str,
    idempotency_key: str,
    payload: dict[str, Any],
    call_id: uuid.UUID | None,
    operation: Operation,
) -> Appointment:
    """Run `operation` in a serialized write transaction unless the key was already used."""
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key.strip()) <= MAX_KEY_LENGTH:
        raise ValueError(f"idempotency_key must be a non-empty string of at most {MAX_KEY_LENGTH} characters")
    try:
        with write_scope(engine) as session:
            repo = ClinicRepository(session, clinic_id)
            repo.clinic()
            previous = repo.action_by_key(idempotency_key)
            if previous is not None:
                return _replay(repo, previous, kind, payload)
            appointment = operation(repo)
            repo.add(
                succeeded_action(
                    clinic_id,
                    kind=kind,
                    payload=payload,
                    idempotency_key=idempotency_key,
                    result={"appointment_id": str(appointment.id)},
                    call_id=call_id,
                )
            )
            session.flush()
    except (sa.exc.IntegrityError, SlotTaken) as exc:
        # A concurrent twin with the same key (a retry racing a slow first attempt) may have
        # committed first, so this attempt saw its slot taken or tripped a constraint: the
        # twin's result is ours.
        with session_scope(engine) as session:
            repo = ClinicRepository(session, clinic_id)
            previous = repo.action_by_key(idempotency_key)
            if previous is not None:
                return _replay(repo, previous, kind, payload)
        if isinstance(exc, sa.exc.IntegrityError) and _violated_constraint(exc) == EXCLUSION_CONSTRAINT:
            raise SlotTaken() from None
        raise
    log.info(kind.replace("_", " ") + " done", clinic_id=str(clinic_id), appointment_id=str(appointment.id))
    return appointment


def _replay(repo: ClinicRepository, previous: Action, kind: str, payload: dict[str, Any]) -> Appointment:
    if previous.kind != kind or previous.payload != payload or not previous.result:
        raise IdempotencyKeyReused(previous.idempotency_key, kind.replace("_", " "))
    log.info("idempotent replay", kind=kind, action_id=str(previous.id))
    return repo.require(Appointment, uuid.UUID(previous.result["appointment_id"]))


def _violated_constraint(exc: sa.exc.IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)  # psycopg errors carry the constraint name
    return getattr(diag, "constraint_name", None)


# --- checks ------------------------------------------------------------------------------


def _aware_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def _require_active(repo: ClinicRepository, appointment_id: uuid.UUID) -> Appointment:
    appointment = repo.require(Appointment, appointment_id)
    if not appointment.status.is_active:
        raise AppointmentNotActive(appointment.id, appointment.status.value)
    return appointment


def _require_call(repo: ClinicRepository, call_id: uuid.UUID | None) -> None:
    if call_id is not None:
        repo.require(Call, call_id)


def _check_slot(
    repo: ClinicRepository,
    provider_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    moving: uuid.UUID | None = None,
) -> None:
    """Raise SlotTaken or SlotUnavailable unless [start, end) is a bookable slot right now."""
    clinic = repo.clinic()
    rules = clinic.get_booking_rules()
    (calendar,) = repo.provider_calendars([provider_id], start, end, exclude_appointment_id=moving)
    options: dict[str, Any] = {
        "duration": end - start,
        "rules": rules,
        "tz": clinic.tz,
        "now": now,
        "opening_hours": repo.opening_hours(),
    }
    if availability.is_slot_available(calendar, start, **options):
        return
    if availability.is_slot_available(replace(calendar, busy=()), start, **options):
        raise SlotTaken()
    if start < now + rules.min_lead:
        raise SlotUnavailable(f"we need at least {_spoken_minutes(rules.min_lead_minutes)}' notice to book")
    if start >= now + rules.horizon:
        raise SlotUnavailable(f"we only book up to {rules.horizon_days} days ahead")
    raise SlotUnavailable("it isn't one of the open appointment times for that provider")


def _spoken_minutes(minutes: int) -> str:
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"
