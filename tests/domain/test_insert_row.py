"""`insert_row` writes a row as the unit of work would: every column, under
its own name where the attribute is named apart, after the rows it refers to."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from compass.db import create_engine, create_session_factory
from compass.domain.columns import insert_row
from compass.domain.label.model import LabelDefinitionRow
from compass.domain.tenant.model import TenantRow


async def test_a_row_is_written_whole_after_the_pending_rows_it_refers_to(settings):
    engine = create_engine(settings.sqlalchemy_url())
    sessions = create_session_factory(engine)
    tenant = TenantRow(external_id=f"insert-row-{uuid.uuid4()}", name="insert row")
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    definition = LabelDefinitionRow(tenant_id=tenant.id, key="k", schema_=schema)
    try:
        async with sessions() as session:
            session.add(tenant)  # not flushed: the definition refers to it
            await insert_row(session, definition)
            await session.commit()
        async with sessions() as session:
            found = await session.scalar(
                sa.select(LabelDefinitionRow).where(LabelDefinitionRow.id == definition.id)
            )
            stored = await session.scalar(
                sa.text("SELECT schema FROM label_definitions WHERE id = :id"),
                {"id": definition.id},
            )
    finally:
        await engine.dispose()
    assert found is not None
    assert (found.tenant_id, found.key, found.schema_) == (tenant.id, "k", schema)
    assert stored is not None and '"integer"' in stored
