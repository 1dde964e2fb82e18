"""Migration 0006: every existing clinic keeps its transcripts 365 days, the period is bounded by
the database too, calls say when their transcript went, and Frontdesk itself may be an audit
entry's actor; and back."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from frontdesk.domain.audit import record_system_change
from frontdesk.domain.database import alembic_config, make_engine, session_scope, upgrade_database
from frontdesk.domain.models import ActorKind, AuditEntry, Call, CallDirection, Clinic
from tests.domain.old_revision import add_rows
from tests.domain.test_migrations import empty_database_url

__all__ = ["empty_database_url"]

BEFORE = "0005_dashboard_users"
AT = datetime(2030, 1, 1, 9, tzinfo=UTC)

audit_0005 = sa.table(
    "audit_log",
    sa.column("id", sa.Uuid()),
    sa.column("actor_kind", sa.String()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor_name", sa.String()),
    sa.column("method", sa.String()),
    sa.column("route", sa.String()),
    sa.column("status_code", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
)
SYSTEM_ENTRY = {
    "actor_kind": "system",
    "actor_id": uuid.UUID(int=0),
    "actor_name": "Frontdesk",
    "method": "DELETE",
    "route": "retention",
    "status_code": 200,
    "at": AT,
}


def test_existing_clinics_get_365_days_and_the_system_may_be_audited(empty_database_url: str) -> None:
    url = empty_database_url
    engine = make_engine(url)
    command.upgrade(alembic_config(url), BEFORE)
    east = Clinic(slug="east", name="East", timezone="America/New_York")
    west = Clinic(slug="west", name="West", timezone="America/Denver")
    call = Call(
        clinic_id=east.id,
        call_sid="CA" + uuid.uuid4().hex,
        direction=CallDirection.inbound,
        from_number="+15550111000",
        to_number="+15550140000",
        summary="Booked a cleaning.",
    )
    add_rows(engine, east, west, call)

    upgrade_database(url)

    with session_scope(engine) as session:
        assert sorted(session.exec(select(Clinic.slug, Clinic.retention_days))) == [
            ("east", 365),
            ("west", 365),
        ]
        stored = session.get(Call, call.id)
        assert (
            stored is not None
            and stored.summary == "Booked a cleaning."
            and stored.transcript_removed_at is None
        )
        entry = record_system_change(
            session,
            entry_id=uuid.uuid4(),
            clinic_id=east.id,
            method="DELETE",
            task="retention",
            counts={"calls": 1},
        )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text("UPDATE clinics SET retention_days = 10"))
    with session_scope(engine) as session:
        kept = session.get(AuditEntry, entry.id)
        assert kept is not None and (kept.actor_kind, kept.detail) == (ActorKind.system, {"calls": 1})

    command.downgrade(alembic_config(url), BEFORE)

    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        columns = {table: {c["name"] for c in inspector.get_columns(table)} for table in ("clinics", "calls")}
        system_entries = connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
        slugs = connection.execute(sa.text("SELECT slug FROM clinics ORDER BY slug")).scalars().all()
    assert "retention_days" not in columns["clinics"] and "transcript_removed_at" not in columns["calls"]
    assert (system_entries, slugs) == (0, ["east", "west"])
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(audit_0005.insert().values(id=uuid.uuid4(), **SYSTEM_ENTRY))
    upgrade_database(url)
