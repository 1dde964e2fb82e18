"""Alembic migrations of the Frontdesk schema (run through `frontdesk.domain.database`)."""

from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import frontdesk.domain.models  # noqa: F401  (registers the tables on SQLModel.metadata)


def context_options(connection: Connection) -> dict[str, Any]:
    """The options every migration context uses (env.py and the models-match-migrations test)."""
    return {
        "connection": connection,
        "target_metadata": SQLModel.metadata,
        "compare_type": True,
        "compare_server_default": False,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        "render_as_batch": connection.dialect.name == "sqlite",
    }
