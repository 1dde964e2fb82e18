"""Temporal activities of outbound campaigns: their targets, statuses and the calls' results.

Every write is idempotent: the targets of a campaign are materialized once (a second prepare
finds them), and a status is a plain overwrite of the target's or campaign's row. Domain
errors (a campaign of another clinic) are non-retryable; a database outage is retried.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from temporalio import activity

from frontdesk.activities.appointments import domain_errors_are_final
from frontdesk.activities.summaries import database_engine
from frontdesk.domain.campaign_settings import CampaignStatus, TargetStatus
from frontdesk.domain.campaigns import campaign_message
from frontdesk.domain.database import session_scope, write_scope
from frontdesk.domain.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    CallStatus,
    Campaign,
    CampaignTarget,
    Patient,
    utcnow,
)
from frontdesk.domain.opt_outs import OptOutChannel, blocks
from frontdesk.domain.outcomes import Outcome
from frontdesk.domain.repository import ClinicRepository
from frontdesk.logs import get_logger

log = get_logger(__name__)

# What a call's outcome (Call.outcome, written by its CallWorkflow) means for its target.
_TARGET_STATUS_OF_OUTCOME: Final[dict[str, TargetStatus]] = {
    Outcome.confirmed: TargetStatus.confirmed,
    Outcome.rescheduled: TargetStatus.rescheduled,
    Outcome.cancelled: TargetStatus.cancelled,
    Outcome.opted_out: TargetStatus.opted_out,
    Outcome.voicemail: TargetStatus.voicemail,
}
_FINAL_CALL_STATUSES: Final = frozenset(
    {CallStatus.completed, CallStatus.busy, CallStatus.no_answer, CallStatus.failed, CallStatus.canceled}
)


@dataclass(frozen=True)
class CampaignRef:
    """One campaign of one clinic."""

    clinic_id: UUID
    campaign_id: UUID


@dataclass(frozen=True)
class CampaignOutline:
    """What the campaign's workflow needs to run it."""

    total: int
    kind: str
    timezone: str
    start_at: datetime
    plan: dict[str, Any]  # CampaignPlan's JSON form
    message: str


@dataclass(frozen=True)
class TargetPageInput:
    """The next `limit` targets still to call, after position `after`."""

    clinic_id: UUID
    campaign_id: UUID
    after: int
    limit: int


@dataclass(frozen=True)
class TargetRef:
    """A target to call, by id and calling order."""

    target_id: UUID
    position: int


@dataclass(frozen=True)
class TargetInput:
    """One target of one clinic."""

    clinic_id: UUID
    target_id: UUID


@dataclass(frozen=True)
class TargetCheck:
    """Whether to call the target now; when not, the final status to give it and why."""

    callable: bool
    status: str | None = None
    detail: str = ""
    patient_id: UUID | None = None


@dataclass(frozen=True)
class TargetStatusInput:
    """A target's new status (and attempts so far)."""

    clinic_id: UUID
    target_id: UUID
    status: str
    attempts: int
    detail: str = ""


@dataclass(frozen=True)
class CampaignStatusInput:
    """A campaign's new status."""

    clinic_id: UUID
    campaign_id: UUID
    status: str


@dataclass(frozen=True)
class CallStateInput:
    """An outbound call, by its sid."""

    clinic_id: UUID
    call_sid: str


@dataclass(frozen=True)
class OutboundCallState:
    """How far an outbound call has got: its carrier status, and (once over) its target status."""

    status: str
    final: bool
    target_status: str | None = None


def _audience(repo: ClinicRepository, campaign: Campaign) -> list[tuple[UUID, UUID | None]]:
    """(patient, appointment) pairs in calling order; patients of a list once each."""
    audience = campaign.get_audience()
    if audience.patient_ids:
        known = repo.existing_patient_ids(audience.patient_ids)
        return [(pid, None) for pid in dict.fromkeys(audience.patient_ids) if pid in known]
    assert audience.appointments_from is not None and audience.appointments_to is not None
    window = repo.appointments_between(
        audience.appointments_from, audience.appointments_to, ACTIVE_APPOINTMENT_STATUSES
    )
    return [(a.patient_id, a.id) for a in window]


@activity.defn(name="prepare_campaign")
def prepare_campaign(request: CampaignRef) -> CampaignOutline:
    """Materialize the campaign's targets (once) and mark it running; its outline."""
    with domain_errors_are_final(), write_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
        campaign = repo.require(Campaign, request.campaign_id)
        total = repo.count_campaign_targets(campaign.id)
        if total == 0:
            for position, (patient_id, appointment_id) in enumerate(_audience(repo, campaign)):
                repo.add(
                    CampaignTarget(
                        clinic_id=request.clinic_id,
                        campaign_id=campaign.id,
                        patient_id=patient_id,
                        appointment_id=appointment_id,
                        position=position,
                    )
                )
                total = position + 1
        if campaign.status is CampaignStatus.scheduled:
            campaign.status = CampaignStatus.running
        log.info("campaign_prepared", campaign_id=str(campaign.id), targets=total)
        return CampaignOutline(
            total=total,
            kind=campaign.kind.value,
            timezone=repo.clinic().timezone,
            start_at=campaign.start_at,
            plan=campaign.get_plan().model_dump(mode="json"),
            message=campaign_message(campaign),
        )


