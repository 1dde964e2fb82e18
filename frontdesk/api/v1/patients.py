"""Patients: list (by phone), create, read, update. Responses are PHI: never log them.

A patient's `call_opt_out` and `sms_opt_out` are read from, and written to, the clinic's
do-not-contact list for the patient's number (frontdesk.domain.opt_outs): consent belongs to the
number, so a change made on one patient's record holds for everyone with that number.
"""

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlmodel import col

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import ApiModel, Output, PatchModel
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.domain.clinic_settings import E164
from frontdesk.domain.models import DoNotContact, OptOutSource, Patient
from frontdesk.domain.opt_outs import OptOutChannel, block, unblock
from frontdesk.domain.repository import ClinicRepository

_CALL_OPT_OUT = "true: the patient's number is on the clinic's do-not-contact list for calls"
_SMS_OPT_OUT = "true: the patient's number is on the clinic's do-not-contact list for texts"

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
    sms_opt_out: bool = Field(default=False, description=f"{_SMS_OPT_OUT}; false leaves the list as it is")
    call_opt_out: bool = Field(default=False, description=f"{_CALL_OPT_OUT}; false leaves the list as it is")


class PatientPatch(PatchModel):
    """Changes to a patient; date_of_birth, email and insurance may be cleared with null."""

    phone: E164 | None = None
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    date_of_birth: date | None = None
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    insurance_carrier: str | None = Field(default=None, max_length=100)
    insurance_member_id: str | None = Field(default=None, max_length=64)
    sms_opt_out: bool | None = Field(default=None, description=f"{_SMS_OPT_OUT}; false takes it off")
    call_opt_out: bool | None = Field(default=None, description=f"{_CALL_OPT_OUT}; false takes it off")

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
    sms_opt_out: bool = Field(description=_SMS_OPT_OUT)
    call_opt_out: bool = Field(description=_CALL_OPT_OUT)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, patient: Patient, entry: DoNotContact | None) -> "PatientOut":
        """The patient, with the opt-outs of `entry`, its number's do-not-contact entry."""
        return cls.model_validate(
            patient.model_dump()
            | {
                "sms_opt_out": entry is not None and entry.blocks_sms,
                "call_opt_out": entry is not None and entry.blocks_calls,
            }
        )


def _write_opt_outs(repo: ClinicRepository, phone: str, *, sms: bool | None, calls: bool | None) -> None:
    """Put the number on the do-not-contact list (True) or take it off (False) for each channel;
    None leaves that channel as it is."""
    for channel, opted_out in ((OptOutChannel.sms, sms), (OptOutChannel.calls, calls)):
        if opted_out is True:
            block(repo, phone, channel, OptOutSource.patient_record)
        elif opted_out is False:
            unblock(repo, phone, channel)


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
        entries = repo.do_not_contact_of({r.phone for r in rows})
        return Page.of([PatientOut.of(r, entries.get(r.phone)) for r in rows], total, page)


@router.post("", response_model=PatientOut, status_code=201)
def create_patient(body: PatientIn, ctx: ClinicContext = Depends(clinic_context)) -> PatientOut:
    """Register a patient; opt-outs given as true put the number on the do-not-contact list (one
    already there stays there: it may have opted out before the patient registered)."""
    details = body.model_dump(exclude={"sms_opt_out", "call_opt_out"})
    with ctx.changing(201) as change:
        row = change.repo.add(Patient(clinic_id=ctx.clinic_id, **details))
        _write_opt_outs(change.repo, row.phone, sms=body.sms_opt_out or None, calls=body.call_opt_out or None)
        change.resource_id = row.id
        change.repo.session.flush()
        return PatientOut.of(row, change.repo.do_not_contact(row.phone))


@router.get("/{patient_id}", response_model=PatientOut)
def get_patient(patient_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)) -> PatientOut:
    """One patient."""
    with ctx.reading() as repo:
        row = repo.require(Patient, patient_id)
        return PatientOut.of(row, repo.do_not_contact(row.phone))


@router.patch("/{patient_id}", response_model=PatientOut)
def update_patient(
    patient_id: uuid.UUID, body: PatientPatch, ctx: ClinicContext = Depends(clinic_context)
) -> PatientOut:
    """Correct a patient's details, or the do-not-contact list for the patient's number (the new
    number when the phone changes too)."""
    changes = body.changes()
    sms, calls = changes.pop("sms_opt_out", None), changes.pop("call_opt_out", None)
    with ctx.changing() as change:
        row = change.repo.require(Patient, patient_id)
        for name, value in changes.items():
            setattr(row, name, value)
        _write_opt_outs(change.repo, row.phone, sms=sms, calls=calls)
        change.resource_id = row.id
        change.repo.session.flush()
        return PatientOut.of(row, change.repo.do_not_contact(row.phone))
