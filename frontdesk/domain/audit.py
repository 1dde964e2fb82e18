"""The audit log of changes made through the admin API or the dashboard: who (a key or a user),
what (method, route template, resource id) and when; and of changes Frontdesk makes by itself
(the retention clean-up), with counts of what they did. Written in the same transaction as the
change it records, so neither exists alone. Request bodies are never recorded: the log holds no
patient data.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from frontdesk.domain.models import ActorKind, AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an API key (by its name), a dashboard user (by email) or Frontdesk
    itself (SYSTEM_ACTOR)."""

    kind: ActorKind
    id: uuid.UUID
    name: str


# Frontdesk itself, as the actor of the changes its scheduled tasks make.
SYSTEM_ACTOR: Final = Actor(ActorKind.system, uuid.UUID(int=0), "Frontdesk")


def record_change(
    session: Session,
    *,
    clinic_id: uuid.UUID | None,
    actor: Actor,
    method: str,
    route: str,
    resource_id: str | None,
    status_code: int,
    entry_id: uuid.UUID | None = None,
) -> AuditEntry:
    """Add an audit entry to `session` (committed with the change); `entry_id` when the caller
    names it (see record_system_change)."""
    entry = AuditEntry(
        id=entry_id or uuid.uuid4(),
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


def record_system_change(
    session: Session,
    *,
    entry_id: uuid.UUID,
    clinic_id: uuid.UUID,
    method: str,
    task: str,
    counts: Mapping[str, int],
) -> AuditEntry:
    """Add `counts` (what one transaction of a system task's run did to a clinic) to that run's
    entry `entry_id`, which its first transaction makes (method and task, in place of an HTTP
    method and route). A run that commits in batches, or is retried, so keeps one entry whose
    counts add up to what it did, each batch audited in its own transaction."""
    entry = session.get(AuditEntry, entry_id) or record_change(
        session,
        clinic_id=clinic_id,
        actor=SYSTEM_ACTOR,
        method=method,
        route=task,
        resource_id=None,
        status_code=200,
        entry_id=entry_id,
    )
    totals = dict(entry.detail or {})
    for name, count in counts.items():
        totals[name] = totals.get(name, 0) + count
    entry.detail = totals  # a new dict: the JSON column does not track changes made in place
    return entry


def audit_entries(
    session: Session, clinic_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """One page of a clinic's audit entries, newest first, and how many there are."""
    base = select(AuditEntry).where(AuditEntry.clinic_id == clinic_id)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(base.order_by(col(AuditEntry.at).desc()).offset(offset).limit(limit))
    return list(rows), int(total)
