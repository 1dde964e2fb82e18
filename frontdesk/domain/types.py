"""Column types shared by the tables: aware UTC datetimes, string enums, settings JSON.

Both keep the Python side strict (an aware datetime, an enum member) while the database side
stays portable between SQLite and PostgreSQL.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A datetime stored as UTC that always comes back timezone-aware in UTC.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so the value is stored as naive
    UTC and the zone is re-attached on the way out. Naive datetimes are refused on the way in:
    guessing their zone is how appointments end up an hour off.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC before it is written."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"datetime {value.isoformat()} has no time zone; pass an aware datetime")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach (SQLite) or normalize (PostgreSQL) the UTC zone of a value read back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(sa.TypeDecorator[StrEnum]):
    """A `StrEnum` stored as its string value in a VARCHAR column.

    The allowed values are also enforced by a CHECK constraint (see `enum_check`), so a row
    written by hand cannot hold a status the code does not know.
    """

    impl = sa.String(32)
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enum_class = enum_class

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> str | None:
        """Validate a member or its value and store the value."""
        if value is None:
            return None
        try:
            return self.enum_class(value).value
        except ValueError:
            allowed = ", ".join(m.value for m in self.enum_class)
            name = self.enum_class.__name__
            raise ValueError(f"{value!r} is not a valid {name} (one of: {allowed})") from None

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        """Turn the stored value back into the enum member."""
        return None if value is None else self.enum_class(value)

    def __repr__(self) -> str:
        # Alembic renders column types with repr(); keep it importable and stable.
        return f"StrEnumType({self.enum_class.__name__})"


class SettingsJSON(sa.TypeDecorator[dict[str, Any]]):
    """JSON validated by a pydantic model on the way in; a plain dict on the way out.

    The attribute accepts the model or a dict; whatever is written has passed the model's
    validation, so a setting read back is always well-formed.
    """

    impl = sa.JSON()
    cache_ok = True

    def __init__(self, model: type[BaseModel], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = model

    def process_bind_param(self, value: BaseModel | dict[str, Any] | None, dialect: Dialect) -> Any:
        """Validate through the model and store its JSON form."""
        if value is None:
            return None
        return self.model.model_validate(value).model_dump(mode="json")

    def __repr__(self) -> str:
        return f"SettingsJSON({self.model.__name__})"


def enum_check(column: str, enum_class: type[StrEnum]) -> sa.CheckConstraint:
    """A CHECK constraint that limits `column` to the values of `enum_class`."""
    values = ", ".join(f"'{m.value}'" for m in enum_class)
    return sa.CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")
