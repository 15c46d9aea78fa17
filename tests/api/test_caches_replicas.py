"""Two replicas on one database, each with its caches warm: what one of them
revokes or deletes, the other refuses on the very next request."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from tests.api.tenancy import create_tenant
from tests.api.test_client_credentials import DELETE, access_token, as_client, client_for
from tests.api.trust import (
    BEHIND_PROXY,
    CONNECTOR_PATH,
    as_certificate,
    compass_api,
    pair,
    register_application,
)
from tests.conftest import error_code

VIEWER = "{ viewer { id type } }"
APPLICATION = "query($id: ID!) { application(id: $id) { id name } }"
REVOKE = "mutation { revokeCertificate }"
DELETE_APP_AUTH = "mutation($id: ID!) { deleteSystemAuthForApplication(authID: $id) { id } }"
UNREGISTER = "mutation($id: ID!) { unregisterApplication(id: $id) { id } }"


@pytest.fixture
async def replicas(settings):
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(compass_api(settings, **BEHIND_PROXY))
        second = await stack.enter_async_context(compass_api(settings, **BEHIND_PROXY))
        yield first, second


async def _refused(caller, because: str) -> None:
    error = await caller.error(VIEWER)
    assert error_code(error) == 26, error
    assert because in error["message"], error


async def _warm_certificate(replicas):
    """A paired application whose certificate both replicas have just accepted."""
    first, second = replicas
    app_id = await register_application(first, "shop")
    paired = await pair(first, "Application", app_id)
    for replica in replicas:
        me = as_certificate(replica, paired.certificate)
        assert (await me.data(VIEWER))["viewer"]["id"] == app_id
        assert (await me.data(APPLICATION, {"id": app_id}))["application"]["id"] == app_id
    return app_id, paired


async def test_a_certificate_revoked_on_one_replica_is_refused_by_the_other(replicas):
    first, second = replicas
    _app_id, paired = await _warm_certificate(replicas)
    revoked = await as_certificate(second, paired.certificate).data(REVOKE, path=CONNECTOR_PATH)
    assert revoked == {"revokeCertificate": True}
    await _refused(as_certificate(first, paired.certificate), because="revoked")


async def test_a_system_auth_deleted_on_one_replica_ends_the_certificate_on_the_other(replicas):
    first, second = replicas
    _app_id, paired = await _warm_certificate(replicas)
    await second.data(DELETE_APP_AUTH, {"id": paired.system_auth_id})
    await _refused(as_certificate(first, paired.certificate), because="not known")


async def test_an_application_unregistered_on_one_replica_is_refused_by_the_other(replicas):
    first, second = replicas
    app_id, paired = await _warm_certificate(replicas)
    await second.data(UNREGISTER, {"id": app_id})
    await _refused(as_certificate(first, paired.certificate), because="not known")


async def test_a_client_deleted_on_one_replica_ends_its_verified_tokens_on_the_other(replicas):
    first, second = replicas
    app_id = await register_application(first, "shop")
    created = await client_for(first, "Application", app_id)
    token = await access_token(first, created["auth"]["credential"])
    for replica in replicas:  # both have verified the token and remember it
        assert (await as_client(replica, token).data(VIEWER))["viewer"]["id"] == app_id
    await second.data(DELETE["Application"], {"id": created["id"]})
    await _refused(as_client(first, token), because="deleted")


async def test_a_cached_tenant_is_still_refused_to_a_credential_of_another(replicas, settings):
    first, _ = replicas
    other = await create_tenant(settings, "other", "other-external")
    theirs = first.mint(tenant="other-external")
    their_app = await register_application(first, "theirs", token=theirs)
    # Both tenants are now resolved and remembered by this replica.
    assert (await first.data(APPLICATION, {"id": their_app}, token=theirs))["application"]
    error = await first.error(APPLICATION, {"id": their_app}, tenant=other.id)
    assert error_code(error) == 26, error
    mine = await first.data(APPLICATION, {"id": their_app})
    assert mine == {"application": None}
