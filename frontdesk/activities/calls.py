"""Temporal activities for a live call's records: a new patient, messages, transfers, opt-outs
and the end of the call (transcript, or a dropped call with its callback message).

Each write is idempotent: actions carry the key the workflow derives from its id and the
Update's id, the transcript is stored once per call (frontdesk.domain.calls.finish_call), and a
new patient is found by name and date of birth before one is registered. Domain errors cannot
be fixed by retrying, so they are non-retryable ApplicationErrors with the domain's message;
anything else (the database is down) is retried by Temporal.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

from sqlalchemy.engine import Engine
from temporalio import activity

from frontdesk.activities.appointments import domain_errors_are_final
from frontdesk.config import get_settings
from frontdesk.domain.call_actions import record_action
from frontdesk.domain.calls import TurnRecord, finish_call
from frontdesk.domain.database import make_engine, session_scope
from frontdesk.domain.models import Call
from frontdesk.domain.new_patient import NewPatient, find_or_register_patient
from frontdesk.domain.opt_outs import OptOutChannel, set_opt_out
from frontdesk.domain.outcomes import Outcome
from frontdesk.domain.repository import ClinicRepository
from frontdesk.domain.web_callers import is_web_caller_number
from frontdesk.log_redaction import remember_names

# The kind post-call summaries list as "call back" follow-ups for the staff.
TAKE_MESSAGE_KIND: Final = "take_message"
DROPPED_CALL_REASON: Final = "The call dropped before it ended; please call the caller back."


@dataclass(frozen=True)
class RegisterPatientInput:
    """A caller to register with the clinic (or find, when the same name and date of birth exist)."""

    clinic_id: UUID
    patient: NewPatient


@dataclass(frozen=True)
class CallActionInput:
    """A completed action of a call (message taken, transfer, end) to record once per key."""

    clinic_id: UUID
    call_id: UUID
    kind: str
    idempotency_key: str
    payload: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OptOutInput:
    """A caller's request to stop calls, texts or both ("calls", "sms", "all") to their number."""

    clinic_id: UUID
    call_id: UUID
    phone: str
    channel: str
    idempotency_key: str


@dataclass(frozen=True)
class FinishCallInput:
    """The end of a call: its transcript by turn and outcome."""

    clinic_id: UUID
    call_id: UUID
    turns: list[TurnRecord]
    outcome: str | None
    patient_id: UUID | None = None


@dataclass(frozen=True)
class DroppedCallInput:
    """A call whose realtime process went silent; `idempotency_key` keys its callback message."""

    clinic_id: UUID
    call_id: UUID
    idempotency_key: str
    patient_id: UUID | None = None


@dataclass(frozen=True)
class DroppedCallResult:
    """What closing a dropped call wrote: the callback message's action id, when the clinic wants one."""

    callback_action_id: UUID | None


def _engine() -> Engine:
    return make_engine(get_settings().database_url)


@activity.defn(name="register_patient")
def register_patient(request: RegisterPatientInput) -> UUID:
    """The id of the patient with this name and date of birth, registered when new."""
    remember_names(request.patient.first_name, request.patient.last_name)  # never in this activity's logs
    with domain_errors_are_final():
        return find_or_register_patient(_engine(), request.clinic_id, request.patient)


@activity.defn(name="record_call_action")
def record_call_action(request: CallActionInput) -> UUID:
    """Record a call's action once per idempotency key; returns the action's id."""
    with domain_errors_are_final():
        action = record_action(
            _engine(),
            request.clinic_id,
            kind=request.kind,
            payload=dict(request.payload),
            idempotency_key=request.idempotency_key,
            call_id=request.call_id,
        )
    return action.id


@activity.defn(name="record_opt_out")
def record_opt_out(request: OptOutInput) -> int:
    """Opt the call's number out of the channel once per key; returns how many patients have it."""
    with domain_errors_are_final():
        return set_opt_out(
            _engine(),
            request.clinic_id,
            phone=request.phone,
            channel=OptOutChannel(request.channel),
            opted_out=True,
            idempotency_key=request.idempotency_key,
            call_id=request.call_id,
        )


@activity.defn(name="store_call_transcript")
def store_call_transcript(request: FinishCallInput) -> None:
    """Store the transcript and close the call's row (see frontdesk.domain.calls.finish_call)."""
    with domain_errors_are_final():
        finish_call(
            _engine(),
            request.clinic_id,
            request.call_id,
            turns=request.turns,
            outcome=request.outcome,
            patient_id=request.patient_id,
        )


@activity.defn(name="close_dropped_call")
def close_dropped_call(request: DroppedCallInput) -> DroppedCallResult:
    """Close a call whose realtime process died as dropped, and record a callback message for the
    staff when the clinic's escalation rules ask for one (callback_on_dropped_call)."""
    engine = _engine()
    with domain_errors_are_final():
        finish_call(
            engine,
            request.clinic_id,
            request.call_id,
            turns=[],
            outcome=Outcome.dropped,
            patient_id=request.patient_id,
        )
        with session_scope(engine) as session:
            repo = ClinicRepository(session, request.clinic_id)
            wants_callback = repo.clinic().get_escalation().callback_on_dropped_call
            caller = repo.require(Call, request.call_id).from_number
        if not wants_callback or is_web_caller_number(caller):  # a web call has no number to ring
            return DroppedCallResult(callback_action_id=None)
        action = record_action(
            engine,
            request.clinic_id,
            kind=TAKE_MESSAGE_KIND,
            payload={"reason": DROPPED_CALL_REASON, "callback_number": caller},
            idempotency_key=request.idempotency_key,
            call_id=request.call_id,
        )
    return DroppedCallResult(callback_action_id=action.id)


CALL_ACTIVITIES: list[Callable[..., Any]] = [
    register_patient,
    record_call_action,
    record_opt_out,
    store_call_transcript,
    close_dropped_call,
]
