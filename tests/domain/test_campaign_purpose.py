"""What a campaign call says it is about: a recall names the visit the patient last had."""

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind
from frontdesk.domain.campaigns import create_campaign, outbound_context
from frontdesk.domain.models import Appointment, CampaignTarget, Clinic, Patient
from frontdesk.domain.repository import ClinicRepository


def recall_purposes(engine: Engine, clinic: Clinic) -> dict[str, str]:
    """The recall purpose said to each demo patient, by first name."""
    with Session(engine) as session:
        patients = {p.id: p.first_name for p in session.exec(select(Patient))}
    campaign = create_campaign(
        engine,
        clinic.id,
        name="Spring recall",
        kind=CampaignKind.recall,
        audience=CampaignAudience(patient_ids=list(patients)),
    )
    with Session(engine) as session:
        repo = ClinicRepository(session, clinic.id)
        purposes = {}
        for position, (patient_id, first_name) in enumerate(patients.items()):
            target = repo.add(
                CampaignTarget(
                    clinic_id=clinic.id, campaign_id=campaign.id, patient_id=patient_id, position=position
                )
            )
            session.flush()
            purposes[first_name] = outbound_context(repo, target.id).purpose
        return purposes


def test_a_recall_names_the_visit_last_had_else_the_check_up(engine: Engine, demo_clinic: Clinic) -> None:
    purposes = recall_purposes(engine, demo_clinic)
    # Emily's last visit, six months ago, was a cleaning; the others have none on record yet.
    assert purposes["Emily"] == "your regular cleaning, which is due"
    assert purposes["John"] == "your regular check-up, which is due"
    with Session(engine) as session:
        johns = session.exec(
            select(Appointment).join(Patient).where(Patient.first_name == "John")  # type: ignore[arg-type]
        ).one()
        johns.status = "completed"
        session.add(johns)
        session.commit()
    assert recall_purposes(engine, demo_clinic)["John"] == "your regular cleaning, which is due"
