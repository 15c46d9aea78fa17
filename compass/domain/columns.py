"""Column helpers so every table spells ids, tenants and timestamps the same way."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from compass.db import JSONText, UTCDateTime, utcnow

ID_LENGTH = 36


class TableModel(SQLModel):
    """The base of every table. Rows are built from the database or from
    checked inputs, not validated by pydantic, so each table's validator is
    built when first asked for rather than for every table at import."""

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]


@cache
def _columns_of(table_model: type[TableModel]) -> tuple[tuple[str, str], ...]:
    """(attribute, column key) of every mapped column: a few are named apart."""
    mapper = sa.inspect(table_model)
    return tuple((attr.key, attr.columns[0].key) for attr in mapper.column_attrs)


async def insert_row(session: AsyncSession, row: TableModel) -> None:
    """One INSERT of `row` as it is, outside the unit of work: for rows written
    once on a hot path (tokens, certificates) and not changed in the same
    transaction, where a flush costs more than the statement. A statement on
    the table is not preceded by the autoflush: pending rows it may refer to
    are flushed first."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    table_model = type(row)
    values = {column: getattr(row, attribute) for attribute, column in _columns_of(table_model)}
    await session.execute(sa.insert(table_model.__table__), values)  # type: ignore[attr-defined]


def new_id() -> str:
    return str(uuid.uuid4())


def id_field() -> Any:
    return Field(
        default_factory=new_id, sa_column=sa.Column(sa.String(ID_LENGTH), primary_key=True)
    )


def tenant_field() -> Any:
    return Field(
        sa_column=sa.Column(
            sa.String(ID_LENGTH),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        )
    )


def parent_field(table: str, nullable: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=sa.Column(
            sa.String(ID_LENGTH),
            sa.ForeignKey(f"{table}.id", ondelete="CASCADE"),
            nullable=nullable,
        ),
    )


def timestamp_field() -> Any:
    return Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


def text_field(length: int | None = None, nullable: bool = True) -> Any:
    column_type = sa.String(length) if length else sa.Text()
    return Field(default=None, sa_column=sa.Column(column_type, nullable=nullable))


def json_field(nullable: bool = True, name: str | None = None) -> Any:
    column = (
        sa.Column(name, JSONText(), nullable=nullable)
        if name
        else sa.Column(JSONText(), nullable=nullable)
    )
    return Field(default=None, sa_column=column)
