"""Alembic environment: runs migrations online against the engine for the configured URL."""

import sqlalchemy as sa
from alembic import context

from frontdesk.domain.database import make_engine
from frontdesk.domain.migrations import context_options

url = context.config.attributes.get("database_url")
if not url:
    raise RuntimeError("run migrations through frontdesk.domain.database.upgrade_database(url)")

engine = make_engine(url)
# SQLite: take the write lock up front so two processes upgrading at once run one after the other.
with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
    context.configure(**context_options(connection))
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Same idea on PostgreSQL: one upgrader at a time (the number is arbitrary but fixed).
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(7250431)"))
        context.run_migrations()
