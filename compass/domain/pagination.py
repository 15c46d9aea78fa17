"""Keyset pagination over (created_at, id): stable under inserts, no OFFSET."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.errors import InvalidData

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Page",
    "PageRequest",
    "after_cursor",
    "page_of_rows",
    "paginate",
]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 200
T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """A cursor this module encoded; anything else (a timestamp without a
        zone included, which cannot be compared) is InvalidData."""
        if not isinstance(text, str):
            raise InvalidData("a cursor must be a string")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            stamp, object_id = raw.split("|", 1)
            created_at = datetime.fromisoformat(stamp)
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise InvalidData(f"cursor {text!r} is not valid") from error
        if created_at.tzinfo is None or not object_id:
            raise InvalidData(f"cursor {text!r} is not valid")
        return cls(created_at, object_id)


@dataclass(frozen=True)
class PageRequest:
    first: int = DEFAULT_PAGE_SIZE
    after: Cursor | None = None
    # Counting every match costs a scan of them all: done only when asked for.
    with_total: bool = True

    @classmethod
    def of(cls, first: int | None, after: str | None, with_total: bool = True) -> PageRequest:
        size = DEFAULT_PAGE_SIZE if first is None else first
        if size < 0 or size > MAX_PAGE_SIZE:
            raise InvalidData(f"first must be between 0 and {MAX_PAGE_SIZE}, got {size}")
        return cls(size, Cursor.decode(after) if after else None, with_total)


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int  # 0 when the request did not ask for it
    start_cursor: str
    end_cursor: str
    has_next: bool


def after_cursor(entity: Any, after: Cursor) -> sa.ColumnElement[bool]:
    """`(created_at, id) > (?, ?)`: a row-value comparison, which SQLite (3.15+)
    and PostgreSQL both serve as one range of the `(..., created_at, id)` index,
    where the equivalent OR of two conditions makes SQLite scan from the start."""
    created_at, object_id = entity.created_at, entity.id
    return sa.tuple_(created_at, object_id) > sa.tuple_(
        sa.literal(after.created_at, created_at.type), sa.literal(after.id, object_id.type)
    )


async def paginate(
    session: AsyncSession,
    statement: sa.Select[Any],
    entity: Any,
    request: PageRequest,
    *,
    plain_rows: bool = False,
) -> Page[Any]:
    """`statement` selects `entity` rows already filtered; this adds order and keyset.
    `plain_rows`: the items are read-only tuples of the table's columns (named as
    the model's fields), far cheaper to load than model objects."""
    total = 0
    if request.with_total:
        counted = sa.select(sa.func.count()).select_from(statement.subquery())
        total = int(await session.scalar(counted) or 0)
    if request.after is not None:
        statement = statement.where(after_cursor(entity, request.after))
    statement = statement.order_by(entity.created_at, entity.id).limit(request.first + 1)
    if plain_rows:
        statement = statement.with_only_columns(*entity.__table__.columns)
        rows = list((await session.execute(statement)).all())
    else:
        rows = list((await session.scalars(statement)).all())
    has_next = len(rows) > request.first
    rows = rows[: request.first]
    start = Cursor(rows[0].created_at, rows[0].id).encode() if rows else ""
    end = Cursor(rows[-1].created_at, rows[-1].id).encode() if rows else ""
    return Page(rows, total, start, end, has_next)


def page_of_rows(rows: list[Any], request: PageRequest) -> Page[Any]:
    """Keyset pagination over rows already loaded in (created_at, id) order, for
    nested lists that a dataloader fetched for many parents at once."""
    total = len(rows)
    if request.after is not None:
        after = (request.after.created_at, request.after.id)
        rows = [row for row in rows if (row.created_at, row.id) > after]
    items = rows[: request.first]
    start = Cursor(items[0].created_at, items[0].id).encode() if items else ""
    end = Cursor(items[-1].created_at, items[-1].id).encode() if items else ""
    return Page(items, total, start, end, len(rows) > request.first)
