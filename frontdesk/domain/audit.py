"""The audit log of admin API changes: who (the key), what (method, route template, resource id)
and when. Written in the same transaction as the change it records, so neither exists alone.
Request bodies are never recorded: the log holds no patient data.
"""

import uuid

from sqlalchemy import func
from sqlmodel import Session, col, select

from frontdesk.domain.models import AuditEntry


def record_change(
    session: Session,
    *,
    clinic_id: uuid.UUID | None,
    api_key_id: uuid.UUID,
    api_key_name: str,
    method: str,
    route: str,
    resource_id: str | None,
    status_code: int,
) -> AuditEntry:
    """Add an audit entry to `session` (committed with the change)."""
    entry = AuditEntry(
        clinic_id=clinic_id,
        api_key_id=api_key_id,
        api_key_name=api_key_name,
        method=method,
        route=route,
        resource_id=resource_id,
        status_code=status_code,
    )
    session.add(entry)
    return entry


def audit_entries(
    session: Session, clinic_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """One page of a clinic's audit entries, newest first, and how many there are."""
    base = select(AuditEntry).where(AuditEntry.clinic_id == clinic_id)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(base.order_by(col(AuditEntry.at).desc()).offset(offset).limit(limit))
    return list(rows), int(total)
