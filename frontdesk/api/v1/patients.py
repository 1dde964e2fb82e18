"""Patients: list (by phone), create, read, update. Responses are PHI: never log them."""

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlmodel import col

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import ApiModel, Output, PatchModel
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.domain.clinic_settings import E164
from frontdesk.domain.models import Patient

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class PatientIn(ApiModel):
    """A new patient."""

    phone: E164
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date | None = None
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    insurance_carrier: str | None = Field(default=None, max_length=100)
    insurance_member_id: str | None = Field(default=None, max_length=64)
    sms_opt_out: bool = False
    call_opt_out: bool = False


class PatientPatch(PatchModel):
    """Changes to a patient; date_of_birth, email and insurance may be cleared with null."""

    phone: E164 | None = None
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    date_of_birth: date | None = None
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    insurance_carrier: str | None = Field(default=None, max_length=100)
    insurance_member_id: str | None = Field(default=None, max_length=64)
    sms_opt_out: bool | None = None
    call_opt_out: bool | None = None

    @classmethod
    def nullable_fields(cls) -> frozenset[str]:
        """The optional facts of a patient."""
        return frozenset({"date_of_birth", "email", "insurance_carrier", "insurance_member_id"})


class PatientOut(Output):
    """A patient."""

    id: uuid.UUID
    phone: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    email: str | None
    insurance_carrier: str | None
    insurance_member_id: str | None
    sms_opt_out: bool
    call_opt_out: bool
    created_at: datetime
    updated_at: datetime


router = APIRouter(prefix="/clinics/{clinic_id}/patients", tags=["patients"])


@router.get("", response_model=Page[PatientOut])
def list_patients(
    ctx: ClinicContext = Depends(clinic_context),
    page: PageParams = Depends(page_params),
    phone: str | None = Query(
        None, pattern=r"^\+[1-9]\d{6,14}$", description="only patients with this number"
    ),
) -> Page[PatientOut]:
    """The clinic's patients by last and first name, optionally those sharing one phone number."""
    conditions = [] if phone is None else [Patient.phone == phone]
    with ctx.reading() as repo:
        rows, total = repo.page(
            Patient,
            *conditions,
            order_by=[col(Patient.last_name), col(Patient.first_name)],
            limit=page.limit,
            offset=page.offset,
        )
        return Page.of([PatientOut.model_validate(r) for r in rows], total, page)


@router.post("", response_model=PatientOut, status_code=201)
def create_patient(body: PatientIn, ctx: ClinicContext = Depends(clinic_context)) -> PatientOut:
    """Register a patient."""
    with ctx.changing(201) as change:
        row = change.repo.add(Patient(clinic_id=ctx.clinic_id, **body.model_dump()))
        change.resource_id = row.id
    return PatientOut.model_validate(row)


@router.get("/{patient_id}", response_model=PatientOut)
def get_patient(patient_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)) -> PatientOut:
    """One patient."""
    with ctx.reading() as repo:
        return PatientOut.model_validate(repo.require(Patient, patient_id))


@router.patch("/{patient_id}", response_model=PatientOut)
def update_patient(
    patient_id: uuid.UUID, body: PatientPatch, ctx: ClinicContext = Depends(clinic_context)
) -> PatientOut:
    """Correct a patient's details or opt-outs."""
    with ctx.changing() as change:
        row = change.repo.require(Patient, patient_id)
        for name, value in body.changes().items():
            setattr(row, name, value)
        change.resource_id = row.id
        change.repo.session.flush()
        return PatientOut.model_validate(row)
