"""The do-not-contact list by phone number replaces the patients' opt-out flags.

Every number of a patient with `call_opt_out` or `sms_opt_out` set goes on its clinic's list
(source patient_record, since the latest change of those patients' rows: the moment of the
opt-out itself was never kept), then the two columns are dropped. The downgrade sets the flags
back on every patient whose number is on the list.

The columns are dropped with ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later) rather than
SQLite's batch copy: the copy drops the old table, and with foreign keys on that deletes every
appointment, campaign target and call link of the patients with it (ON DELETE CASCADE / SET NULL).

Revision ID: 0004_do_not_contact
Revises: 0003_audit_log
Create Date: 2026-12-06 06:00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004_do_not_contact"
down_revision: str | None = "0003_audit_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SOURCES = "'sms_stop', 'call', 'api', 'patient_record'"
_FLAGS = {"calls": "call_opt_out", "sms": "sms_opt_out"}  # the list's channel -> the patient's flag

_patients = sa.table(
    "patients",
    sa.column("clinic_id", sa.Uuid()),
    sa.column("phone", sa.String()),
    sa.column("call_opt_out", sa.Boolean()),
    sa.column("sms_opt_out", sa.Boolean()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_do_not_contact = sa.table(
    "do_not_contact",
    sa.column("id", sa.Uuid()),
    sa.column("clinic_id", sa.Uuid()),
    sa.column("phone", sa.String()),
    sa.column("calls_since", sa.DateTime(timezone=True)),
    sa.column("calls_source", sa.String()),
    sa.column("sms_since", sa.DateTime(timezone=True)),
    sa.column("sms_source", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "do_not_contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("calls_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calls_source", sa.String(length=32), nullable=True),
        sa.Column("sms_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sms_source", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"calls_source IN ({_SOURCES})", name=op.f("ck_do_not_contact_calls_source_valid")
        ),
        sa.CheckConstraint(f"sms_source IN ({_SOURCES})", name=op.f("ck_do_not_contact_sms_source_valid")),
        sa.CheckConstraint(
            "(calls_since IS NULL) = (calls_source IS NULL)",
            name=op.f("ck_do_not_contact_calls_since_and_source"),
        ),
        sa.CheckConstraint(
            "(sms_since IS NULL) = (sms_source IS NULL)", name=op.f("ck_do_not_contact_sms_since_and_source")
        ),
        sa.CheckConstraint(
            "calls_since IS NOT NULL OR sms_since IS NOT NULL",
            name=op.f("ck_do_not_contact_blocks_a_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_do_not_contact_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_do_not_contact")),
        sa.UniqueConstraint("clinic_id", "phone", name=op.f("uq_do_not_contact_clinic_id_phone")),
    )
    op.create_index(op.f("ix_do_not_contact_clinic_id"), "do_not_contact", ["clinic_id"], unique=False)
    _move_flags_to_the_list()
    op.drop_column("patients", "call_opt_out")
    op.drop_column("patients", "sms_opt_out")


def _move_flags_to_the_list() -> None:
    """One list entry per (clinic, number) of the flagged patients; a channel is blocked when any
    patient with the number had opted out of it (the list is by number, as the flags' writer was)."""
    bind = op.get_bind()
    flagged = bind.execute(
        sa.select(_patients).where(sa.or_(_patients.c.call_opt_out, _patients.c.sms_opt_out))
    )
    entries: dict[tuple[uuid.UUID, str], dict[str, datetime | str | None]] = {}
    for patient in flagged:
        entry = entries.setdefault(
            (patient.clinic_id, patient.phone),
            {"calls_since": None, "calls_source": None, "sms_since": None, "sms_source": None},
        )
        for channel, flag in _FLAGS.items():
            since = entry[f"{channel}_since"]
            if getattr(patient, flag) and (since is None or patient.updated_at > since):
                entry[f"{channel}_since"] = patient.updated_at
                entry[f"{channel}_source"] = "patient_record"
    now = datetime.now(UTC)  # SQLite keeps the UTC wall clock, as the models' UTCDateTime does
    rows = [
        {"id": uuid.uuid4(), "clinic_id": clinic, "phone": phone, "created_at": now, "updated_at": now}
        | entry
        for (clinic, phone), entry in entries.items()
    ]
    if rows:
        bind.execute(_do_not_contact.insert(), rows)


def downgrade() -> None:
    for flag in ("sms_opt_out", "call_opt_out"):
        op.add_column("patients", sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false()))
    entries = _do_not_contact.c
    for channel, flag in _FLAGS.items():
        on_the_list = (
            sa.select(entries.id)
            .where(entries.clinic_id == _patients.c.clinic_id, entries.phone == _patients.c.phone)
            .where(entries[f"{channel}_since"].is_not(None))
        )
        op.execute(_patients.update().where(on_the_list.exists()).values({flag: True}))
    op.drop_table("do_not_contact")
