"""Engines, sessions and schema upgrades for SQLite and PostgreSQL.

SQLite connections run in WAL mode with foreign keys on, and leave transaction control to
SQLAlchemy, so a transaction can start as `BEGIN IMMEDIATE` (a serialized writer) when asked:
`engine.execution_options(sqlite_begin="IMMEDIATE")`. PostgreSQL goes through psycopg 3.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlmodel import Session

from frontdesk.logs import get_logger

log = get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
SQLITE_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or answered with an error."""


def normalize_url(url: str) -> URL:
    """Parse a database URL; PostgreSQL always goes through psycopg 3 (the driver we ship)."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ValueError(f"not a database URL: {exc}") from None
    if parsed.drivername in ("postgres", "postgresql") or parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    return parsed


def create_database_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """A new engine for `url` (uncached: prefer `make_engine` unless you need your own pool)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return sa.create_engine(
        parsed, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800
    )


@lru_cache(maxsize=16)
def make_engine(url: str) -> Engine:
    """The process-wide engine for `url`, created once per URL."""
    return create_database_engine(url)


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite would otherwise issue its own BEGIN (deferred) behind SQLAlchemy's back.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = str(connection.get_execution_options().get("sqlite_begin", "DEFERRED")).upper()
        if mode not in SQLITE_BEGIN_MODES:
            raise ValueError(f"sqlite_begin must be one of {sorted(SQLITE_BEGIN_MODES)}, got {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back on an error.

    Objects stay readable after the commit (expire_on_commit=False), so callers can return them.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def write_scope(engine: Engine) -> AbstractContextManager[Session]:
    """A `session_scope` for check-then-write transactions.

    On SQLite the transaction starts with BEGIN IMMEDIATE, taking the write lock up front, so
    writers run one at a time and each sees what the previous one wrote. PostgreSQL ignores
    the option; there the constraints decide.
    """
    return session_scope(engine.execution_options(sqlite_begin="IMMEDIATE"))


def alembic_config(url: str) -> Config:
    """An Alembic configuration built in code, pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an ini option: configparser would mangle a '%' in a password.
    config.attributes["database_url"] = url
    return config


def upgrade_database(url: str) -> None:
    """Bring the schema at `url` to the newest migration (a no-op when it is already there)."""
    command.upgrade(alembic_config(url), "head")
    log.info("database upgraded", backend=normalize_url(url).get_backend_name())


def ping(engine: Engine) -> None:
    """Run a trivial query; raise DatabaseUnavailable with the reason when that fails."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"database {engine.url.render_as_string(hide_password=True)} is unreachable: {reason}"
        ) from exc


def database_is_empty(engine: Engine) -> bool:
    """True when there is no clinic yet (including when the schema has not been created)."""
    from frontdesk.domain.models import Clinic  # models import this module's siblings; keep it lazy

    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(Clinic.__tablename__):
            return True
        return connection.execute(sa.select(sa.literal(1)).select_from(Clinic).limit(1)).first() is None
