"""The one interface through which the agent reads the clinic's data and acts on it.

Reads (availability, patient lookup) query the database; changes (book, reschedule, confirm,
cancel, opt out, transfer, end) are carried out by the call's workflow in production. The engine
never talks to the database or Temporal itself: it calls an `Actions` implementation.
"""

from datetime import date, datetime, time
from typing import Protocol
from uuid import UUID

from pydantic import BaseModel

from frontdesk.agent.tools import ConfirmationChannel, PatientDetails, TransferReason
from frontdesk.domain.opt_outs import OptOutChannel


class ActionRefused(Exception):
    """An action the clinic's rules refuse; the message is speakable and tells the model what to do."""


class SlotQuery(BaseModel):
    """A search for bookable slots."""

    service_id: UUID
    provider_id: UUID | None = None
    date_from: date
    date_to: date
    after: time | None = None  # clinic-local wall clock
    before: time | None = None


class SlotOption(BaseModel):
    """A bookable slot as found in the database."""

    provider_id: UUID
    service_id: UUID
    start: datetime  # aware UTC
    end: datetime


class PatientRecord(BaseModel):
    """A patient as the agent may discuss them once identified."""

    id: UUID
    first_name: str
    last_name: str
    # None only for a patient an outbound call was placed to whose record lacks it: such a
    # patient can be called, never identified on the phone.
    date_of_birth: date | None = None
    phone: str
    email: str | None = None
    insurance_carrier: str | None = None
    last_visit: datetime | None = None


class AppointmentRecord(BaseModel):
    """An appointment of the patient on the line."""

    id: UUID
    patient_id: UUID
    provider_id: UUID
    service_id: UUID
    start: datetime  # aware UTC
    end: datetime
    status: str


class InsuranceCheck(BaseModel):
    """The result of an eligibility check."""

    carrier: str
    accepted: bool
    eligible: bool | None = None  # None when no member id was checked
    detail: str


class Actions(Protocol):
    """Everything the receptionist can look up or do during one call."""

    async def find_slots(self, query: SlotQuery) -> list[SlotOption]:
        """Bookable slots for the query, soonest first."""
        ...

    async def patient_by_phone(self, phone: str) -> PatientRecord | None:
        """The patient whose number is calling (unverified: for context only)."""
        ...

    async def patient_of_appointment(self, appointment_id: UUID) -> PatientRecord | None:
        """The patient an appointment is for (an outbound call's patient), or None."""
        ...

    async def identify_patient(
        self, first_name: str, last_name: str, date_of_birth: date
    ) -> PatientRecord | None:
        """The patient matching name and date of birth, or None."""
        ...

    async def upcoming_appointments(self, patient_id: UUID) -> list[AppointmentRecord]:
        """A patient's active future appointments, soonest first."""
        ...

    async def verify_insurance(self, carrier: str, member_id: str | None) -> InsuranceCheck:
        """Whether the clinic accepts the carrier and the member is eligible."""
        ...

    async def book(
        self, slot: SlotOption, patient: PatientDetails, patient_id: UUID | None
    ) -> AppointmentRecord:
        """Book a slot for a patient (created when new); raises ActionRefused when it cannot."""
        ...

    async def reschedule(self, appointment_id: UUID, slot: SlotOption) -> AppointmentRecord:
        """Move an appointment to a slot; raises ActionRefused when it cannot."""
        ...

    async def cancel(self, appointment_id: UUID) -> AppointmentRecord:
        """Cancel an appointment; raises ActionRefused when it cannot."""
        ...

    async def confirm(self, appointment_id: UUID) -> AppointmentRecord:
        """Mark an appointment confirmed; raises ActionRefused when it cannot."""
        ...

    async def opt_out(self, channel: OptOutChannel, phone: str) -> None:
        """Stop calls, text messages or both to the call's number (`phone`, the patient's side)."""
        ...

    async def send_confirmation(self, appointment_id: UUID, channel: ConfirmationChannel) -> str:
        """Send (or schedule) a confirmation; returns where it goes, for the agent to say."""
        ...

    async def take_message(self, reason: str, callback_number: str) -> None:
        """Record a message for the clinic's staff."""
        ...

    async def transfer(self, reason: TransferReason, number: str) -> None:
        """Hand the live call to a human at `number`."""
        ...

    async def end_call(self, outcome: str) -> None:
        """Hang up once the goodbye has been said."""
        ...
