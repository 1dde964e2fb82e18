"""Rows written into a database still at an earlier migration, for the migration tests.

The models describe the newest schema, so adding a row through a session would write columns a
later migration adds; `add_rows` writes only the columns the database has (through the models'
own column types), leaving the rest to the migration that adds them.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel


def add_rows(engine: Engine, *rows: SQLModel) -> None:
    """Insert `rows`, parents first, as they stand (their defaults filled when they were made)."""
    with engine.begin() as connection:
        inspector = sa.inspect(connection)
        for row in rows:
            table = SQLModel.metadata.tables[str(row.__tablename__)]
            present = {column["name"] for column in inspector.get_columns(table.name)}
            columns = [
                sa.column(column.name, column.type) for column in table.columns if column.name in present
            ]
            values = {column.name: getattr(row, column.name) for column in columns}
            connection.execute(sa.table(table.name, *columns).insert().values(values))
