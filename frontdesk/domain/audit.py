"""The audit log of changes made through the admin API or the dashboard: who (a key or a user),
what (method, route template, resource id) and when. Written in the same transaction as the
change it records, so neither exists alone. Request bodies are never recorded: the log holds no
patient data.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from frontdesk.domain.models import ActorKind, AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an API key (by its name) or a dashboard user (by email)."""

    kind: ActorKind
    id: uuid.UUID
    name: str


def record_change(
    session: Session,
    *,
    clinic_id: uuid.UUID | None,
    actor: Actor,
    method: str,
    route: str,
    resource_id: str | None,
    status_code: int,
) -> AuditEntry:
    """Add an audit entry to `session` (committed with the change)."""
    entry = AuditEntry(
        clinic_id=clinic_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
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
