"""Webhook deliveries to a real receiver on 127.0.0.1: signed per Standard
Webhooks, with the webhook's auth, each attempt recorded, retried with
backoff until the delivery window ends. The deliveries run at a fake time."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from compass.config import DEFAULT_TENANT_ID
from tests.api.trust import (
    BEHIND_PROXY,
    add_scenarios,
    paired_runtime,
    register_application,
    register_runtime,
)
from tests.notifications.harness import add_webhook, deliveries_of, driven_app, parse_time
from tests.notifications.receiver import HOOK, TOKEN, running_receiver

CONNECTED = "RUNTIME_CONNECTED"
SET_RUNTIME_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
  setRuntimeLabel(runtimeID: $id, key: $key, value: $value) { key } }"""
UPDATE_RUNTIME = """mutation($id: ID!, $in: RuntimeInput!) {
  updateRuntime(id: $id, in: $in) { status { condition } } }"""


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


@pytest.fixture
async def harness(settings):
    async with driven_app(settings, **BEHIND_PROXY) as running:
        yield running


async def shop_with_webhook(api, url, auth=None):
    """An application of the DEFAULT scenario; its webhook's ID and signing secret."""
    app_id = await register_application(api, "shop", {"labels": {"scenarios": ["DEFAULT"]}})
    webhook = await add_webhook(api, app_id, url, auth)
    return app_id, webhook


async def change_event_url(api, runtime_id, n):
    await api.data(
        SET_RUNTIME_LABEL,
        {"id": runtime_id, "key": "runtime_eventServiceUrl", "value": f"https://gw{n}.example"},
    )


async def test_runtime_connecting_is_delivered_once_and_signed(harness, receiver):
    api = harness.api
    app_id, webhook = await shop_with_webhook(api, receiver.url())
    assert webhook["signingSecret"].startswith("whsec_")
    runtime_id, me = await paired_runtime(api, "cluster", ["DEFAULT"])
    # The agent's first calls: it reads itself, then reports CONNECTED.
    assert (await me.data("{ viewer { id } }"))["viewer"]["id"] == runtime_id
    assert (await me.data("{ viewer { id } }"))["viewer"]["id"] == runtime_id
    update = {"name": "cluster", "statusCondition": "CONNECTED"}
    await me.data(UPDATE_RUNTIME, {"id": runtime_id, "in": update})

    assert await harness.deliver() == 2  # it joined the scenario, then connected
    deliveries = await deliveries_of(api, app_id)
    assert [d["eventType"] for d in deliveries] == ["RUNTIME_JOINED_SCENARIO", CONNECTED]
    connected = deliveries[1]
    assert connected["status"] == "SUCCEEDED" and connected["nextAttemptAt"] is None
    [attempt] = connected["attempts"]
    assert attempt["httpStatus"] == 204 and attempt["error"] is None
    assert attempt["durationMs"] >= 0

    [request] = [
        r for r in receiver.wait_for_hooks(2) if r.headers["webhook-id"] == connected["id"]
    ]
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    event = request.verified(webhook["signingSecret"])
    assert event == connected["event"]
    assert set(event) == {"id", "type", "time", "tenant", "applicationID", "runtime"}
    assert event["type"] == CONNECTED
    assert event["tenant"] == DEFAULT_TENANT_ID and event["applicationID"] == app_id
    assert event["runtime"] == {"id": runtime_id, "name": "cluster"}
    # The body is the event as compact JSON with sorted keys.
    assert request.body == json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    # More calls of the connected runtime tell nothing new.
    await me.data("{ viewer { id } }")
    assert await harness.deliver() == 0


async def test_concurrent_first_calls_connect_the_runtime_once(harness, receiver):
    api = harness.api
    app_id, _ = await shop_with_webhook(api, receiver.url())
    runtime_id, me = await paired_runtime(api, "cluster", ["DEFAULT"])
    answers = await asyncio.gather(*(me.post("{ viewer { id } }") for _ in range(4)))
    assert all(a.get("data", {}).get("viewer", {}).get("id") == runtime_id for a in answers), (
        answers
    )
    types = [d["eventType"] for d in await deliveries_of(api, app_id)]
    assert types.count(CONNECTED) == 1, types


async def test_basic_credentials_and_additional_headers(harness, receiver):
    auth = {
        "credential": {"basic": {"username": "hook", "password": "s3cret"}},
        "additionalHeaders": {"X-Team": ["orders", "billing"], "X-Tier": ["gold"]},
    }
    app_id, webhook = await shop_with_webhook(harness.api, receiver.url(), auth)
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    await harness.deliver()
    [request] = receiver.wait_for_hooks(1)
    expected = base64.b64encode(b"hook:s3cret").decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.headers["x-team"] == "orders, billing"
    assert request.headers["x-tier"] == "gold"
    request.verified(webhook["signingSecret"])
    [delivery] = await deliveries_of(harness.api, app_id)
    assert delivery["status"] == "SUCCEEDED"


