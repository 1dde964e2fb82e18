"""The clinic's do-not-contact list: list, add (a number and a channel), remove.

The list is the one record of consent to calls and texts, by phone number (see
frontdesk.domain.opt_outs): a number on it is not called or texted, whichever patient has it.
Texts' STOP and requests on calls put numbers on it too; here staff do (source api). Responses
hold phone numbers: never log them.
"""

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Query
from sqlmodel import col

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import ApiModel, Output
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.domain.clinic_settings import E164
from frontdesk.domain.models import DoNotContact, OptOutSource
from frontdesk.domain.opt_outs import OptOutChannel, block, unblock


class DoNotContactIn(ApiModel):
    """A number to stop calling, texting, or both (`all`). A channel already blocked keeps when
    and how it was first blocked."""

    phone: E164
    channel: OptOutChannel


class DoNotContactOut(Output):
    """A number on the list: which channels are blocked, since when, and who asked."""

    id: uuid.UUID
    phone: str
    blocks_calls: bool
    calls_since: datetime | None
    calls_source: OptOutSource | None
    blocks_sms: bool
    sms_since: datetime | None
    sms_source: OptOutSource | None
    created_at: datetime
    updated_at: datetime


router = APIRouter(prefix="/clinics/{clinic_id}/do-not-contact", tags=["do not contact"])


@router.get("", response_model=Page[DoNotContactOut])
def list_do_not_contact(
    ctx: ClinicContext = Depends(clinic_context),
    page: PageParams = Depends(page_params),
    phone: str | None = Query(None, pattern=r"^\+[1-9]\d{6,14}$", description="only this number's entry"),
) -> Page[DoNotContactOut]:
    """The numbers the clinic must not call or text, by number."""
    conditions = [] if phone is None else [DoNotContact.phone == phone]
    with ctx.reading() as repo:
        rows, total = repo.page(
            DoNotContact,
            *conditions,
            order_by=[col(DoNotContact.phone)],
            limit=page.limit,
            offset=page.offset,
        )
        return Page.of([DoNotContactOut.model_validate(r) for r in rows], total, page)


@router.post("", response_model=DoNotContactOut, status_code=201)
def add_do_not_contact(body: DoNotContactIn, ctx: ClinicContext = Depends(clinic_context)) -> DoNotContactOut:
    """Stop calling, texting, or both, a number (whether or not a patient has it yet)."""
    with ctx.changing(201) as change:
        entry = block(change.repo, body.phone, body.channel, OptOutSource.api)
        change.resource_id = entry.id
    return DoNotContactOut.model_validate(entry)


@router.delete("/{do_not_contact_id}", status_code=204)
def remove_do_not_contact(
    do_not_contact_id: uuid.UUID,
    ctx: ClinicContext = Depends(clinic_context),
    channel: OptOutChannel = Query(OptOutChannel.all, description="the channel to allow again; all: both"),
) -> None:
    """Allow calls, texts, or both, to the number again (the entry goes once nothing is blocked)."""
    with ctx.changing(204) as change:
        entry = change.repo.require(DoNotContact, do_not_contact_id)
        unblock(change.repo, entry.phone, channel)
        change.resource_id = do_not_contact_id
