"""Migration 0004: the patients' opt-out flags become do-not-contact entries by number, and back."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import select

from frontdesk.domain.database import alembic_config, make_engine, session_scope, upgrade_database
from frontdesk.domain.models import Call, CallDirection, Clinic, DoNotContact, OptOutSource
from tests.domain.old_revision import add_rows
from tests.domain.test_migrations import empty_database_url

__all__ = ["empty_database_url"]

BEFORE = "0003_audit_log"
FAMILY, SINGLE, UNFLAGGED = "+15550111000", "+15550111001", "+15550111002"
EARLIER, LATER = datetime(2030, 1, 1, 9, tzinfo=UTC), datetime(2030, 2, 1, 9, tzinfo=UTC)

# The patients table as migration 0003 left it: with the two flags.
patients_0003 = sa.table(
    "patients",
    sa.column("id", sa.Uuid()),
    sa.column("clinic_id", sa.Uuid()),
    sa.column("phone", sa.String()),
    sa.column("first_name", sa.String()),
    sa.column("last_name", sa.String()),
    sa.column("call_opt_out", sa.Boolean()),
    sa.column("sms_opt_out", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def add_patient(
    engine: Engine, clinic_id: uuid.UUID, phone: str, *, calls: bool, sms: bool, at: datetime = EARLIER
) -> uuid.UUID:
    patient_id = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            patients_0003.insert().values(
                id=patient_id,
                clinic_id=clinic_id,
                phone=phone,
                first_name="Pat",
                last_name=phone[-4:],
                call_opt_out=calls,
                sms_opt_out=sms,
                created_at=at,
                updated_at=at,
            )
        )
    return patient_id


def flags(engine: Engine) -> dict[uuid.UUID, tuple[bool, bool]]:
    """(call_opt_out, sms_opt_out) of every patient, once the downgrade has put them back."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(patients_0003.c.id, patients_0003.c.call_opt_out, patients_0003.c.sms_opt_out)
        )
        return {row.id: (row.call_opt_out, row.sms_opt_out) for row in rows}


def test_flagged_patients_numbers_move_to_the_list_and_back(empty_database_url: str) -> None:
    url = empty_database_url
    engine = make_engine(url)
    command.upgrade(alembic_config(url), BEFORE)
    east = Clinic(slug="east", name="East", timezone="America/New_York")
    west = Clinic(slug="west", name="West", timezone="America/Denver")
    add_rows(engine, east, west)
    parent = add_patient(engine, east.id, FAMILY, calls=True, sms=False, at=EARLIER)
    child = add_patient(engine, east.id, FAMILY, calls=False, sms=True, at=LATER)
    single = add_patient(engine, east.id, SINGLE, calls=False, sms=True)
    unflagged = add_patient(engine, east.id, UNFLAGGED, calls=False, sms=False)
    elsewhere = add_patient(engine, west.id, FAMILY, calls=True, sms=False)
    call = Call(
        clinic_id=east.id,
        call_sid="CA" + uuid.uuid4().hex,
        direction=CallDirection.inbound,
        from_number=FAMILY,
        to_number="+15550140000",
        patient_id=parent,
    )
    add_rows(engine, call)

    upgrade_database(url)

    with session_scope(engine) as session:
        entries = {(e.clinic_id, e.phone): e for e in session.exec(select(DoNotContact))}
        kept = session.get(Call, call.id)
    assert set(entries) == {(east.id, FAMILY), (east.id, SINGLE), (west.id, FAMILY)}
    family = entries[(east.id, FAMILY)]
    assert (family.calls_since, family.sms_since) == (EARLIER, LATER)  # when each flag's row last changed
    assert family.calls_source is family.sms_source is OptOutSource.patient_record
    assert (entries[(east.id, SINGLE)].blocks_calls, entries[(east.id, SINGLE)].blocks_sms) == (False, True)
    assert (entries[(west.id, FAMILY)].blocks_calls, entries[(west.id, FAMILY)].blocks_sms) == (True, False)
    with engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("patients")}
    assert not {"call_opt_out", "sms_opt_out"} & columns
    assert kept is not None and kept.patient_id == parent  # dropping the columns touched no other table

    command.downgrade(alembic_config(url), BEFORE)

    assert flags(engine) == {
        parent: (True, True),  # by number: the family's phone opted out of both
        child: (True, True),
        single: (False, True),
        unflagged: (False, False),
        elsewhere: (True, False),
    }
    upgrade_database(url)
