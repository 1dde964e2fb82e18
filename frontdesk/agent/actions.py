"""The one interface through which the agent reads the clinic's data and acts on it.

`Actions`, what the engine, the tool runner, the call's opening and the brains use, is the
composition of two protocols: `CallReads` (availability, patients, appointments, insurance) and
`CallChanges` (book, reschedule, cancel, confirm, opt out, send a confirmation, take a message,
transfer, end). A `ChangeBackend` carries a call's changes out: the database
(`agent.database_actions.DatabaseChanges`) or the call's CallWorkflow
(`realtime.workflow_changes.WorkflowChanges`), each implementing every change itself.
`agent.call_actions.CallActions` composes reads and a backend into `Actions`. The engine never
talks to the database or Temporal itself.
"""

from datetime import date, datetime, time
from typing import Final, Protocol
from uuid import UUID

from pydantic import BaseModel

from frontdesk.agent.tools import ConfirmationChannel, PatientDetails, TransferReason
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.calls import TurnRecord
from frontdesk.domain.opt_outs import OptOutChannel

UNAVAILABLE: Final = "I can't make that change right now. Let me take a message so the team can follow up."


class ActionRefused(Exception):
    """An action the clinic's rules refuse; the message is speakable and tells the model what to do."""


class ChangesUnanswered(ActionRefused):
    """The backend of a call's changes gave no answer in time (or could not be reached): the change
    may or may not have been made, and the call's later changes go elsewhere (see CallActions)."""

    def __init__(self) -> None:
        super().__init__(UNAVAILABLE)


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


class InsuranceCheck(BaseModel):
    """The result of an eligibility check."""

    carrier: str
    accepted: bool
    eligible: bool | None = None  # None when no member id was checked
    detail: str


def confirmation_destination(channel: ConfirmationChannel) -> str:
    """Where a confirmation on `channel` goes, as the agent says it."""
    return "your phone" if channel == ConfirmationChannel.sms else "your email"


class CallReads(Protocol):
    """What the receptionist can look up during one call."""

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


class CallChanges(Protocol):
    """What the receptionist can change during one call; each raises ActionRefused when it cannot."""

    async def book(
        self, slot: SlotOption, patient: PatientDetails, patient_id: UUID | None
    ) -> AppointmentRecord:
        """Book a slot for a patient (registered when new: `patient_id` None)."""
        ...

    async def reschedule(self, appointment_id: UUID, slot: SlotOption) -> AppointmentRecord:
        """Move an appointment to a slot."""
        ...

    async def cancel(self, appointment_id: UUID) -> AppointmentRecord:
        """Cancel an appointment."""
        ...

    async def confirm(self, appointment_id: UUID) -> AppointmentRecord:
        """Mark an appointment confirmed."""
        ...

    async def opt_out(self, channel: OptOutChannel, phone: str) -> None:
        """Stop calls, text messages or both to the call's number (`phone`, the patient's side)."""
        ...

    async def send_confirmation(self, appointment_id: UUID, channel: ConfirmationChannel) -> str:
        """Ask for a confirmation of the appointment on `channel` (the post-call workflow sends it);
        returns where it goes, for the agent to say."""
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


class Actions(CallReads, CallChanges, Protocol):
    """Everything the receptionist can look up or do during one call."""


class ChangeBackend(CallChanges, Protocol):
    """Where one call's changes are carried out, and its record kept: every change, being told
    what the call's reads showed (a CallWorkflow refuses a change to anything the call never
    saw), and the call's life (liveness, hang-up, Update round trips). Only CallActions calls
    these: `slots_offered` after each availability search, `appointments_seen` after each
    look-up of a patient's appointments."""

    async def slots_offered(self, slots: list[SlotOption]) -> None:
        """Learn the slots an availability search returned in this call (only those can be booked)."""
        ...

    async def appointments_seen(self, patient_id: UUID, appointments: list[AppointmentRecord]) -> None:
        """Learn a patient's upcoming appointments as this call looked them up (only those, and the
        ones it books, can change)."""
        ...

    async def hang_up(
        self, turns: list[TurnRecord], outcome: str | None, patient_id: UUID | None = None
    ) -> None:
        """The call is over: store its transcript and outcome; raises ChangesUnanswered when the
        backend cannot take them."""
        ...

    def take_update_timings(self) -> dict[str, float]:
        """Round trips (ms) of the workflow Updates that succeeded since the last take, by Update id."""
        ...