async def test_oauth_token_is_fetched_once_and_sent_as_bearer(harness, receiver):
    receiver.clients["shop-client"] = "shop-secret"
    oauth = {"clientId": "shop-client", "clientSecret": "shop-secret", "url": receiver.url(TOKEN)}
    app_id, webhook = await shop_with_webhook(
        harness.api, receiver.url(), {"credential": {"oauth": oauth}}
    )
    runtime_id = await register_runtime(
        harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}}
    )
    await harness.deliver()
    await change_event_url(harness.api, runtime_id, 1)
    await harness.deliver()

    hooks = receiver.wait_for_hooks(2)
    assert [r.headers["authorization"] for r in hooks] == ["Bearer token-1"] * 2
    assert receiver.tokens_issued == 1
    [token_request] = [r for r in receiver.requests if r.path == TOKEN]
    assert token_request.method == "POST"
    assert parse_qs(token_request.body.decode()) == {"grant_type": ["client_credentials"]}
    expected = base64.b64encode(b"shop-client:shop-secret").decode()
    assert token_request.headers["authorization"] == f"Basic {expected}"
    for request in hooks:
        request.verified(webhook["signingSecret"])
    assert {d["status"] for d in await deliveries_of(harness.api, app_id)} == {"SUCCEEDED"}


async def test_refused_oauth_token_is_a_failed_attempt(harness, receiver):
    oauth = {"clientId": "shop-client", "clientSecret": "wrong", "url": receiver.url(TOKEN)}
    app_id, _ = await shop_with_webhook(
        harness.api, receiver.url(), {"credential": {"oauth": oauth}}
    )
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    await harness.deliver()
    [delivery] = await deliveries_of(harness.api, app_id)
    assert delivery["status"] == "PENDING"
    [attempt] = delivery["attempts"]
    assert attempt["httpStatus"] is None and "401" in attempt["error"]
    assert receiver.hooks() == []


