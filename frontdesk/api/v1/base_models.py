"""Base classes of the admin API's request and response models."""

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class ApiModel(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class PatchModel(ApiModel):
    """A partial update: only the fields sent change, and a field sent as null is refused."""

    @model_validator(mode="after")
    def _no_nulls(self) -> "PatchModel":
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls and not all(name in self.nullable_fields() for name in nulls):
            raise ValueError(f"{', '.join(nulls)} cannot be null: leave a field out to keep it")
        return self

    @classmethod
    def nullable_fields(cls) -> frozenset[str]:
        """Fields that may be cleared with null."""
        return frozenset()

    def changes(self) -> dict[str, Any]:
        """The fields sent, as the values to set."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class Output(BaseModel):
    """A response model read from a table row's attributes."""

    model_config = ConfigDict(from_attributes=True)
