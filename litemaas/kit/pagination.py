"""Limit/offset pagination shared by list endpoints."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from litemaas.kit.bounds import Offset

T = TypeVar("T")


class PageParams(BaseModel):
    """Requested page: ``limit`` items starting at ``offset``."""

    limit: int = 50
    offset: int = 0


def _page_params(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[Offset, Query()] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Pagination = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    """One page of results with the total count of matches."""

    items: list[T]
    total: int
    limit: int
    offset: int
