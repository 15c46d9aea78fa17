"""Third parties' credentials (webhook auth, fetch-request auth, a bundle's
default instance auth) are sealed in their columns, read back for callers with
the credential scopes, still read when written before sealing, and keep
reading across a key rotation."""

from __future__ import annotations

import json

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

from compass.app import create_app
from compass.db import create_engine
from compass.pki.reseal import reseal_secrets
from compass.pki.secret_box import SecretBox, SecretBoxError, load_or_create_secret_box
from tests.api.trust import register_application
from tests.conftest import Api

PASSWORD = "Sup3r-secret-pa55word"
BASIC = {"credential": {"basic": {"username": "svc-user", "password": PASSWORD}}}
ADD_WEBHOOK = """mutation($app: ID!, $auth: AuthInput) { addWebhook(applicationID: $app,
    in: {type: CONFIGURATION_CHANGED, url: "https://shop.example/hook", auth: $auth}) { id } }"""
ADD_BUNDLE = """mutation($app: ID!, $in: BundleCreateInput!) {
    addBundle(applicationID: $app, in: $in) { id } }"""
PASSWORDS = "... on BasicCredentialData { password }"
READ = f"""query($app: ID!) {{ application(id: $app) {{
    webhooks {{ auth {{ credential {{ {PASSWORDS} }} }} }}
    bundles {{ data {{
        defaultInstanceAuth {{ credential {{ {PASSWORDS} }} }}
        documents {{ data {{ fetchRequest {{ auth {{ credential {{ {PASSWORDS} }} }} }} }} }}
    }} }}
}} }}"""
COLUMNS = [
    ("webhooks", "auth"),
    ("fetch_requests", "auth"),
    ("bundles", "default_instance_auth"),
]


async def _with_credentials(api: Api) -> str:
    app_id = await register_application(api, "shop")
    await api.data(ADD_WEBHOOK, {"app": app_id, "auth": BASIC})
    bundle = {
        "name": "orders",
        "defaultInstanceAuth": BASIC,
        "documents": [
            {
                "title": "guide",
                "displayName": "Guide",
                "description": "how to",
                "format": "MARKDOWN",
                "fetchRequest": {"url": "https://docs.example.com/g.md", "auth": BASIC},
            }
        ],
    }
    await api.data(ADD_BUNDLE, {"app": app_id, "in": bundle})
    return app_id


def _passwords(data: dict) -> list[str | None]:
    application = data["application"]
    [bundle] = application["bundles"]["data"]
    [document] = bundle["documents"]["data"]
    auths = [
        application["webhooks"][0]["auth"],
        document["fetchRequest"]["auth"],
        bundle["defaultInstanceAuth"],
    ]
    return [None if auth is None else auth["credential"]["password"] for auth in auths]


async def _raw(settings, statement: str, **params) -> list:
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with engine.begin() as connection:
            result = await connection.execute(sa.text(statement), params)
            return result.all() if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_columns_hold_no_credential_text_and_api_returns_it(api, settings):
    app_id = await _with_credentials(api)
    box = load_or_create_secret_box(settings.secrets_key_path(), settings.secrets_key)
    for table, column in COLUMNS:
        [(stored,)] = await _raw(settings, f"SELECT {column} FROM {table}")
        assert PASSWORD not in stored and "svc-user" not in stored, table
        assert box.open(stored) == BASIC, table
    assert _passwords(await api.data(READ, {"app": app_id})) == [PASSWORD] * 3
    reader = api.mint(scopes=["application:read"])
    assert _passwords(await api.data(READ, {"app": app_id}, token=reader)) == [None] * 3


async def test_plain_values_written_before_sealing_still_read(api, settings):
    app_id = await _with_credentials(api)
    legacy = {"credential": {"basic": {"username": "old", "password": "legacy-pass"}}}
    for table, column in COLUMNS:
        await _raw(settings, f"UPDATE {table} SET {column} = :value", value=json.dumps(legacy))
    assert _passwords(await api.data(READ, {"app": app_id})) == ["legacy-pass"] * 3


def _opens(box: SecretBox, sealed: str) -> bool:
    try:
        return box.open(sealed) == BASIC
    except SecretBoxError:
        return False


async def test_rotated_key_reads_old_values_and_seals_with_the_new(api, settings):
    """COMPASS_SECRETS_KEY="new,old": the new key seals, both open."""
    app_id = await _with_credentials(api)
    old_key = settings.secrets_key_path().read_text().strip()
    new_key = Fernet.generate_key().decode()
    rotated = settings.model_copy(update={"secrets_key": f"{new_key},{old_key}"})
    app = create_app(rotated)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as c:
            client = Api(c, rotated, token=api.token)
            assert _passwords(await client.data(READ, {"app": app_id})) == [PASSWORD] * 3
            await client.data(ADD_WEBHOOK, {"app": app_id, "auth": BASIC})
    stored = [row[0] for row in await _raw(settings, "SELECT auth FROM webhooks")]
    new_only, old_only = SecretBox(new_key.encode()), SecretBox(old_key.encode())
    assert sorted(_opens(new_only, value) for value in stored) == [False, True]
    assert sorted(_opens(old_only, value) for value in stored) == [False, True]


async def test_reseal_moves_every_secret_to_the_new_key(api, settings):
    """The last step of a rotation: afterwards the old key can go."""
    app_id = await _with_credentials(api)
    legacy = {"credential": {"basic": {"username": "old", "password": "legacy-pass"}}}
    await _raw(settings, "UPDATE bundles SET default_instance_auth = :v", v=json.dumps(legacy))
    old_key = settings.secrets_key_path().read_text().strip()
    new_key = Fernet.generate_key().decode()
    engine = create_engine(settings.sqlalchemy_url())
    try:
        box = SecretBox(new_key.encode(), old_key.encode())
        # Webhook auth and signing secret, fetch-request auth, default instance auth.
        assert await reseal_secrets(engine, box) == 4
    finally:
        await engine.dispose()
    new_only = SecretBox(new_key.encode())
    for table, column in [*COLUMNS, ("webhooks", "signing_secret")]:
        [(stored,)] = await _raw(settings, f"SELECT {column} FROM {table}")
        assert "legacy-pass" not in stored
        new_only.open(stored)  # opens without the old key
    rotated = settings.model_copy(update={"secrets_key": new_key})
    app = create_app(rotated)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as c:
            client = Api(c, rotated, token=api.token)
            read = _passwords(await client.data(READ, {"app": app_id}))
    assert read == [PASSWORD, PASSWORD, "legacy-pass"]
