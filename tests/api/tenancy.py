"""Creates tenants directly in the test database, as an operator would."""

from __future__ import annotations

from compass.config import Settings
from compass.db import create_engine, create_session_factory
from compass.domain.tenant.model import TenantRow
from compass.domain.tenant.service import TenantService


async def create_tenant(settings: Settings, name: str, external_id: str | None = None) -> TenantRow:
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with create_session_factory(engine)() as session:
            row = await TenantService(session).create(name, external_id)
            await session.commit()
            return row
    finally:
        await engine.dispose()
