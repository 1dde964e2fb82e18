"""Services (the kinds of appointment): list, create, read, update. Retire one with active=false."""

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlmodel import col

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import ApiModel, Output, PatchModel
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.domain.models import Service

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class ServiceIn(ApiModel):
    """A new service."""

    slug: str = Field(pattern=SLUG, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    duration_minutes: int = Field(ge=1, le=480)
    description: str = Field(default="", max_length=1000)
    active: bool = True


class ServicePatch(PatchModel):
    """Changes to a service."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    duration_minutes: int | None = Field(default=None, ge=1, le=480)
    description: str | None = Field(default=None, max_length=1000)
    active: bool | None = None


class ServiceOut(Output):
    """A service."""

    id: uuid.UUID
    slug: str
    name: str
    duration_minutes: int
    description: str
    active: bool
    created_at: datetime


def register_service(ctx: ClinicContext, body: ServiceIn) -> ServiceOut:
    """Add a service (audited); a slug the clinic already has is a 409."""
    with ctx.changing(201) as change:
        row = change.repo.add(Service(clinic_id=ctx.clinic_id, **body.model_dump()))
        change.resource_id = row.id
    return ServiceOut.model_validate(row)


def change_service(ctx: ClinicContext, service_id: uuid.UUID, body: ServicePatch) -> ServiceOut:
    """Apply `body`'s changes to a service of this clinic (audited)."""
    with ctx.changing() as change:
        row = change.repo.require(Service, service_id)
        for name, value in body.changes().items():
            setattr(row, name, value)
        change.resource_id = row.id
    return ServiceOut.model_validate(row)


router = APIRouter(prefix="/clinics/{clinic_id}/services", tags=["services"])


@router.get("", response_model=Page[ServiceOut])
def list_services(
    ctx: ClinicContext = Depends(clinic_context), page: PageParams = Depends(page_params)
) -> Page[ServiceOut]:
    """The clinic's services, by name (retired ones included)."""
    with ctx.reading() as repo:
        rows, total = repo.page(Service, order_by=[col(Service.name)], limit=page.limit, offset=page.offset)
        return Page.of([ServiceOut.model_validate(r) for r in rows], total, page)


@router.post("", response_model=ServiceOut, status_code=201)
def create_service(body: ServiceIn, ctx: ClinicContext = Depends(clinic_context)) -> ServiceOut:
    """Add a service (its slug is unique in the clinic: a duplicate is 409)."""
    return register_service(ctx, body)


@router.get("/{service_id}", response_model=ServiceOut)
def get_service(service_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)) -> ServiceOut:
    """One service."""
    with ctx.reading() as repo:
        return ServiceOut.model_validate(repo.require(Service, service_id))


@router.patch("/{service_id}", response_model=ServiceOut)
def update_service(
    service_id: uuid.UUID, body: ServicePatch, ctx: ClinicContext = Depends(clinic_context)
) -> ServiceOut:
    """Change a service's name, length, description or whether it is offered."""
    return change_service(ctx, service_id, body)
