"""Engines and sessions: SQLite settings, caching, ping, emptiness, URL handling."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frontdesk.domain.database import (
    DatabaseUnavailable,
    database_is_empty,
    make_engine,
    normalize_url,
    ping,
    session_scope,
)
from frontdesk.domain.models import Clinic


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'x.db'}"
    engine = make_engine(url)
    try:
        assert make_engine(url) is engine  # cached per URL
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert (tmp_path / "deep" / "er" / "x.db").exists()
        with (
            pytest.raises(ValueError, match="sqlite_begin"),
            engine.execution_options(sqlite_begin="LATER").begin(),
        ):
            pass
    finally:
        engine.dispose()


def test_url_handling() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        normalize_url("mysql://u@h/db")
    with pytest.raises(ValueError, match="not a database URL"):
        normalize_url("just words")


def test_ping_and_emptiness(engine: Engine) -> None:
    ping(engine)
    assert database_is_empty(engine)
    with session_scope(engine) as session:
        session.add(Clinic(slug="one", name="One", timezone="UTC"))
    assert not database_is_empty(engine)


def test_ping_reports_an_unreachable_database() -> None:
    engine = make_engine("postgresql+psycopg://nobody:hunter2@127.0.0.1:9/none?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable, match="unreachable") as caught:
        ping(engine)
    assert "hunter2" not in str(caught.value)


def test_database_without_schema_is_empty(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    assert database_is_empty(engine)
    engine.dispose()


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="boom"), session_scope(engine) as session:
        session.add(Clinic(slug="gone", name="Gone", timezone="UTC"))
        session.flush()
        raise RuntimeError("boom")
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Clinic)).scalar() == 0
