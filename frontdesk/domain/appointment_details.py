"""An appointment as written (`AppointmentRecord`) and in words (`AppointmentDetails`), for the
agent, the call's workflow, messages, summaries and CRM records."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from frontdesk.domain.models import Appointment, Provider, Service
from frontdesk.domain.repository import ClinicRepository


@dataclass(frozen=True)
class AppointmentRecord:
    """An appointment as the database holds it after a read or a change. A plain dataclass: the
    agent keeps it in its call state, and CallWorkflow Updates and activities return it."""

    id: UUID
    patient_id: UUID
    provider_id: UUID
    service_id: UUID
    start: datetime  # aware UTC
    end: datetime
    status: str

    @classmethod
    def of(cls, appointment: Appointment) -> "AppointmentRecord":
        """The record of an appointment row."""
        return cls(
            id=appointment.id,
            patient_id=appointment.patient_id,
            provider_id=appointment.provider_id,
            service_id=appointment.service_id,
            start=appointment.start_at,
            end=appointment.end_at,
            status=appointment.status.value,
        )


@dataclass(frozen=True)
class AppointmentDetails:
    """An appointment in words, in the clinic's time zone."""

    appointment_id: UUID
    service: str
    provider: str
    when: str  # "Tuesday, November 24 at 10:00 AM"
    status: str

    def line(self) -> str:
        """One line for a summary or CRM record."""
        return f"{self.service} with {self.provider}, {self.when} ({self.status})"


def describe_appointment(repo: ClinicRepository, appointment: Appointment) -> AppointmentDetails:
    """An appointment's service, provider and local time in words."""
    service = repo.require(Service, appointment.service_id)
    provider = repo.require(Provider, appointment.provider_id)
    local = appointment.start_at.astimezone(repo.clinic().tz)
    when = f"{local:%A, %B} {local.day} at {local:%I:%M %p}".replace(" at 0", " at ")
    status = appointment.status.value
    return AppointmentDetails(appointment.id, service.name, provider.short_name, when, status)
