"""Database fixtures shared by every test folder.

- `database_url`: a migrated database, parametrized over "sqlite" (a temp file) and "postgres"
  (a database `frontdesk_test_<random>` created on 127.0.0.1:5432 once per test session and
  dropped at its end; those params carry the `postgres` mark). Each test starts from a clean
  slate: every table is emptied before it runs (the schema and migrations are kept).
  When PostgreSQL is unreachable its params are skipped, unless the environment variable CI is
  "true", where that is a failure. FRONTDESK_TEST_POSTGRES_URL overrides the server's admin URL.
- `engine`: `make_engine(database_url)`, the cached process-wide engine for that database.
- `session`: a `Session` on `engine` (expire_on_commit=False), closed after the test.
- `demo_clinic`: the demo clinic (`frontdesk.domain.seed.seed_demo`, relative to today) in that
  database; returns the `Clinic` row.

A test that only wants SQLite can use `@pytest.mark.parametrize("database_url", ["sqlite"],
indirect=True)`.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from frontdesk.domain.database import make_engine, normalize_url, upgrade_database
from frontdesk.domain.models import Clinic
from frontdesk.domain.seed import seed_demo

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    """The URL of a database on the test PostgreSQL server that we may CREATE DATABASE from."""
    return os.environ.get("FRONTDESK_TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL)


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI but unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


def create_postgres_database(prefix: str = "frontdesk_test") -> str:
    """Create an empty database with a random name on the test server; return its URL.

    Skips the test (fails in CI) when the server is unreachable.
    """
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        _postgres_unavailable(str(exc.orig).strip().splitlines()[0])
    finally:
        admin.dispose()
    return normalize_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    """Drop a database made by `create_postgres_database`, closing our pooled connections first."""
    make_engine(url).dispose()
    name = normalize_url(url).database
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('db')) / 'frontdesk.db'}"
    upgrade_database(url)
    return url


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    url = create_postgres_database()
    try:
        upgrade_database(url)
        yield url
    finally:
        drop_postgres_database(url)


def empty_all_tables(engine: Engine) -> None:
    """Delete every row of every table of the model (not alembic_version)."""
    tables = SQLModel.metadata.sorted_tables
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(sa.text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(tables):  # children before parents
                connection.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database of each kind (see the module docstring)."""
    url: str = request.getfixturevalue(f"_{request.param}_database")
    empty_all_tables(make_engine(url))
    return url


@pytest.fixture
def engine(database_url: str) -> Engine:
    """The process-wide engine of `database_url`."""
    return make_engine(database_url)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on `engine`; commit yourself if the test needs the rows visible elsewhere."""
    with Session(engine, expire_on_commit=False) as db_session:
        yield db_session


@pytest.fixture
def demo_clinic(engine: Engine) -> Clinic:
    """The seeded demo clinic (Maple Dental, slug `demo`), its schedule relative to today."""
    return seed_demo(engine)
