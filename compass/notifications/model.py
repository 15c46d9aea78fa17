from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from compass.db import JSONText, UTCDateTime
from compass.domain.columns import id_field, text_field, timestamp_field


class OutboxRow(SQLModel, table=True):
    """A side effect to run after the transaction that wrote it commits.

    Workers claim a row by moving `available_at` forward in one conditional
    UPDATE, so several replicas never run the same row at once; a row whose
    worker died becomes available again when that lease ends."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_available", "available_at"),)

    id: str = id_field()
    kind: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payload: Any = Field(sa_column=sa.Column(JSONText(), nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    available_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_error: str | None = text_field()
    created_at: datetime = timestamp_field()
