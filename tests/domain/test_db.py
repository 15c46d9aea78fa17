"""Database errors never carry the statement's parameters (they can be secrets)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from compass.db import create_engine

SECRET = "hunter2-do-not-log"


async def test_errors_hide_the_statement_parameters(settings):
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with engine.begin() as connection:
            row = {"id": "t-1", "name": SECRET, "external_id": SECRET}
            insert = sa.text(
                "INSERT INTO tenants (id, external_id, name, created_at) "
                "VALUES (:id, :external_id, :name, CURRENT_TIMESTAMP)"
            )
            await connection.execute(insert, row)
            with pytest.raises(IntegrityError) as raised:
                await connection.execute(insert, row)
    finally:
        await engine.dispose()
    assert SECRET not in str(raised.value)
