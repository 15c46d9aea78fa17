"""Re-sealing every stored secret with the first key of the secret box: the
last step of a key rotation, after which older keys can be dropped. Values
written before credentials were sealed (plain JSON) are sealed on the way."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from compass.pki.secret_box import SecretBox

__all__ = ["SEALED_COLUMNS", "reseal_secrets"]

# (table, column, whether older rows may hold plain JSON)
SEALED_COLUMNS = (
    ("webhooks", "auth", True),
    ("webhooks", "signing_secret", False),
    ("fetch_requests", "auth", True),
    ("bundles", "default_instance_auth", True),
    ("bundle_instance_auths", "auth", False),
)


def _resealed(box: SecretBox, stored: str, may_be_plain: bool) -> str:
    if may_be_plain:
        try:
            return box.seal(json.loads(stored))
        except ValueError:
            pass  # not JSON: a sealed value
    return box.reseal(stored)


async def reseal_secrets(engine: AsyncEngine, box: SecretBox) -> int:
    """How many values were re-sealed, in one transaction: all or none."""
    count = 0
    async with engine.begin() as connection:
        for table, column, may_be_plain in SEALED_COLUMNS:
            rows = await connection.execute(
                sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")
            )
            for row_id, stored in rows.all():
                await connection.execute(
                    sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),
                    {"value": _resealed(box, stored, may_be_plain), "id": row_id},
                )
                count += 1
    return count
