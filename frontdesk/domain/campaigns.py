"""What an outbound campaign call says: its purpose (after the patient is on the line) and the
voicemail it leaves, which names no appointment details (anyone may hear a voicemail)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.engine import Engine

from frontdesk.domain.appointment_details import describe_appointment
from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind, CampaignPlan
from frontdesk.domain.database import write_scope
from frontdesk.domain.models import (
    Appointment,
    AppointmentStatus,
    Campaign,
    CampaignTarget,
    Clinic,
    Patient,
    Service,
    utcnow,
)
from frontdesk.domain.repository import ClinicRepository

# The words a campaign says and texts when its message is left empty.
DEFAULT_MESSAGES: Final = {
    CampaignKind.reminder: "This is a reminder of your upcoming appointment. "
    "Please call us if you need to change it.",
    CampaignKind.recall: "It's time for your regular visit. Please call us to book an appointment.",
    CampaignKind.follow_up: "We're checking in after your recent visit. Please call us with any questions.",
}


# A voicemail stays well under a minute: at 150 words a minute, a calm speaking pace, 120 words
# take 48 s, which leaves time for the callback number (one word here, eleven digits when said).
# A campaign's own message that would make it longer is left for the SMS: the voicemail says the
# kind's default words instead.
VOICEMAIL_MAX_WORDS: Final = 120

# The OutboundCallWorkflow's signal that its current call is over (sent by the status webhook).
CALL_ENDED_SIGNAL: Final = "call_ended"


# Why the clinic calls, as the agent says it ("I'm calling about ..."), when no appointment is named.
PURPOSES: Final = {
    CampaignKind.reminder: "your upcoming appointment",
    CampaignKind.recall: "your regular check-up, which is due",  # for a patient with no past visit
    CampaignKind.follow_up: "a quick follow-up after your recent visit",
}


def outbound_call_workflow_id(target_id: uuid.UUID) -> str:
    """The id of the OutboundCallWorkflow calling one campaign target (one per target)."""
    return f"outbound-call-{target_id}"


def campaign_message(campaign: Campaign) -> str:
    """The campaign's own words, or its kind's default."""
    return campaign.message or DEFAULT_MESSAGES[campaign.kind]


@dataclass(frozen=True)
class OutboundContext:
    """What the voice webhook needs for a campaign call."""

    kind: CampaignKind
    purpose: str  # said once the patient is confirmed on the line
    voicemail: str
    appointment_id: uuid.UUID | None
    patient_id: uuid.UUID


def outbound_context(repo: ClinicRepository, target_id: uuid.UUID) -> OutboundContext:
    """The purpose and voicemail of a campaign target's call (NotFound for another clinic's)."""
    target = repo.require(CampaignTarget, target_id)
    campaign = repo.require(Campaign, target.campaign_id)
    patient = repo.require(Patient, target.patient_id)
    clinic = repo.clinic()
    purpose = PURPOSES[campaign.kind]
    appointment = repo.get(Appointment, target.appointment_id) if target.appointment_id else None
    if appointment is not None:
        details = describe_appointment(repo, appointment)
        purpose = f"a reminder of your {details.service.lower()} on {details.when} with {details.provider}"
    elif campaign.kind == CampaignKind.recall:
        purpose = recall_purpose(repo, patient.id)
    numbers = repo.phone_numbers()
    voicemail = voicemail_message(clinic, patient, campaign, numbers[0].e164 if numbers else None)
    return OutboundContext(campaign.kind, purpose, voicemail, target.appointment_id, patient.id)


def recall_purpose(repo: ClinicRepository, patient_id: uuid.UUID) -> str:
    """What a recall calls the patient back for: the visit they last had (a patient whose last
    visit was a cleaning is due the next cleaning), as a practice's recall list counts from the
    last visit of that kind; the regular check-up when they have none on record."""
    done = repo.appointments(patient_id=patient_id, statuses=[AppointmentStatus.completed])
    if not done:
        return PURPOSES[CampaignKind.recall]
    service = repo.require(Service, done[-1].service_id)
    return f"your regular {service.name.lower()}, which is due"


def voicemail_message(
    clinic: Clinic, patient: Patient, campaign: Campaign, callback_number: str | None
) -> str:
    """The message a campaign leaves on an answering machine: who calls, for whom, the campaign's
    words (its kind's default when its own would pass VOICEMAIL_MAX_WORDS) and the number to call
    back; never the appointment (anyone may hear a voicemail)."""

    def said(message: str) -> str:
        callback = f" Please call us back at {callback_number}." if callback_number else ""
        return (
            f"Hello, this is {clinic.agent_name} from {clinic.name} with a message for {patient.first_name}. "
            f"{message}{callback} Thank you, goodbye."
        )

    voicemail = said(campaign_message(campaign))
    if len(voicemail.split()) > VOICEMAIL_MAX_WORDS:
        voicemail = said(DEFAULT_MESSAGES[campaign.kind])
    return voicemail


def create_campaign(
    engine: Engine,
    clinic_id: uuid.UUID,
    *,
    name: str,
    kind: CampaignKind,
    audience: CampaignAudience,
    plan: CampaignPlan | None = None,
    message: str = "",
    start_at: datetime | None = None,
) -> Campaign:
    """A new scheduled campaign of the clinic (its workflow is started separately)."""
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        repo.clinic()  # NotFound for an unknown clinic
        unknown = set(audience.patient_ids) - repo.existing_patient_ids(audience.patient_ids)
        if unknown:
            raise ValueError(f"{len(unknown)} of the patient_ids are not patients of this clinic")
        campaign = repo.add(
            Campaign(
                clinic_id=clinic_id,
                name=name,
                kind=kind,
                message=message,
                plan=plan or CampaignPlan(),
                audience=audience,
                start_at=start_at or utcnow(),
            )
        )
        session.flush()
        return campaign
