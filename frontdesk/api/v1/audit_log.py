"""A clinic's audit log: every change made through the admin API or the dashboard, and by
Frontdesk itself (the retention clean-up), newest first."""

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends

from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import Output
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.domain.audit import audit_entries
from frontdesk.domain.models import ActorKind


class AuditEntryOut(Output):
    """Who changed what, when; a system task's counts in `detail`."""

    id: uuid.UUID
    actor_kind: ActorKind
    actor_id: uuid.UUID
    actor_name: str
    method: str
    route: str
    resource_id: str | None
    status_code: int
    at: datetime
    detail: dict[str, int] | None


router = APIRouter(prefix="/clinics/{clinic_id}/audit-log", tags=["audit log"])


@router.get("", response_model=Page[AuditEntryOut])
def list_audit_entries(
    ctx: ClinicContext = Depends(clinic_context), page: PageParams = Depends(page_params)
) -> Page[AuditEntryOut]:
    """The clinic's audit entries, newest first."""
    with ctx.reading() as repo:
        rows, total = audit_entries(repo.session, ctx.clinic_id, limit=page.limit, offset=page.offset)
        return Page.of([AuditEntryOut.model_validate(r) for r in rows], total, page)
