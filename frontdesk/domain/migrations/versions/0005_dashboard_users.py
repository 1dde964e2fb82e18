"""Dashboard users and their sessions; the audit log names its actor (a key or a user); calls
may come from the browser (direction 'web').

On SQLite the calls table is rebuilt to widen its direction CHECK (SQLite cannot alter one). env.py
runs SQLite migrations with foreign keys off, so dropping the old table deletes nothing that
refers to it (call turns, actions, messages); the rebuild lists its constraints in full because
SQLite does not reflect CHECK constraints.

Revision ID: 0005_dashboard_users
Revises: 0004_do_not_contact
Create Date: 2026-12-07 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_dashboard_users"
down_revision: str | None = "0004_do_not_contact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "'queued', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'"


def _calls(directions: str) -> sa.Table:
    """The calls table as 0001 made it, with `directions` allowed."""
    return sa.Table(
        "calls",
        sa.MetaData(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=32), nullable=False),
        sa.Column("from_number", sa.String(length=32), nullable=False),
        sa.Column("to_number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(f"direction IN ({directions})", name="ck_calls_direction_valid"),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_calls_status_valid"),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name="fk_calls_clinic_id_clinics", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_calls_patient_id_patients", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calls"),
        sa.Index("ix_calls_call_sid", "call_sid", unique=True),
        sa.Index("ix_calls_clinic_id", "clinic_id"),
        sa.Index("ix_calls_started_at", "started_at"),
    )


def _set_call_directions(directions: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("calls", recreate="always", copy_from=_calls(directions)):
            pass
    else:
        op.drop_constraint(op.f("ck_calls_direction_valid"), "calls", type_="check")
        op.create_check_constraint(op.f("ck_calls_direction_valid"), "calls", f"direction IN ({directions})")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'staff', 'operator')", name=op.f("ck_users_role_valid")),
        sa.CheckConstraint(
            "(role = 'operator' AND clinic_id IS NULL) OR (role != 'operator' AND clinic_id IS NOT NULL)",
            name=op.f("ck_users_role_matches_clinic"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_users_clinic_id_clinics"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_clinic_id"), "users", ["clinic_id"], unique=False)
    op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True)
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_token_hash"), "user_sessions", ["token_hash"], unique=True)
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)

    # Every entry so far was made with an API key.
    op.execute("ALTER TABLE audit_log RENAME COLUMN api_key_id TO actor_id")
    op.execute("ALTER TABLE audit_log RENAME COLUMN api_key_name TO actor_name")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(
            sa.Column("actor_kind", sa.String(length=32), nullable=False, server_default="api_key")
        )
        batch.alter_column("actor_name", type_=sa.String(length=254), existing_nullable=False)
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("actor_kind", server_default=None, existing_nullable=False)
        batch.create_check_constraint(
            op.f("ck_audit_log_actor_kind_valid"), "actor_kind IN ('api_key', 'user')"
        )

    _set_call_directions("'inbound', 'outbound', 'web'")


def downgrade() -> None:
    op.execute("DELETE FROM calls WHERE direction = 'web'")
    _set_call_directions("'inbound', 'outbound'")
    op.execute("DELETE FROM audit_log WHERE actor_kind != 'api_key'")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(op.f("ck_audit_log_actor_kind_valid"), type_="check")
        batch.drop_column("actor_kind")
        batch.alter_column("actor_name", type_=sa.String(length=200), existing_nullable=False)
    op.execute("ALTER TABLE audit_log RENAME COLUMN actor_id TO api_key_id")
    op.execute("ALTER TABLE audit_log RENAME COLUMN actor_name TO api_key_name")
    op.drop_table("user_sessions")
    op.drop_table("users")
