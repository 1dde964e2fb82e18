"""Pagination of every admin API list: `limit` and `offset` in, a page with its total out."""

from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

MAX_LIMIT = 200
T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    """Which slice of a list to return."""

    limit: int
    offset: int


def page_params(
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description="items per page"),
    offset: int = Query(0, ge=0, le=1_000_000, description="items to skip"),
) -> PageParams:
    """FastAPI dependency: the page a list request asks for."""
    return PageParams(limit, offset)


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, how many there are in all, and where the next page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> "Page[T]":
        """A page of `items` (already sliced) out of `total`."""
        following = params.offset + len(items)
        return cls(
            items=items,
            total=total,
            limit=params.limit,
            offset=params.offset,
            next_offset=following if following < total else None,
        )
