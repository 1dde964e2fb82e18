"""Migrations: empty -> head on both databases, and the models match what they create."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from frontdesk.domain.database import alembic_config, make_engine, upgrade_database
from frontdesk.domain.migrations import context_options
from tests.conftest import create_postgres_database, drop_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database with no tables at all."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nested' / 'empty.db'}"  # the folder does not exist yet
        yield url
        make_engine(url).dispose()
    else:
        url = create_postgres_database("frontdesk_migrate")
        yield url
        drop_postgres_database(url)


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_empty_to_head_and_back(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    upgrade_database(empty_database_url)
    upgrade_database(empty_database_url)  # a second run is a no-op
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == _head()
        tables = set(sa.inspect(connection).get_table_names())
    assert tables == {table.name for table in SQLModel.metadata.sorted_tables} | {"alembic_version"}

    command.downgrade(alembic_config(empty_database_url), "base")
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) == {"alembic_version"}
    upgrade_database(empty_database_url)


def test_models_match_migrations(database_url: str) -> None:
    with make_engine(database_url).connect() as connection:
        options = {key: value for key, value in context_options(connection).items() if key != "connection"}
        context = MigrationContext.configure(connection, opts=options)
        assert compare_metadata(context, SQLModel.metadata) == []


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_has_the_exclusion_constraint(database_url: str) -> None:
    # Autogenerate cannot see exclusion constraints, so check the catalogue directly.
    with make_engine(database_url).connect() as connection:
        definition = connection.execute(
            sa.text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'ex_appointments_no_overlap' AND contype = 'x'"
            )
        ).scalar_one()
    assert "EXCLUDE USING gist (provider_id WITH =, tstzrange(start_at, end_at) WITH &&)" in definition
    assert "'booked'" in definition and "'confirmed'" in definition
