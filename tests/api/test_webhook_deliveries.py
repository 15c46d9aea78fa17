"""Signing secrets and deliveries of webhooks through the API: the secret is
shown once and kept encrypted, rotation replaces it at once, administrators
see every attempt and retry what failed."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import WebhookVerificationError

from compass.db import create_engine
from compass.pki.secret_box import load_or_create_secret_box
from tests.api.tenancy import create_tenant
from tests.api.trust import (
    BEHIND_PROXY,
    compass_api,
    paired_runtime,
    register_application,
    register_runtime,
)
from tests.conftest import error_code
from tests.notifications.harness import add_webhook, deliveries_of, driven_app
from tests.notifications.receiver import running_receiver

ROTATE = """mutation($id: ID!) {
  rotateWebhookSigningSecret(webhookID: $id) { id url signingSecret } }"""
RETRY = """mutation($id: ID!) { retryWebhookDelivery(id: $id) {
  id eventType status nextAttemptAt attempts { httpStatus } } }"""
WEBHOOKS = """query($id: ID!) { application(id: $id) { webhooks { id signingSecret } } }"""
UPDATE = """mutation($id: ID!, $in: WebhookInput!) {
  updateWebhook(webhookID: $id, in: $in) { id signingSecret } }"""
REGISTER_WITH_WEBHOOK = """mutation($in: ApplicationRegisterInput!) {
  registerApplication(in: $in) { id webhooks { id signingSecret } } }"""
MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


@pytest.fixture
async def harness(settings):
    async with driven_app(settings, window=timedelta(minutes=1)) as running:
        yield running


async def stored_secrets(settings) -> list[str]:
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT signing_secret FROM webhooks"))
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def failed_delivery(harness, receiver) -> tuple[str, dict]:
    """An application whose first delivery failed for good (the window is 1 minute)."""
    receiver.answers = [500, 500]
    app_id = await register_application(harness.api, "shop")
    webhook = await add_webhook(harness.api, app_id, receiver.url())
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    await harness.deliver()
    harness.clock.advance(minutes=2)
    await harness.deliver()
    [delivery] = await deliveries_of(harness.api, app_id)
    assert delivery["status"] == "FAILED"
    return app_id, webhook


async def test_signing_secret_is_shown_once(api):
    app_id = await register_application(api, "shop")
    webhook = await add_webhook(api, app_id, "https://hooks.example/shop")
    secret = webhook["signingSecret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    listed = (await api.data(WEBHOOKS, {"id": app_id}))["application"]["webhooks"]
    assert listed == [{"id": webhook["id"], "signingSecret": None}]
    updated = await api.data(
        UPDATE,
        {"id": webhook["id"], "in": {"type": "CONFIGURATION_CHANGED", "url": webhook["url"]}},
    )
    assert updated["updateWebhook"]["signingSecret"] is None


async def test_signing_secret_is_stored_encrypted(api, settings):
    app_id = await register_application(api, "shop")
    secret = (await add_webhook(api, app_id, "https://hooks.example/shop"))["signingSecret"]
    [stored] = await stored_secrets(settings)
    assert stored and secret not in stored
    assert "whsec_" not in stored and secret.removeprefix("whsec_") not in stored
    box = load_or_create_secret_box(settings.secrets_key_path(), settings.secrets_key)
    assert box.open(stored) == secret


async def test_webhooks_given_at_registration_get_a_sealed_secret_too(api, settings):
    registered = await api.data(
        REGISTER_WITH_WEBHOOK,
        {
            "in": {
                "name": "shop",
                "webhooks": [{"type": "CONFIGURATION_CHANGED", "url": "https://hooks.example/s"}],
            }
        },
    )
    [webhook] = registered["registerApplication"]["webhooks"]
    assert webhook["signingSecret"] is None  # shown by rotateWebhookSigningSecret
    [stored] = await stored_secrets(settings)
    assert stored is not None
    rotated = (await api.data(ROTATE, {"id": webhook["id"]}))["rotateWebhookSigningSecret"]
    assert rotated["signingSecret"].startswith("whsec_")


async def test_rotated_secret_signs_and_the_old_one_no_longer_verifies(harness, receiver):
    api = harness.api
    app_id = await register_application(api, "shop")
    webhook = await add_webhook(api, app_id, receiver.url())
    rotated = (await api.data(ROTATE, {"id": webhook["id"]}))["rotateWebhookSigningSecret"]
    assert rotated["id"] == webhook["id"] and rotated["url"] == webhook["url"]
    new, old = rotated["signingSecret"], webhook["signingSecret"]
    assert new.startswith("whsec_") and new != old
    await register_runtime(api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    await harness.deliver()
    [request] = receiver.wait_for_hooks(1)
    assert request.verified(new)["applicationID"] == app_id
    with pytest.raises(WebhookVerificationError):
        request.verified(old)


async def test_rotate_needs_an_existing_webhook_and_the_write_scope(api):
    error = await api.error(ROTATE, {"id": MISSING_ID})
    assert error_code(error) == 20
    app_id = await register_application(api, "shop")
    webhook = await add_webhook(api, app_id, "https://hooks.example/shop")
    reader = api.mint(scopes=["application:read"])
    assert error_code(await api.error(ROTATE, {"id": webhook["id"]}, token=reader)) == 23


async def test_failed_delivery_is_retried_on_request(harness, receiver):
    app_id, webhook = await failed_delivery(harness, receiver)
    [failed] = await deliveries_of(harness.api, app_id)
    retried = (await harness.api.data(RETRY, {"id": failed["id"]}))["retryWebhookDelivery"]
    assert retried["id"] == failed["id"] and retried["status"] == "PENDING"
    assert retried["nextAttemptAt"] is not None

    harness.clock.advance(seconds=1)
    assert await harness.deliver() == 1
    [delivery] = await deliveries_of(harness.api, app_id)
    assert delivery["status"] == "SUCCEEDED"
    assert [a["httpStatus"] for a in delivery["attempts"]] == [500, 500, 204]
    # The same message again: same webhook-id and body.
    requests = receiver.wait_for_hooks(3)
    assert {r.headers["webhook-id"] for r in requests} == {failed["id"]}
    assert requests[2].verified(webhook["signingSecret"]) == failed["event"]


async def test_retry_of_a_delivery_that_has_not_failed_is_invalid(harness, receiver):
    app_id = await register_application(harness.api, "shop")
    await add_webhook(harness.api, app_id, receiver.url())
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    [pending] = await deliveries_of(harness.api, app_id)
    error = await harness.api.error(RETRY, {"id": pending["id"]})
    assert error_code(error) == 27 and "PENDING" in error["message"]
    await harness.deliver()
    error = await harness.api.error(RETRY, {"id": pending["id"]})
    assert error_code(error) == 27 and "SUCCEEDED" in error["message"]
    assert len(receiver.hooks()) == 1


async def test_retry_of_a_failed_delivery_only_once(harness, receiver):
    app_id, _ = await failed_delivery(harness, receiver)
    [failed] = await deliveries_of(harness.api, app_id)
    await harness.api.data(RETRY, {"id": failed["id"]})
    assert error_code(await harness.api.error(RETRY, {"id": failed["id"]})) == 27
    assert await harness.deliver() == 1


async def test_retry_needs_a_delivery_of_the_tenant_and_the_write_scope(harness, receiver):
    api = harness.api
    app_id, _ = await failed_delivery(harness, receiver)
    [failed] = await deliveries_of(api, app_id)
    assert error_code(await api.error(RETRY, {"id": MISSING_ID})) == 20
    other = await create_tenant(api.settings, "other")
    theirs = api.mint(tenant=other.id)
    assert error_code(await api.error(RETRY, {"id": failed["id"]}, token=theirs)) == 20
    reader = api.mint(scopes=["application:read"])
    assert error_code(await api.error(RETRY, {"id": failed["id"]}, token=reader)) == 23
    [still] = await deliveries_of(api, app_id)
    assert still["status"] == "FAILED"


async def test_deliveries_of_another_tenant_are_not_visible(harness, receiver):
    api = harness.api
    app_id = await register_application(api, "shop")
    await add_webhook(api, app_id, receiver.url())
    await register_runtime(api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    other = await create_tenant(api.settings, "other")
    theirs = api.mint(tenant=other.id)
    data = await api.data(
        "query($id: ID!) { application(id: $id) { id } }", {"id": app_id}, token=theirs
    )
    assert data["application"] is None
    assert len(await deliveries_of(api, app_id)) == 1


async def test_running_server_delivers_a_connected_runtime_to_a_receiver(settings, receiver):
    """No test hand here: the app's own outbox worker delivers after the commit."""
    async with compass_api(settings, **BEHIND_PROXY) as api:
        app_id = await register_application(api, "shop")
        webhook = await add_webhook(api, app_id, receiver.url())
        runtime_id, me = await paired_runtime(api, "cluster", ["DEFAULT"])
        await me.data("{ viewer { id } }")
        # The worker runs on this event loop: wait in a thread.
        requests = await asyncio.to_thread(receiver.wait_for_hooks, 2, 30)
        events = [r.verified(webhook["signingSecret"]) for r in requests]
        connected = [e for e in events if e["type"] == "RUNTIME_CONNECTED"]
        assert [e["runtime"] for e in connected] == [{"id": runtime_id, "name": "cluster"}]
        deliveries = await deliveries_of(api, app_id)
        assert {d["id"] for d in deliveries} == {r.headers["webhook-id"] for r in requests}
