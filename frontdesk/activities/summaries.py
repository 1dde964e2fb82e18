"""What happened on a call, and its summary: the first activities of PostCallWorkflow.

`load_call_facts` gives the workflow ids and kinds only (which appointments the call booked or
rescheduled, which confirmations the caller asked for, its outcome), so no transcript or patient
detail enters the workflow's history.
`summarize_call` writes `Call.summary`: Claude's when an Anthropic key is configured (the
transcript goes to Claude, never to the logs), else a structured one built from the call's
recorded actions and outcome. Claude failing falls back to the structured summary, so a vendor
outage never holds up the confirmations that follow.

`describe_call` and `describe_appointment` are the readable facts the CRM record and the
patient messages are built from. The activities are synchronous (the worker's thread pool).
"""

from dataclasses import dataclass, field
from typing import Final
from uuid import UUID

import anthropic
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from frontdesk.config import Settings, get_settings
from frontdesk.domain.appointment_details import AppointmentDetails, describe_appointment
from frontdesk.domain.call_actions import CONFIRMATION_REQUEST_KIND
from frontdesk.domain.database import make_engine, session_scope, write_scope
from frontdesk.domain.models import Action, Appointment, Call, Patient, TurnRole
from frontdesk.domain.repository import ClinicRepository
from frontdesk.log_redaction import remember_names
from frontdesk.logs import get_logger
from frontdesk.workflows.inputs import PostCallInput

log = get_logger(__name__)

SUMMARY_MAX_TOKENS: Final = 400
CLAUDE_TIMEOUT_SECONDS: Final = 30.0
CLAUDE_RETRIES: Final = 2  # the SDK's own retries of 429/5xx before the structured fallback
SUMMARY_SYSTEM_PROMPT: Final = (
    "You summarize a phone call between a clinic's AI receptionist and a caller, for the clinic's "
    "staff. Write at most five short lines, in this order: 'Intent:', 'Outcome:', 'Booking:' "
    "(service, provider, date and time, or 'none'), 'Follow-ups:' (what staff must do, or 'none'). "
    "Use only facts from the recorded actions and the transcript; never invent details."
)

# The action kinds that change an appointment, and the word a patient message uses for each.
APPOINTMENT_CHANGES: Final = {"book_appointment": "booked", "reschedule_appointment": "rescheduled"}
# What the caller wanted, from the first recorded action of each kind (most telling first).
_INTENTS: Final = (
    ("book_appointment", "book an appointment"),
    ("reschedule_appointment", "reschedule an appointment"),
    ("cancel_appointment", "cancel an appointment"),
    ("take_message", "leave a message for the clinic"),
    ("transfer_to_human", "speak to a member of staff"),
)


def activity_key() -> str:
    """The idempotency key of the running activity: stable across its retries and across
    reruns of its workflow under the same workflow id (workflows here name their activity ids)."""
    info = activity.info()
    return f"{info.workflow_id}/{info.activity_id}"


def database_engine() -> Engine:
    """The process-wide engine of the configured database."""
    return make_engine(get_settings().database_url)


@dataclass(frozen=True)
class AppointmentChange:
    """An appointment the call booked or rescheduled (`change` is "booked" or "rescheduled")."""

    appointment_id: UUID
    change: str


@dataclass(frozen=True)
class RequestedConfirmation:
    """A confirmation the caller asked for (send_confirmation), on "sms" or "email"."""

    appointment_id: UUID
    channel: str


@dataclass(frozen=True)
class CallFacts:
    """What the post-call workflow orchestrates on: ids and kinds only, no patient data.
    `confirmations` holds each asked-for confirmation once, and none of an appointment in
    `changes` (its booked or rescheduled message goes on every channel anyway)."""

    call_id: UUID
    outcome: str | None
    changes: list[AppointmentChange] = field(default_factory=list)
    confirmations: list[RequestedConfirmation] = field(default_factory=list)


@dataclass(frozen=True)
class SummaryInput:
    """Summarize one call."""

    clinic_id: UUID
    call_id: UUID


@dataclass(frozen=True)
class SummaryResult:
    """The stored summary's length and where it came from ("claude" or "structured")."""

    length: int
    source: str


@dataclass(frozen=True)
class CallDescription:
    """A call in words: the facts a summary, a CRM record and patient messages are built from."""

    call_id: UUID
    call_sid: str
    clinic_name: str
    caller_number: str
    patient_id: UUID | None
    patient_name: str | None
    direction: str
    intent: str
    outcome: str
    appointments: list[AppointmentDetails]
    follow_ups: list[str]
    summary: str | None


def _changed_appointments(actions: list[Action]) -> dict[UUID, str]:
    changes: dict[UUID, str] = {}
    for action in actions:
        change = APPOINTMENT_CHANGES.get(action.kind)
        if change is not None and action.result and "appointment_id" in action.result:
            # Booked and then moved in the same call is still, to the patient, a booking.
            changes.setdefault(UUID(action.result["appointment_id"]), change)
    return changes