@activity.defn(name="campaign_targets_page")
def campaign_targets_page(request: TargetPageInput) -> list[TargetRef]:
    """The next targets not yet final, after position `after`, in calling order."""
    with domain_errors_are_final(), session_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
        repo.require(Campaign, request.campaign_id)
        targets = repo.campaign_targets(
            request.campaign_id,
            statuses=[TargetStatus.pending, TargetStatus.in_progress],
            after=request.after,
            limit=request.limit,
        )
        return [TargetRef(t.id, t.position) for t in targets]


@activity.defn(name="check_campaign_target")
def check_campaign_target(request: TargetInput) -> TargetCheck:
    """Whether the target may be called now: the patient's number (as it is now, not when the
    campaign began) not on the do-not-contact list for calls, its appointment still active."""
    with domain_errors_are_final(), session_scope(database_engine()) as session:
        repo = ClinicRepository(session, request.clinic_id)
        target = repo.require(CampaignTarget, request.target_id)
        patient = repo.require(Patient, target.patient_id)
        if target.status.is_final:
            return TargetCheck(False, target.status.value, "already done", patient.id)
        if blocks(repo, patient.phone, OptOutChannel.calls):
            return TargetCheck(
                False, TargetStatus.opted_out.value, "the number is on the do-not-contact list", patient.id
            )
        if target.appointment_id is not None:
            appointment = repo.get(Appointment, target.appointment_id)
            if appointment is None or not appointment.status.is_active:
                return TargetCheck(
                    False, TargetStatus.skipped.value, "the appointment is no longer active", patient.id
                )
            if appointment.start_at <= utcnow():
                return TargetCheck(
                    False, TargetStatus.skipped.value, "the appointment has passed", patient.id
                )
        return TargetCheck(True, patient_id=patient.id)


@activity.defn(name="record_target_status")
def record_target_status(request: TargetStatusInput) -> None:
    """Set the target's status, attempts and detail."""
    with domain_errors_are_final(), write_scope(database_engine()) as session:
        target = ClinicRepository(session, request.clinic_id).require(CampaignTarget, request.target_id)
        target.status = TargetStatus(request.status)
        target.attempts = max(target.attempts, request.attempts)
        target.detail = request.detail[:500] or None
        target.updated_at = utcnow()


@activity.defn(name="set_campaign_status")
def set_campaign_status(request: CampaignStatusInput) -> None:
    """Set the campaign's status (running, paused, completed, cancelled)."""
    with domain_errors_are_final(), write_scope(database_engine()) as session:
        campaign = ClinicRepository(session, request.clinic_id).require(Campaign, request.campaign_id)
        campaign.status = CampaignStatus(request.status)
        campaign.updated_at = utcnow()
    log.info("campaign_status", campaign_id=str(request.campaign_id), status=request.status)


@activity.defn(name="skip_remaining_targets")
def skip_remaining_targets(request: CampaignRef) -> int:
    """Mark every target not yet called as skipped (a cancelled campaign); how many were."""
    with domain_errors_are_final(), write_scope(database_engine()) as session:
        targets = ClinicRepository(session, request.clinic_id).campaign_targets(
            request.campaign_id, statuses=[TargetStatus.pending]
        )
        for target in targets:
            target.status = TargetStatus.skipped
            target.detail = "the campaign was cancelled"
        return len(targets)


@activity.defn(name="outbound_call_state")
def outbound_call_state(request: CallStateInput) -> OutboundCallState:
    """The call's carrier status, and once it is over, what it means for its target."""
    with domain_errors_are_final(), session_scope(database_engine()) as session:
        call = ClinicRepository(session, request.clinic_id).call_by_sid(request.call_sid)
        if call is None:
            raise ValueError(f"no call {request.call_sid} in this clinic")
        final = call.status in _FINAL_CALL_STATUSES
        if not final:
            return OutboundCallState(call.status.value, False)
        if call.status is not CallStatus.completed:  # busy, no-answer, failed: try again later
            return OutboundCallState(call.status.value, True)
        outcome = _TARGET_STATUS_OF_OUTCOME.get(call.outcome or "", TargetStatus.reached)
        return OutboundCallState(call.status.value, True, outcome.value)


CAMPAIGN_ACTIVITIES: Final = [
    prepare_campaign,
    campaign_targets_page,
    check_campaign_target,
    record_target_status,
    set_campaign_status,
    skip_remaining_targets,
    outbound_call_state,
]