async def test_receiver_failing_then_answering(harness, receiver):
    receiver.answers = [500]
    app_id, webhook = await shop_with_webhook(harness.api, receiver.url())
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    assert await harness.deliver() == 1

    [delivery] = await deliveries_of(harness.api, app_id)
    assert delivery["status"] == "PENDING"
    [failed] = delivery["attempts"]
    assert failed["httpStatus"] == 500
    assert failed["error"] == "the receiver answered HTTP 500"
    assert failed["durationMs"] >= 0
    # The next attempt: 1 to 2 s later (the first backoff step, with jitter).
    wait = parse_time(delivery["nextAttemptAt"]) - parse_time(failed["at"])
    assert timedelta(seconds=1) <= wait <= timedelta(seconds=2)
    assert await harness.deliver() == 0  # not due yet

    harness.clock.advance(seconds=30)
    assert await harness.deliver() == 1
    [delivery] = await deliveries_of(harness.api, app_id)
    assert delivery["status"] == "SUCCEEDED" and delivery["nextAttemptAt"] is None
    assert [a["httpStatus"] for a in delivery["attempts"]] == [500, 204]
    assert delivery["attempts"][1]["error"] is None
    # Both attempts carried the same message: same webhook-id, same body, each signed.
    first, second = receiver.wait_for_hooks(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery["id"]
    assert first.body == second.body
    assert first.verified(webhook["signingSecret"]) == second.verified(webhook["signingSecret"])


async def test_receiver_not_listening_is_an_attempt_without_status(harness, receiver):
    dead = f"http://127.0.0.1:{receiver.port}{HOOK}"
    receiver.stop()
    app_id, _ = await shop_with_webhook(harness.api, dead)
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    await harness.deliver()
    [delivery] = await deliveries_of(harness.api, app_id)
    [attempt] = delivery["attempts"]
    assert attempt["httpStatus"] is None
    assert attempt["error"].startswith("ConnectError")
    assert delivery["status"] == "PENDING" and delivery["nextAttemptAt"] is not None


async def test_backoff_grows_and_stays_capped(harness, receiver):
    receiver.answers = [503] * 20
    app_id, _ = await shop_with_webhook(harness.api, receiver.url())
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    for _ in range(12):
        await harness.deliver()
        harness.clock.advance(minutes=11)
    [delivery] = await deliveries_of(harness.api, app_id)
    times = [parse_time(a["at"]) for a in delivery["attempts"]]
    assert len(times) == 12 and delivery["status"] == "PENDING"
    waits = [parse_time(delivery["nextAttemptAt"]) - times[-1]]
    # The ceiling doubles from 2 s and stops at 10 min; jitter takes up to half of it.
    assert timedelta(minutes=5) <= waits[0] <= timedelta(minutes=10)


async def test_delivery_window_ended_is_failed(settings, receiver):
    receiver.answers = [500, 500]
    async with driven_app(settings, window=timedelta(minutes=1)) as harness:
        app_id, _ = await shop_with_webhook(harness.api, receiver.url())
        await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
        assert await harness.deliver() == 1
        harness.clock.advance(minutes=2)
        assert await harness.deliver() == 1
        [delivery] = await deliveries_of(harness.api, app_id)
        assert delivery["status"] == "FAILED" and delivery["nextAttemptAt"] is None
        assert [a["httpStatus"] for a in delivery["attempts"]] == [500, 500]
        harness.clock.advance(hours=1)
        assert await harness.deliver() == 0  # failed for good: no more attempts


async def test_each_webhook_signs_with_its_own_secret(harness, receiver):
    shop, shop_hook = await shop_with_webhook(harness.api, receiver.url())
    bank = await register_application(harness.api, "bank")
    bank_hook = await add_webhook(harness.api, bank, receiver.url())
    secrets = {shop: shop_hook["signingSecret"], bank: bank_hook["signingSecret"]}
    assert secrets[shop] != secrets[bank]
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    assert await harness.deliver() == 2
    for request in receiver.wait_for_hooks(2):
        own = request.json()["applicationID"]
        [other] = set(secrets) - {own}
        assert request.verified(secrets[own])["applicationID"] == own
        with pytest.raises(WebhookVerificationError):
            request.verified(secrets[other])


async def test_egress_policy_refuses_loopback_unless_allowed(settings, receiver):
    async with driven_app(settings, egress_allowed_networks=[]) as harness:
        app_id, _ = await shop_with_webhook(harness.api, receiver.url())
        await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
        await harness.deliver()
        [delivery] = await deliveries_of(harness.api, app_id)
        [attempt] = delivery["attempts"]
        assert attempt["httpStatus"] is None
        assert attempt["error"].startswith("EgressRefused")
        assert "127.0.0.1" in attempt["error"]
        assert delivery["status"] == "PENDING"
    assert receiver.requests == []


async def test_oauth_token_url_is_under_the_egress_policy_too(harness, receiver):
    # 127.0.0.2 is loopback, outside the allowed 127.0.0.1/32.
    oauth = {"clientId": "c", "clientSecret": "s", "url": f"http://127.0.0.2:{receiver.port}/t"}
    app_id, _ = await shop_with_webhook(
        harness.api, receiver.url(), {"credential": {"oauth": oauth}}
    )
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    await harness.deliver()
    [delivery] = await deliveries_of(harness.api, app_id)
    [attempt] = delivery["attempts"]
    assert attempt["error"].startswith("EgressRefused") and "127.0.0.2" in attempt["error"]
    assert receiver.requests == []


async def test_redirects_are_not_followed(harness, receiver):
    receiver.redirects["/moved"] = "http://169.254.169.254/latest/meta-data/"
    app_id, _ = await shop_with_webhook(harness.api, receiver.url("/moved"))
    await register_runtime(harness.api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    await harness.deliver()
    [delivery] = await deliveries_of(harness.api, app_id)
    [attempt] = delivery["attempts"]
    assert attempt["httpStatus"] == 307
    assert [r.path for r in receiver.requests] == ["/moved"]


async def test_events_of_runtimes_in_several_scenarios_reach_each_application(harness, receiver):
    await add_scenarios(harness.api, "SHOP")
    shop = await register_application(harness.api, "shop", {"labels": {"scenarios": ["SHOP"]}})
    bank = await register_application(harness.api, "bank", {"labels": {"scenarios": ["DEFAULT"]}})
    shop_hook = await add_webhook(harness.api, shop, receiver.url())
    bank_hook = await add_webhook(harness.api, bank, receiver.url())
    runtime_id = await register_runtime(
        harness.api, "cluster", {"labels": {"scenarios": ["SHOP", "DEFAULT"]}}
    )
    await change_event_url(harness.api, runtime_id, 1)
    assert await harness.deliver() == 4
    secrets = {shop: shop_hook["signingSecret"], bank: bank_hook["signingSecret"]}
    by_application: dict[str, list[str]] = {}
    for request in receiver.wait_for_hooks(4):
        event = request.verified(secrets[request.json()["applicationID"]])
        by_application.setdefault(event["applicationID"], []).append(event["type"])
    expected = ["RUNTIME_EVENT_URL_CHANGED", "RUNTIME_JOINED_SCENARIO"]
    assert {k: sorted(v) for k, v in by_application.items()} == {shop: expected, bank: expected}
