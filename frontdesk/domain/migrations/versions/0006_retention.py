"""Retention: how many days each clinic keeps transcripts and message bodies (365 for every
clinic so far); when a call's transcript was removed; audit entries by Frontdesk itself (actor
kind 'system') with their counts.

On SQLite the clinics and audit_log tables are rebuilt (batch mode) to add and change their CHECK
constraints; SQLAlchemy reflects the CHECK constraints SQLite already has, so they are kept.

Revision ID: 0006_retention
Revises: 0005_dashboard_users
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_retention"
down_revision: str | None = "0005_dashboard_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set_actor_kinds(kinds: str) -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(op.f("ck_audit_log_actor_kind_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_audit_log_actor_kind_valid"), f"actor_kind IN ({kinds})")


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=False, server_default="365"))
        batch.create_check_constraint(
            op.f("ck_clinics_retention_days_range"), "retention_days >= 30 AND retention_days <= 3650"
        )
    op.add_column("calls", sa.Column("transcript_removed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("audit_log", sa.Column("detail", sa.JSON(), nullable=True))
    _set_actor_kinds("'api_key', 'user', 'system'")


def downgrade() -> None:
    op.execute("DELETE FROM audit_log WHERE actor_kind = 'system'")
    _set_actor_kinds("'api_key', 'user'")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("detail")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("transcript_removed_at")
    with op.batch_alter_table("clinics") as batch:
        batch.drop_constraint(op.f("ck_clinics_retention_days_range"), type_="check")
        batch.drop_column("retention_days")
