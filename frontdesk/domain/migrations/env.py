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
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A table rebuild (batch mode) drops the old table; with foreign keys on, that would delete
        # or unlink every row referring to it. SQLite's own recipe: keys off outside the
        # transaction, checked before it commits, back on after.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(**context_options(connection))
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Same idea on PostgreSQL: one upgrader at a time (the number is arbitrary but fixed).
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(7250431)"))
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        f"the migration left rows whose foreign keys point nowhere: {broken[:5]}"
                    )
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
