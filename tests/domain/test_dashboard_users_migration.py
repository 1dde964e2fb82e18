"""Migration 0005: users and sessions; the audit log's actor; calls of direction 'web'.

On SQLite the calls table is rebuilt: nothing that refers to a call may be lost on the way
(its turns cascade and its actions unlink on delete, so a rebuild with foreign keys on would
take them)."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import select

from frontdesk.domain.database import alembic_config, make_engine, session_scope, upgrade_database
from frontdesk.domain.models import (
    Action,
    ActorKind,
    AuditEntry,
    Call,
    CallDirection,
    CallTurn,
    Clinic,
    TurnRole,
)
from tests.domain.old_revision import add_rows
from tests.domain.test_migrations import empty_database_url

__all__ = ["empty_database_url"]

BEFORE = "0004_do_not_contact"
AT = datetime(2030, 1, 1, 9, tzinfo=UTC)

audit_0004 = sa.table(
    "audit_log",
    sa.column("id", sa.Uuid()),
    sa.column("clinic_id", sa.Uuid()),
    sa.column("api_key_id", sa.Uuid()),
    sa.column("api_key_name", sa.String()),
    sa.column("method", sa.String()),
    sa.column("route", sa.String()),
    sa.column("resource_id", sa.String()),
    sa.column("status_code", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
)


def a_call(clinic_id: uuid.UUID, direction: CallDirection) -> Call:
    return Call(
        clinic_id=clinic_id,
        call_sid="CA" + uuid.uuid4().hex,
        direction=direction,
        from_number="+15550199001",
        to_number="+15550140000",
    )


def test_calls_keep_their_turns_and_actions_and_audit_entries_name_their_key(empty_database_url: str) -> None:
    url = empty_database_url
    engine: Engine = make_engine(url)
    command.upgrade(alembic_config(url), BEFORE)
    key_id = uuid.uuid4()
    clinic = Clinic(slug="east", name="East", timezone="America/New_York")
    call = a_call(clinic.id, CallDirection.inbound)
    add_rows(
        engine,
        clinic,
        call,
        CallTurn(clinic_id=clinic.id, call_id=call.id, index=0, role=TurnRole.agent, text="Hello."),
        Action(clinic_id=clinic.id, call_id=call.id, kind="book", idempotency_key="k1"),
    )
    with engine.begin() as connection:
        connection.execute(
            audit_0004.insert().values(
                id=uuid.uuid4(),
                clinic_id=clinic.id,
                api_key_id=key_id,
                api_key_name="front desk laptop",
                method="PATCH",
                route="/v1/clinics/{clinic_id}",
                status_code=200,
                at=AT,
            )
        )

    upgrade_database(url)

    with session_scope(engine) as session:
        [turn] = session.exec(select(CallTurn)).all()
        [action] = session.exec(select(Action)).all()
        [entry] = session.exec(select(AuditEntry)).all()
        assert (turn.call_id, action.call_id) == (call.id, call.id)
        assert (entry.actor_kind, entry.actor_id, entry.actor_name) == (
            ActorKind.api_key,
            key_id,
            "front desk laptop",
        )
        session.add(a_call(clinic.id, CallDirection.web))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text("UPDATE calls SET direction = 'carrier pigeon'"))

    command.downgrade(alembic_config(url), BEFORE)

    with engine.connect() as connection:
        directions = connection.execute(sa.text("SELECT direction FROM calls")).scalars().all()
        turns = connection.execute(sa.text("SELECT count(*) FROM call_turns")).scalar_one()
        names = connection.execute(sa.select(audit_0004.c.api_key_name)).scalars().all()
    assert (directions, turns, names) == (["inbound"], 1, ["front desk laptop"])
    upgrade_database(url)
