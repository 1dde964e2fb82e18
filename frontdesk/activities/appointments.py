"""Temporal activities that book, reschedule, confirm and cancel appointments (wrappers of booking.py).

The idempotency key is the input's, or else derived from the activity's identity (workflow id +
activity id), which stays the same across retries of one activity: a retry after a crash
returns the appointment the first attempt wrote. Domain errors (slot taken, not found...) cannot
be fixed by retrying, so they become non-retryable ApplicationErrors whose message is the
domain's speakable message and whose type is the error class name. Anything else (the
database is down) is raised as is and retried by Temporal.

The activities are synchronous: the worker runs them on its thread pool.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from temporalio import activity
from temporalio.exceptions import ApplicationError

from frontdesk.config import get_settings
from frontdesk.domain import booking
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.call_clock import call_clock
from frontdesk.domain.database import make_engine
from frontdesk.domain.errors import DomainError


@dataclass(frozen=True)
class BookAppointmentInput:
    """A booking request; `start_at` must be timezone-aware."""

    clinic_id: UUID
    patient_id: UUID
    provider_id: UUID
    service_id: UUID
    start_at: datetime
    call_id: UUID | None = None
    notes: str = ""
    idempotency_key: str | None = None
    clock_offset_seconds: float = 0.0  # the call's clock: the lead time counts from its now


@dataclass(frozen=True)
class RescheduleAppointmentInput:
    """Move an appointment to `new_start_at` (aware), optionally to another provider."""

    clinic_id: UUID
    appointment_id: UUID
    new_start_at: datetime
    provider_id: UUID | None = None
    call_id: UUID | None = None
    idempotency_key: str | None = None
    clock_offset_seconds: float = 0.0  # the call's clock: the lead time counts from its now


@dataclass(frozen=True)
class CancelAppointmentInput:
    """Cancel an appointment."""

    clinic_id: UUID
    appointment_id: UUID
    reason: str = ""
    call_id: UUID | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ConfirmAppointmentInput:
    """Confirm an appointment; with `patient_id`, only if it is that patient's."""

    clinic_id: UUID
    appointment_id: UUID
    patient_id: UUID | None = None
    call_id: UUID | None = None
    idempotency_key: str | None = None


def _idempotency_key(given: str | None) -> str:
    if given is not None:
        return given
    info = activity.info()
    return f"{info.workflow_id}/{info.activity_id}"


@contextmanager
def domain_errors_are_final() -> Iterator[None]:
    """Turn a domain error (retrying cannot fix it) into a non-retryable ApplicationError with its message;
    every activity that writes through the domain shares this rule."""
    try:
        yield
    except (DomainError, ValueError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        raise ApplicationError(message, type=type(exc).__name__, non_retryable=True) from exc


@activity.defn(name="book_appointment")
def book_appointment(request: BookAppointmentInput) -> AppointmentRecord:
    """Book an appointment (see frontdesk.domain.booking.book_appointment)."""
    with domain_errors_are_final():
        appointment = booking.book_appointment(
            make_engine(get_settings().database_url),
            request.clinic_id,
            patient_id=request.patient_id,
            provider_id=request.provider_id,
            service_id=request.service_id,
            start_at=request.start_at,
            call_id=request.call_id,
            notes=request.notes,
            idempotency_key=_idempotency_key(request.idempotency_key),
            now=call_clock(request.clock_offset_seconds)(),
        )
    return AppointmentRecord.of(appointment)


@activity.defn(name="reschedule_appointment")
def reschedule_appointment(request: RescheduleAppointmentInput) -> AppointmentRecord:
    """Reschedule an appointment (see frontdesk.domain.booking.reschedule_appointment)."""
    with domain_errors_are_final():
        appointment = booking.reschedule_appointment(
            make_engine(get_settings().database_url),
            request.clinic_id,
            appointment_id=request.appointment_id,
            new_start_at=request.new_start_at,
            provider_id=request.provider_id,
            call_id=request.call_id,
            idempotency_key=_idempotency_key(request.idempotency_key),
            now=call_clock(request.clock_offset_seconds)(),
        )
    return AppointmentRecord.of(appointment)


@activity.defn(name="cancel_appointment")
def cancel_appointment(request: CancelAppointmentInput) -> AppointmentRecord:
    """Cancel an appointment (see frontdesk.domain.booking.cancel_appointment)."""
    with domain_errors_are_final():
        appointment = booking.cancel_appointment(
            make_engine(get_settings().database_url),
            request.clinic_id,
            appointment_id=request.appointment_id,
            reason=request.reason,
            call_id=request.call_id,
            idempotency_key=_idempotency_key(request.idempotency_key),
        )
    return AppointmentRecord.of(appointment)


@activity.defn(name="confirm_appointment")
def confirm_appointment(request: ConfirmAppointmentInput) -> AppointmentRecord:
    """Confirm an appointment (see frontdesk.domain.booking.confirm_appointment)."""
    with domain_errors_are_final():
        appointment = booking.confirm_appointment(
            make_engine(get_settings().database_url),
            request.clinic_id,
            appointment_id=request.appointment_id,
            patient_id=request.patient_id,
            call_id=request.call_id,
            idempotency_key=_idempotency_key(request.idempotency_key),
        )
    return AppointmentRecord.of(appointment)


APPOINTMENT_ACTIVITIES: list[Callable[..., Any]] = [
    book_appointment,
    reschedule_appointment,
    cancel_appointment,
    confirm_appointment,
]
