"""CRM and practice-management connections. Credentials are write-only: encrypted at rest with the
process's secret key (frontdesk.domain.crypto) and never returned; responses only say whether
some are set."""

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlmodel import col

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import ApiModel, Output, PatchModel
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.config import Settings
from frontdesk.domain.crypto import set_integration_credentials
from frontdesk.domain.models import Integration, IntegrationKind

Credentials = dict[str, str]


class IntegrationIn(ApiModel):
    """A connection to configure (one per clinic, kind and provider)."""

    kind: IntegrationKind
    provider: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$", description="hubspot, ...")
    settings: dict[str, Any] = Field(default_factory=dict, description="non-secret options (URLs, ids)")
    credentials: Credentials | None = Field(default=None, description="write-only; stored encrypted")
    enabled: bool = True


class IntegrationPatch(PatchModel):
    """Changes to a connection; `credentials` replaces the stored ones."""

    settings: dict[str, Any] | None = None
    credentials: Credentials | None = None
    enabled: bool | None = None


class IntegrationOut(Output):
    """A connection, without its credentials."""

    id: uuid.UUID
    kind: IntegrationKind
    provider: str
    settings: dict[str, Any]
    enabled: bool
    has_credentials: bool
    created_at: datetime
    updated_at: datetime


def integration_out(row: Integration) -> IntegrationOut:
    """The response of an integration row: credentials reduced to whether they are set."""
    fields = {name: getattr(row, name) for name in IntegrationOut.model_fields if name != "has_credentials"}
    return IntegrationOut(**fields, has_credentials=row.credentials_encrypted is not None)


def integrations_router(settings: Settings) -> APIRouter:
    """The integration routes; credentials are encrypted with `settings.secret_key`."""
    router = APIRouter(prefix="/clinics/{clinic_id}/integrations", tags=["integrations"])

    @router.get("", response_model=Page[IntegrationOut])
    def list_integrations(
        ctx: ClinicContext = Depends(clinic_context), page: PageParams = Depends(page_params)
    ) -> Page[IntegrationOut]:
        """The clinic's connections."""
        with ctx.reading() as repo:
            rows, total = repo.page(
                Integration,
                order_by=[col(Integration.kind), col(Integration.provider)],
                limit=page.limit,
                offset=page.offset,
            )
            return Page.of([integration_out(r) for r in rows], total, page)

    @router.post("", response_model=IntegrationOut, status_code=201)
    def create_integration(
        body: IntegrationIn, request: Request, ctx: ClinicContext = Depends(clinic_context)
    ) -> IntegrationOut:
        """Connect a CRM or practice system."""
        with ctx.changing(201) as change:
            row = Integration(clinic_id=ctx.clinic_id, **body.model_dump(exclude={"credentials"}))
            if body.credentials is not None:
                set_integration_credentials(row, body.credentials, settings.secret_key)
            change.repo.add(row)
            change.resource_id = row.id
        return integration_out(row)

    @router.get("/{integration_id}", response_model=IntegrationOut)
    def get_integration(
        integration_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)
    ) -> IntegrationOut:
        """One connection."""
        with ctx.reading() as repo:
            return integration_out(repo.require(Integration, integration_id))

    @router.patch("/{integration_id}", response_model=IntegrationOut)
    def update_integration(
        integration_id: uuid.UUID, body: IntegrationPatch, ctx: ClinicContext = Depends(clinic_context)
    ) -> IntegrationOut:
        """Change a connection's options, credentials or whether it is used."""
        with ctx.changing() as change:
            row = change.repo.require(Integration, integration_id)
            changes = body.changes()
            credentials = changes.pop("credentials", None)
            for name, value in changes.items():
                setattr(row, name, value)
            if credentials is not None:
                set_integration_credentials(row, credentials, settings.secret_key)
            change.resource_id = row.id
            change.repo.session.flush()
            return integration_out(row)

    @router.delete("/{integration_id}", status_code=204)
    def delete_integration(integration_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)) -> None:
        """Disconnect (the stored credentials go with it)."""
        with ctx.changing(204) as change:
            change.repo.session.delete(change.repo.require(Integration, integration_id))
            change.resource_id = integration_id

    return router
