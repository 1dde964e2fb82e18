"""A caller not yet on file, and registering them (once) when they book."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.engine import Engine

from frontdesk.domain.database import write_scope
from frontdesk.domain.models import Patient
from frontdesk.domain.repository import ClinicRepository


@dataclass(frozen=True)
class NewPatient:
    """A caller to register (or find, when the same name and date of birth exist). A plain
    dataclass: it travels in CallWorkflow Updates and activity inputs."""

    first_name: str
    last_name: str
    date_of_birth: str  # ISO 8601: Temporal's JSON converter carries datetimes, not dates
    phone: str
    email: str | None = None


def find_or_register_patient(engine: Engine, clinic_id: uuid.UUID, patient: NewPatient) -> uuid.UUID:
    """The id of the clinic's patient with this name and date of birth, registered when new."""
    born = date.fromisoformat(patient.date_of_birth)
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        known = repo.patient_by_name_and_dob(patient.first_name, patient.last_name, born)
        if known is not None:
            return known.id
        row = repo.add(
            Patient(
                clinic_id=clinic_id,
                phone=patient.phone,
                first_name=patient.first_name.title(),
                last_name=patient.last_name.title(),
                date_of_birth=born,
                email=patient.email,
            )
        )
        session.flush()
        return row.id
