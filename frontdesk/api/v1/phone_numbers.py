"""The numbers that route calls to a clinic: list, add, remove."""

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlmodel import col

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import ApiModel, Output
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.domain.clinic_settings import E164
from frontdesk.domain.models import PhoneNumber


class PhoneNumberIn(ApiModel):
    """A number to route to the clinic (unique across all clinics: a taken number is 409)."""

    e164: E164
    label: str = Field(default="main", min_length=1, max_length=64)


class PhoneNumberOut(Output):
    """A number of the clinic."""

    id: uuid.UUID
    e164: str
    label: str
    created_at: datetime


router = APIRouter(prefix="/clinics/{clinic_id}/phone-numbers", tags=["phone numbers"])


@router.get("", response_model=Page[PhoneNumberOut])
def list_phone_numbers(
    ctx: ClinicContext = Depends(clinic_context), page: PageParams = Depends(page_params)
) -> Page[PhoneNumberOut]:
    """The clinic's numbers."""
    with ctx.reading() as repo:
        rows, total = repo.page(
            PhoneNumber, order_by=[col(PhoneNumber.e164)], limit=page.limit, offset=page.offset
        )
        return Page.of([PhoneNumberOut.model_validate(r) for r in rows], total, page)


@router.post("", response_model=PhoneNumberOut, status_code=201)
def add_phone_number(body: PhoneNumberIn, ctx: ClinicContext = Depends(clinic_context)) -> PhoneNumberOut:
    """Route a number to the clinic."""
    with ctx.changing(201) as change:
        row = change.repo.add(PhoneNumber(clinic_id=ctx.clinic_id, **body.model_dump()))
        change.resource_id = row.id
    return PhoneNumberOut.model_validate(row)


@router.delete("/{phone_number_id}", status_code=204)
def remove_phone_number(phone_number_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)) -> None:
    """Stop routing a number to the clinic."""
    with ctx.changing(204) as change:
        change.repo.session.delete(change.repo.require(PhoneNumber, phone_number_id))
        change.resource_id = phone_number_id