def describe_call(repo: ClinicRepository, call_id: UUID) -> CallDescription:
    """The call's facts in words (raises NotFound for a call of another clinic)."""
    call = repo.require(Call, call_id)
    actions = repo.actions(call_id=call_id)
    kinds = {action.kind for action in actions}
    patient = repo.get(Patient, call.patient_id) if call.patient_id else None
    if patient is not None:  # never in the logs of the activity describing the call (summary, CRM)
        remember_names(patient.first_name, patient.last_name)
    appointments = [
        describe_appointment(repo, appointment)
        for appointment_id in _changed_appointments(actions)
        if (appointment := repo.get(Appointment, appointment_id)) is not None
    ]
    follow_ups = [
        f"call back: {action.payload.get('reason', 'message taken')}"
        for action in actions
        if action.kind == "take_message"
    ]
    follow_ups += [
        f"staff task: {action.payload.get('reason', '')}" for action in actions if action.kind == "staff_task"
    ]
    return CallDescription(
        call_id=call.id,
        call_sid=call.call_sid,
        clinic_name=repo.clinic().name,
        caller_number=call.from_number,
        patient_id=call.patient_id,
        patient_name=patient.full_name if patient else None,
        direction=call.direction.value,
        intent=next((intent for kind, intent in _INTENTS if kind in kinds), "general enquiry"),
        outcome=call.outcome or "no outcome recorded",
        appointments=appointments,
        follow_ups=follow_ups,
        summary=call.summary,
    )


def structured_summary(description: CallDescription) -> str:
    """The offline summary: intent, outcome, bookings and follow-ups, one line each."""
    bookings = "; ".join(details.line() for details in description.appointments) or "none"
    return "\n".join(
        [
            f"Intent: {description.intent}",
            f"Outcome: {description.outcome}",
            f"Booking: {bookings}",
            f"Follow-ups: {'; '.join(description.follow_ups) or 'none'}",
        ]
    )


def _claude_summary(settings: Settings, description: CallDescription, transcript: str) -> str | None:
    """Claude's summary, or None when Claude is not configured or fails (logged without content)."""
    if settings.anthropic_api_key is None or not settings.anthropic_api_key.get_secret_value():
        return None
    facts = structured_summary(description)
    prompt = f"Recorded actions:\n{facts}\n\nTranscript:\n{transcript or '(no speech recorded)'}"
    try:
        with anthropic.Anthropic(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            max_retries=CLAUDE_RETRIES,
            timeout=CLAUDE_TIMEOUT_SECONDS,
        ) as client:
            with client.messages.stream(
                model=settings.anthropic_model,
                max_tokens=SUMMARY_MAX_TOKENS,
                system=SUMMARY_SYSTEM_PROMPT,
                messages=[{"role": "user", "content": prompt}],
            ) as stream:
                text = stream.get_final_text().strip()
    except anthropic.AnthropicError as exc:
        log.warning("claude summary failed, structured instead", error_type=type(exc).__name__)
        return None
    return text or None


@activity.defn(name="load_call_facts")
def load_call_facts(request: PostCallInput) -> CallFacts:
    """The call's outcome, the still-active appointments it booked or rescheduled, and the
    confirmations asked for of other still-active appointments."""
    with session_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
        call = repo.get(Call, request.call_id)
        if call is None or call.call_sid != request.call_sid:
            raise ApplicationError(
                f"call {request.call_id} ({request.call_sid}) does not exist in clinic {request.clinic_id}",
                type="CallNotFound",
                non_retryable=True,
            )
        actions = repo.actions(call_id=call.id)

        def active(appointment_id: UUID) -> bool:
            appointment = repo.get(Appointment, appointment_id)
            return appointment is not None and appointment.status.is_active

        changed = _changed_appointments(actions)
        changes = [AppointmentChange(a, change) for a, change in changed.items() if active(a)]
        requested = {
            (UUID(action.payload["appointment_id"]), action.payload["channel"])
            for action in actions
            if action.kind == CONFIRMATION_REQUEST_KIND
        }
        confirmations = [
            RequestedConfirmation(appointment_id, channel)
            for appointment_id, channel in sorted(requested)
            if appointment_id not in changed and active(appointment_id)
        ]
        return CallFacts(call.id, call.outcome, changes, confirmations)


@activity.defn(name="summarize_call")
def summarize_call(request: SummaryInput) -> SummaryResult:
    """Write the call's summary once (a rerun keeps the stored one)."""
    engine = database_engine()
    with session_scope(engine) as session:
        repo = ClinicRepository(session, request.clinic_id)
        description = describe_call(repo, request.call_id)
        if description.summary:
            return SummaryResult(len(description.summary), "stored")
        transcript = "\n".join(
            f"{'Caller' if turn.role is TurnRole.caller else 'Receptionist'}: "
            f"{turn.heard_text if turn.heard_text is not None else turn.text}"
            for turn in repo.turns(request.call_id)
        )
    summary = _claude_summary(get_settings(), description, transcript)
    source = "claude" if summary else "structured"
    summary = summary or structured_summary(description)
    with write_scope(engine) as session:
        call = ClinicRepository(session, request.clinic_id).require(Call, request.call_id)
        call.summary = call.summary or summary  # a concurrent twin's summary stands
        stored = call.summary
    log.info("call summarized", call_id=str(request.call_id), source=source, length=len(stored))
    return SummaryResult(len(stored), source)


SUMMARY_ACTIVITIES: Final = [load_call_facts, summarize_call]
