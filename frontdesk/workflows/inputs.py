"""Workflow inputs shared by workflows that start one another (plain dataclasses: sandbox-safe)."""

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from frontdesk.domain.calls import TurnRecord
from frontdesk.domain.new_patient import NewPatient


@dataclass(frozen=True)
class PostCallInput:
    """What PostCallWorkflow needs: the call it follows up on."""

    clinic_id: UUID
    call_id: UUID
    call_sid: str


# CallWorkflow's input, Update arguments and result. They live here, imported through the
# sandbox, because the sandbox's own datetime cannot decode a workflow-module dataclass.


@dataclass(frozen=True)
class CallInput:
    """The call this workflow owns; its row exists (the voice webhook or the dialler wrote it)."""

    clinic_id: UUID
    call_id: UUID
    call_sid: str
    clock_offset_seconds: float = 0.0  # the call's clock (frontdesk.domain.call_clock); 0: real time
    max_call_seconds: int = 0  # the clinic's maximum call length; 0: unknown (started before it was sent)


@dataclass(frozen=True)
class OfferedSlot:
    """A slot an availability search returned in this call, under the handle the caller side uses."""

    handle: str
    provider_id: UUID
    service_id: UUID
    start_at: datetime  # aware


@dataclass(frozen=True)
class BookRequest:
    """Book an offered slot for a known patient or a new one."""

    slot_handle: str
    patient_id: UUID | None = None
    new_patient: NewPatient | None = None


@dataclass(frozen=True)
class RescheduleRequest:
    """Move an appointment to an offered slot."""

    appointment_id: UUID
    slot_handle: str


@dataclass(frozen=True)
class CancelRequest:
    """Cancel an appointment."""

    appointment_id: UUID
    reason: str = "cancelled by the patient on the phone"


@dataclass(frozen=True)
class PatientAppointments:
    """A patient's upcoming appointments as this call learned of them (identified, or called)."""

    patient_id: UUID
    appointment_ids: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class ConfirmRequest:
    """Mark an appointment of this call's patient confirmed."""

    appointment_id: UUID


@dataclass(frozen=True)
class SendConfirmationRequest:
    """Send the patient a confirmation of an appointment of this call's patient, on "sms" or
    "email" (the post-call workflow sends it)."""

    appointment_id: UUID
    channel: str


@dataclass(frozen=True)
class OptOutRequest:
    """Stop calls, text messages or both ("calls", "sms", "all") to the call's number."""

    channel: str
    phone: str


@dataclass(frozen=True)
class MessageRequest:
    """A message for the clinic's staff."""

    reason: str
    callback_number: str


@dataclass(frozen=True)
class TransferRequest:
    """A hand-off of the live call to a human."""

    reason: str
    number: str


@dataclass(frozen=True)
class HangUpRequest:
    """The end of the call: what was heard, turn by turn, and how it ended."""

    turns: list[TurnRecord] = field(default_factory=list)
    outcome: str | None = None
    patient_id: UUID | None = None  # the caller, when identified (a booking names its own)


@dataclass(frozen=True)
class CallResult:
    """How the call ended and what it changed."""

    outcome: str | None
    dropped: bool
    appointment_ids: list[UUID]
    actions: list[str]
    callback_action_id: UUID | None
    post_call_workflow_id: str
