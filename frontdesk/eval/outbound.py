"""An outbound scenario's call as a campaign places it: a one-patient campaign with its target
(the patient the scenario's number belongs to, and the appointment it names), and whether the
line is answered by a person or a machine."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.engine import Engine

from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind
from frontdesk.domain.campaigns import OutboundContext, create_campaign, outbound_context
from frontdesk.domain.database import write_scope
from frontdesk.domain.models import CampaignTarget, Clinic
from frontdesk.domain.repository import ClinicRepository
from frontdesk.eval.scenario import Scenario

# What answering-machine detection hears in a voicemail greeting (the carrier's side of the call).
MACHINE_GREETINGS: Final = (
    "leave a message",
    "leave your message",
    "after the beep",
    "after the tone",
    "voicemail",
    "voice mail",
    "not available to take your call",
    "can't come to the phone",
)


class OutboundScenarioError(Exception):
    """The scenario's patient or appointment is not in the seeded clinic; the message names it."""


@dataclass(frozen=True)
class ScenarioTarget:
    """The campaign target a scenario's outbound call is for, and what its webhook says."""

    target_id: uuid.UUID
    context: OutboundContext


def answered_by_machine(scenario: Scenario) -> bool:
    """Whether answering-machine detection would hear a machine: the line's first words are a
    voicemail greeting."""
    first = scenario.turns[0].say or ""
    return any(phrase in first.lower() for phrase in MACHINE_GREETINGS)


def scenario_target(engine: Engine, clinic: Clinic, scenario: Scenario, instant: datetime) -> ScenarioTarget:
    """A one-patient campaign of the scenario's kind, started at `instant`, and its target."""
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic.id)
        patients = repo.patients_by_phone(scenario.caller)
        if not patients:
            raise OutboundScenarioError(
                f"caller: {scenario.caller} is not the number of a demo clinic patient"
            )
        patient = patients[0]
        appointment = None
        if scenario.appointment == "first_upcoming":
            upcoming = repo.upcoming_appointments(patient.id, instant)
            if not upcoming:
                raise OutboundScenarioError(
                    "appointment: first_upcoming, but the patient has no upcoming appointment"
                )
            appointment = upcoming[0]
    assert scenario.campaign is not None  # the scenario's validator requires it outbound
    campaign = create_campaign(
        engine,
        clinic.id,
        name=f"eval {scenario.name}",
        kind=CampaignKind(scenario.campaign),
        audience=CampaignAudience(patient_ids=[patient.id]),
        start_at=instant,
    )
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic.id)
        target = repo.add(
            CampaignTarget(
                clinic_id=clinic.id,
                campaign_id=campaign.id,
                patient_id=patient.id,
                appointment_id=appointment.id if appointment else None,
                position=0,
            )
        )
        session.flush()
        return ScenarioTarget(target.id, outbound_context(repo, target.id))
