"""The caches of verified JWTs and of resolved tenants: what they keep, for
how long, and what they never keep."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event

from compass.auth.tokens import VERIFIED_CACHE_SECONDS, TokenVerifier, mint_user_token
from compass.config import Settings
from compass.db import create_engine, create_session_factory
from compass.domain.tenant.cache import TenantCache
from compass.domain.tenant.service import TenantService
from compass.errors import TenantNotFound, Unauthorized


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token pyjwt verifies (decodes with a key)."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args, **kwargs):
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def _token(key: Ed25519PrivateKey, lifetime: timedelta) -> str:
    return mint_user_token(
        key, subject="alice", tenant="t1", scopes=["application:read"], lifetime=lifetime
    )


async def test_a_token_is_verified_once_then_remembered(tmp_path, decodes):
    key = Ed25519PrivateKey.generate()
    verifier = TokenVerifier(Settings(data_dir=tmp_path), key)
    token = _token(key, timedelta(hours=1))
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first.claims == second.claims and first.claims["sub"] == "alice"
    assert decodes == [token]


async def test_a_remembered_token_is_verified_again_after_a_minute(tmp_path, decodes):
    key = Ed25519PrivateKey.generate()
    clock = FakeClock(0.0)
    verifier = TokenVerifier(Settings(data_dir=tmp_path), key, timer=clock)
    token = _token(key, timedelta(hours=1))
    clock.now = 1_000.0
    await verifier.verify(token)
    clock.now += VERIFIED_CACHE_SECONDS - 1
    await verifier.verify(token)
    assert len(decodes) == 1
    clock.now += 2
    await verifier.verify(token)
    assert len(decodes) == 2


async def test_a_token_is_never_remembered_past_its_expiry(tmp_path, decodes):
    key = Ed25519PrivateKey.generate()
    token = _token(key, timedelta(seconds=30))
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    decodes.clear()
    clock = FakeClock(expires - 5.0)
    verifier = TokenVerifier(Settings(data_dir=tmp_path), key, timer=clock)
    await verifier.verify(token)
    clock.now = float(expires)  # expired by the cache's clock: verified again
    await verifier.verify(token)
    assert len(decodes) == 2


async def test_refused_tokens_are_checked_every_time(tmp_path, decodes):
    key = Ed25519PrivateKey.generate()
    verifier = TokenVerifier(Settings(data_dir=tmp_path), key)
    forged = _token(Ed25519PrivateKey.generate(), timedelta(hours=1))
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await verifier.verify(forged)
    assert decodes == [forged, forged]


async def test_the_cache_is_bounded(tmp_path):
    key = Ed25519PrivateKey.generate()
    verifier = TokenVerifier(Settings(data_dir=tmp_path), key)
    for _ in range(verifier._verified.maxsize + 10):
        await verifier.verify(_token(key, timedelta(hours=1)))
    assert len(verifier._verified) == verifier._verified.maxsize


@pytest.fixture
async def sessions(settings):
    engine = create_engine(settings.sqlalchemy_url())
    statements: list[str] = []
    event.listen(
        engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    try:
        yield create_session_factory(engine), statements
    finally:
        await engine.dispose()


async def test_a_found_tenant_is_resolved_without_sql_afterwards(sessions):
    factory, statements = sessions
    async with factory() as session:
        created = await TenantService(session).create("acme", "acme-external")
        await session.commit()
    cache = TenantCache()
    async with factory() as session:
        by_external = await cache.resolve("acme-external", session)
        by_internal = await cache.resolve(created.id, session)
    statements.clear()
    async with factory() as session:
        assert await cache.resolve("acme-external", session) == by_external
        assert await cache.resolve(created.id, session) == by_internal
    assert statements == []
    assert by_external.id == by_internal.id == created.id
    assert by_external.external_id == "acme-external"


async def test_a_missing_tenant_is_not_remembered(sessions):
    factory, _ = sessions
    cache = TenantCache()
    async with factory() as session:
        with pytest.raises(TenantNotFound):
            await cache.resolve("later", session)
        created = await TenantService(session).create("later", "later")
        await session.commit()
        assert (await cache.resolve("later", session)).id == created.id
