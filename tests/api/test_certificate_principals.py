"""Applications and runtimes authenticated by the client certificate the
Connector issued them, forwarded by a trusted proxy: what they may see and
do, renewal, revocation, and certificates that must not be believed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from compass.config import DEFAULT_TENANT_ID
from compass.db import create_engine, create_session_factory
from compass.domain.system_auth.model import CertificateRow
from compass.pki.authority import CertificateAuthority
from tests.api.pki_client import (
    ForeignAuthority,
    build_csr,
    csr_for,
    decode_certificate,
    generate_key,
    parse_subject,
)
from tests.api.tenancy import create_tenant
from tests.api.trust import (
    BEHIND_PROXY,
    CERT_HEADER,
    CONFIGURATION,
    CONNECTOR_PATH,
    SIGN,
    add_scenarios,
    as_certificate,
    compass_api,
    connector,
    pair,
    paired_application,
    paired_runtime,
    register_application,
    register_runtime,
)
from tests.conftest import Api, error_code

VIEWER = "{ viewer { id type } }"
APPLICATIONS = "{ applications { totalCount data { id name } } }"
APPLICATION = "query($id: ID!) { application(id: $id) { id name status { condition } } }"
APPLICATION_STATE = """query($id: ID!) { application(id: $id) {
    description labels bundles { totalCount } webhooks { id }
} }"""
RUNTIMES = "{ runtimes { totalCount data { id name } } }"
RUNTIME = "query($id: ID!) { runtime(id: $id) { id name labels status { condition } } }"
FOR_RUNTIME = "query($id: ID!) { applicationsForRuntime(runtimeID: $id) { data { name } } }"
ADD_BUNDLE = """mutation($app: ID!, $name: String!) {
    addBundle(applicationID: $app, in: {name: $name}) { id name }
}"""
UPDATE_APPLICATION = """mutation($app: ID!) {
    updateApplication(id: $app, in: {description: "changed"}) { id description }
}"""
SET_APPLICATION_LABEL = """mutation($app: ID!) {
    setApplicationLabel(applicationID: $app, key: "owner", value: "intruder") { key }
}"""
UPDATE_RUNTIME = """mutation($id: ID!, $name: String!) {
    updateRuntime(id: $id, in: {name: $name}) { id name }
}"""
REVOKE = "mutation { revokeCertificate }"
DELETE_APP_AUTH = "mutation($id: ID!) { deleteSystemAuthForApplication(authID: $id) { id } }"
DELETE_RUNTIME_AUTH = "mutation($id: ID!) { deleteSystemAuthForRuntime(authID: $id) { id } }"
APP_AUTHS = "query($id: ID!) { application(id: $id) { auths { id } } }"


@pytest.fixture
async def proxy(settings):
    async with compass_api(settings, **BEHIND_PROXY) as api:
        yield api


async def define_labels(api: Api, *keys: str) -> None:
    """Applications and runtimes set only labels whose keys are defined."""
    for key in keys:
        await api.data(
            "mutation($key: String!) { createLabelDefinition(in: {key: $key}) { key } }",
            {"key": key},
        )


async def refused(caller: Api, query: str, variables: dict | None = None) -> dict:
    body = await caller.post(query, variables, path=CONNECTOR_PATH)
    assert body.get("errors"), body
    assert len(body["errors"]) == 1, body
    # Nullable fields answer null next to the error.
    assert not any((body.get("data") or {}).values()), body
    return body["errors"][0]


async def unauthorized(
    caller: Api, query: str, variables: dict | None = None, *, because: str
) -> None:
    error = await refused(caller, query, variables)
    assert error_code(error) == 26, error
    assert because in error["message"], error


# An application's certificate


async def test_viewer_is_the_application(proxy):
    app_id, me = await paired_application(proxy)
    assert (await me.data(VIEWER))["viewer"] == {"id": app_id, "type": "APPLICATION"}


async def test_certificate_works_on_every_path(proxy):
    app_id, me = await paired_application(proxy)
    for path in ["/graphql", "/director/graphql", "/connector/graphql"]:
        data = await me.data(VIEWER, path=path)
        assert data["viewer"]["id"] == app_id


async def test_first_call_connects_the_application_and_shows_it(proxy):
    app_id, me = await paired_application(proxy)
    before = await proxy.data(APPLICATION, {"id": app_id})
    assert before["application"]["status"]["condition"] == "INITIAL"
    first = await me.data(APPLICATION, {"id": app_id})
    assert first["application"]["status"]["condition"] == "CONNECTED"
    after = await proxy.data(APPLICATION, {"id": app_id})
    assert after["application"]["status"]["condition"] == "CONNECTED"


async def test_first_call_of_viewer_connects_too(proxy):
    app_id, me = await paired_application(proxy)
    body = await me.data(
        f"query {{ viewer {{ id }} application(id: {json.dumps(app_id)}) "
        "{ status { condition } } }"
    )
    assert body["viewer"]["id"] == app_id
    assert body["application"]["status"]["condition"] == "CONNECTED"


async def test_application_adds_a_bundle_to_itself(proxy):
    app_id, me = await paired_application(proxy)
    bundle = (await me.data(ADD_BUNDLE, {"app": app_id, "name": "orders"}))["addBundle"]
    assert bundle["name"] == "orders"
    state = (await proxy.data(APPLICATION_STATE, {"id": app_id}))["application"]
    assert state["bundles"]["totalCount"] == 1


async def test_application_updates_and_labels_itself(proxy):
    await define_labels(proxy, "owner")
    app_id, me = await paired_application(proxy)
    updated = await me.data(UPDATE_APPLICATION, {"app": app_id})
    assert updated["updateApplication"]["description"] == "changed"
    await me.data(SET_APPLICATION_LABEL, {"app": app_id})
    state = (await proxy.data(APPLICATION_STATE, {"id": app_id}))["application"]
    assert state["description"] == "changed"
    assert state["labels"]["owner"] == "intruder"


@pytest.mark.parametrize(
    ("mutation", "extra"),
    [
        (ADD_BUNDLE, {"name": "stolen"}),
        (UPDATE_APPLICATION, {}),
        (SET_APPLICATION_LABEL, {}),
        (
            'mutation($app: ID!) { deleteApplicationLabel(applicationID: $app, key: "scenarios") '
            "{ key } }",
            {},
        ),
        (
            "mutation($app: ID!) { addWebhook(applicationID: $app, "
            'in: {type: CONFIGURATION_CHANGED, url: "https://evil.example/hook"}) { id } }',
            {},
        ),
        ("mutation($app: ID!) { unregisterApplication(id: $app) { id } }", {}),
    ],
)
async def test_application_cannot_modify_another(proxy, mutation, extra):
    _me_id, me = await paired_application(proxy)
    other_id = await register_application(proxy, "other")
    before = await proxy.data(APPLICATION_STATE, {"id": other_id})
    error = await refused(me, mutation, {"app": other_id, **extra})
    assert error_code(error) == 26
    assert await proxy.data(APPLICATION_STATE, {"id": other_id}) == before


async def test_application_cannot_change_a_bundle_of_another(proxy):
    _me_id, me = await paired_application(proxy)
    other_id = await register_application(proxy, "other")
    bundle = (await proxy.data(ADD_BUNDLE, {"app": other_id, "name": "theirs"}))["addBundle"]
    error = await refused(
        me,
        'mutation($id: ID!) { updateBundle(id: $id, in: {name: "mine"}) { name } }',
        {"id": bundle["id"]},
    )
    assert error_code(error) == 26
    error = await refused(me, "mutation($id: ID!) { deleteBundle(id: $id) { id } }", bundle)
    assert error_code(error) == 26
    state = (await proxy.data(APPLICATION_STATE, {"id": other_id}))["application"]
    assert state["bundles"]["totalCount"] == 1


async def test_application_cannot_register_applications(proxy):
    _me_id, me = await paired_application(proxy)
    error = await refused(me, 'mutation { registerApplication(in: {name: "new"}) { id } }')
    assert error_code(error) == 26
    assert (await proxy.data(APPLICATIONS))["applications"]["totalCount"] == 1


async def test_application_sees_only_itself(proxy):
    await register_application(proxy, "before")
    app_id, me = await paired_application(proxy)
    other_id = await register_application(proxy, "after")
    page = (await me.data(APPLICATIONS))["applications"]
    assert page == {"totalCount": 1, "data": [{"id": app_id, "name": "shop"}]}
    assert (await me.data(APPLICATION, {"id": other_id}))["application"] is None
    assert (await me.data(APPLICATION, {"id": app_id}))["application"]["id"] == app_id


async def test_application_cannot_list_runtimes(proxy):
    await register_runtime(proxy, "cluster")
    _app_id, me = await paired_application(proxy)
    assert error_code(await refused(me, RUNTIMES)) == 23


async def test_application_may_name_only_its_own_tenant(proxy, settings):
    await create_tenant(settings, "other", "other-tenant")
    app_id, me = await paired_application(proxy)
    body = await me.post(APPLICATIONS, tenant="other-tenant")
    assert error_code(body["errors"][0]) == 26
    assert not body.get("data")
    # A tenant that does not exist is refused alike: no hint of which exist.
    body = await me.post(APPLICATIONS, tenant="no-such-tenant")
    assert error_code(body["errors"][0]) == 26
    tenants = (await proxy.data("{ tenants { id internalID } }"))["tenants"]
    internal_id = next(t["internalID"] for t in tenants if t["id"] == DEFAULT_TENANT_ID)
    for own_tenant in (DEFAULT_TENANT_ID, internal_id):
        own = await me.data(APPLICATIONS, tenant=own_tenant)
        assert own["applications"]["data"][0]["id"] == app_id


async def test_application_of_another_tenant_stays_in_it(proxy, settings):
    await create_tenant(settings, "other", "other-tenant")
    foreign = proxy.mint(tenant="other-tenant")
    mine = await register_application(proxy, "mine")
    theirs_id = await register_application(proxy, "theirs", token=foreign)
    token = (
        await proxy.data(
            "mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) { token } }",
            {"id": theirs_id},
            token=foreign,
        )
    )["requestOneTimeTokenForApplication"]["token"]
    configuration = (await connector(proxy, token).data(CONFIGURATION, path=CONNECTOR_PATH))[
        "configuration"
    ]
    subject = configuration["certificateSigningRequestInfo"]["subject"]
    signed = await connector(proxy, configuration["token"]["token"]).data(
        SIGN, {"csr": csr_for(subject)}, path=CONNECTOR_PATH
    )
    them = as_certificate(
        proxy, decode_certificate(signed["signCertificateSigningRequest"]["clientCertificate"])
    )
    assert (await them.data(APPLICATIONS))["applications"]["data"] == [
        {"id": theirs_id, "name": "theirs"}
    ]
    assert (await them.data(APPLICATION, {"id": mine}))["application"] is None
    body = await them.post(APPLICATIONS, tenant=DEFAULT_TENANT_ID)
    assert error_code(body["errors"][0]) == 26
    # Another tenant's application does not exist for it.
    error = await refused(them, UPDATE_APPLICATION, {"app": mine})
    assert error_code(error) == 20
    state = (await proxy.data(APPLICATION_STATE, {"id": mine}))["application"]
    assert state["description"] is None


# A runtime's certificate


async def test_runtime_sees_itself(proxy):
    other_id = await register_runtime(proxy, "other")
    runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    assert (await me.data(VIEWER))["viewer"] == {"id": runtime_id, "type": "RUNTIME"}
    own = (await me.data(RUNTIME, {"id": runtime_id}))["runtime"]
    assert own["name"] == "cluster"
    assert own["status"]["condition"] == "CONNECTED"
    assert (await me.data(RUNTIMES))["runtimes"] == {
        "totalCount": 1,
        "data": [{"id": runtime_id, "name": "cluster"}],
    }
    assert (await me.data(RUNTIME, {"id": other_id}))["runtime"] is None


async def test_runtime_sees_applications_of_its_scenarios(proxy):
    await add_scenarios(proxy, "SHOP", "BANK")
    shop = await register_application(proxy, "shop", {"labels": {"scenarios": ["SHOP"]}})
    bank = await register_application(proxy, "bank", {"labels": {"scenarios": ["BANK"]}})
    both = await register_application(proxy, "both", {"labels": {"scenarios": ["BANK", "SHOP"]}})
    runtime_id, me = await paired_runtime(proxy, "cluster", ["SHOP"])
    page = (await me.data(APPLICATIONS))["applications"]
    assert page["totalCount"] == 2
    assert {a["id"] for a in page["data"]} == {shop, both}
    assert (await me.data(APPLICATION, {"id": bank}))["application"] is None
    assert (await me.data(APPLICATION, {"id": shop}))["application"]["name"] == "shop"
    auths_query = "query($id: ID!) { application(id: $id) { auths { id } } }"
    await proxy.data(
        "mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) { token } }", {"id": shop}
    )
    assert len((await proxy.data(auths_query, {"id": shop}))["application"]["auths"]) == 1
    assert (await me.data(auths_query, {"id": shop}))["application"]["auths"] == []
    names = {
        a["name"]
        for a in (await me.data(FOR_RUNTIME, {"id": runtime_id}))["applicationsForRuntime"]["data"]
    }
    assert names == {"shop", "both"}


async def test_runtime_updates_and_labels_itself(proxy):
    runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    updated = await me.data(UPDATE_RUNTIME, {"id": runtime_id, "name": "renamed"})
    assert updated["updateRuntime"]["name"] == "renamed"
    await me.data(
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "runtime_consoleUrl", '
        'value: "https://console.example") { key } }',
        {"id": runtime_id},
    )
    runtime = (await proxy.data(RUNTIME, {"id": runtime_id}))["runtime"]
    assert runtime["name"] == "renamed"
    assert runtime["labels"]["runtime_consoleUrl"] == "https://console.example"


async def test_runtime_cannot_modify_another_runtime(proxy):
    other_id = await register_runtime(proxy, "other")
    _runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    error = await refused(me, UPDATE_RUNTIME, {"id": other_id, "name": "hijacked"})
    assert error_code(error) == 26
    error = await refused(
        me,
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "x", value: "y") { key } }',
        {"id": other_id},
    )
    assert error_code(error) == 26
    other = (await proxy.data(RUNTIME, {"id": other_id}))["runtime"]
    assert other["name"] == "other"
    assert "x" not in (other["labels"] or {})


async def test_runtime_cannot_change_its_own_scenarios(proxy):
    await add_scenarios(proxy, "SHOP")
    await register_application(proxy, "shop", {"labels": {"scenarios": ["SHOP"]}})
    runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    await unauthorized(
        me,
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "scenarios", '
        'value: ["DEFAULT", "SHOP"]) { key } }',
        {"id": runtime_id},
        because="may not change their scenarios",
    )
    await unauthorized(
        me,
        'mutation($id: ID!) { deleteRuntimeLabel(runtimeID: $id, key: "scenarios") { key } }',
        {"id": runtime_id},
        because="may not change their scenarios",
    )
    await unauthorized(
        me,
        'mutation($id: ID!) { updateRuntime(id: $id, in: {name: "cluster", '
        'labels: {scenarios: ["SHOP"]}}) { id } }',
        {"id": runtime_id},
        because="may not change their scenarios",
    )
    runtime = (await proxy.data(RUNTIME, {"id": runtime_id}))["runtime"]
    assert runtime["labels"]["scenarios"] == ["DEFAULT"]
    assert (await me.data(APPLICATIONS))["applications"]["totalCount"] == 0


ASSIGN_SHOP_TO_EU = """mutation { createAutomaticScenarioAssignment(in: {scenarioName: "SHOP",
    selector: {key: "region", value: "eu"}}) { scenarioName } }"""


async def test_runtime_cannot_change_its_scenarios_through_an_assignment(proxy):
    """Upstream's rule, at its cause: a runtime may not label itself into (or out
    of) an assignment's scenario."""
    await add_scenarios(proxy, "SHOP")
    await define_labels(proxy, "region", "size", "x")
    await register_application(proxy, "shop", {"labels": {"scenarios": ["SHOP"]}})
    await proxy.data(ASSIGN_SHOP_TO_EU)
    runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    set_region = (
        'mutation($id: ID!, $v: Any!) { setRuntimeLabel(runtimeID: $id, key: "region", '
        "value: $v) { key } }"
    )
    update = (
        "mutation($id: ID!, $labels: Labels) { updateRuntime(id: $id, "
        'in: {name: "cluster", labels: $labels}) { id } }'
    )
    delete_region = (
        'mutation($id: ID!) { deleteRuntimeLabel(runtimeID: $id, key: "region") { key } }'
    )
    joining = "may not change their scenarios"
    await unauthorized(me, set_region, {"id": runtime_id, "v": "eu"}, because=joining)
    await unauthorized(me, update, {"id": runtime_id, "labels": {"region": "eu"}}, because=joining)
    runtime = (await proxy.data(RUNTIME, {"id": runtime_id}))["runtime"]
    assert runtime["labels"] == {"scenarios": ["DEFAULT"]}
    assert (await me.data(APPLICATIONS))["applications"]["totalCount"] == 0

    # Put there by the administrator, it may not leave by relabelling either.
    await proxy.data(set_region, {"id": runtime_id, "v": "eu"})
    assert (await me.data(APPLICATIONS))["applications"]["totalCount"] == 1
    await unauthorized(me, set_region, {"id": runtime_id, "v": "us"}, because=joining)
    await unauthorized(me, delete_region, {"id": runtime_id}, because=joining)
    await unauthorized(me, update, {"id": runtime_id, "labels": {"x": "y"}}, because=joining)
    runtime = (await proxy.data(RUNTIME, {"id": runtime_id}))["runtime"]
    assert runtime["labels"] == {"scenarios": ["DEFAULT", "SHOP"], "region": "eu"}

    # What leaves its scenarios alone is allowed, writing them back included.
    labels = {"region": "eu", "scenarios": ["SHOP", "DEFAULT"], "size": "s"}
    await me.data(update, {"id": runtime_id, "labels": labels})
    await me.data(set_region, {"id": runtime_id, "v": "eu"})
    runtime = (await proxy.data(RUNTIME, {"id": runtime_id}))["runtime"]
    assert runtime["labels"]["size"] == "s"
    assert sorted(runtime["labels"]["scenarios"]) == ["DEFAULT", "SHOP"]
    # Written back by the runtime, SHOP is still the assignment's: it goes with it.
    await proxy.data(
        'mutation { deleteAutomaticScenarioAssignmentForScenario(scenarioName: "SHOP") '
        "{ scenarioName } }"
    )
    runtime = (await proxy.data(RUNTIME, {"id": runtime_id}))["runtime"]
    assert runtime["labels"]["scenarios"] == ["DEFAULT"]


async def test_runtime_may_write_back_the_scenarios_it_has(proxy):
    """What a Kyma runtime agent does: updateRuntime with its current labels."""
    await add_scenarios(proxy, "SHOP")
    await define_labels(proxy, "region")
    runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT", "SHOP"])
    updated = await me.data(
        'mutation($id: ID!) { updateRuntime(id: $id, in: {name: "cluster", '
        'labels: {scenarios: ["SHOP", "DEFAULT"], region: "eu"}, statusCondition: CONNECTED}) '
        "{ labels status { condition } } }",
        {"id": runtime_id},
    )
    assert updated["updateRuntime"]["labels"]["region"] == "eu"
    assert sorted(updated["updateRuntime"]["labels"]["scenarios"]) == ["DEFAULT", "SHOP"]
    assert updated["updateRuntime"]["status"]["condition"] == "CONNECTED"
    await me.data(
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "scenarios", '
        'value: ["DEFAULT", "SHOP"]) { key } }',
        {"id": runtime_id},
    )
    await unauthorized(
        me,
        'mutation($id: ID!) { updateRuntime(id: $id, in: {name: "cluster", '
        'labels: {scenarios: ["DEFAULT"]}}) { id } }',
        {"id": runtime_id},
        because="may not change their scenarios",
    )


async def test_application_cannot_change_its_own_scenarios(proxy):
    await add_scenarios(proxy, "SHOP")
    app_id, me = await paired_application(proxy)
    await unauthorized(
        me,
        'mutation($id: ID!) { setApplicationLabel(applicationID: $id, key: "scenarios", '
        'value: ["SHOP"]) { key } }',
        {"id": app_id},
        because="may not change their scenarios",
    )
    labels = await proxy.data("query($id: ID!) { application(id: $id) { labels } }", {"id": app_id})
    assert labels["application"]["labels"]["scenarios"] == ["DEFAULT"]


async def test_runtime_cannot_ask_for_applications_of_another_runtime(proxy):
    other_id = await register_runtime(proxy, "other", {"labels": {"scenarios": ["DEFAULT"]}})
    await register_application(proxy, "shop")
    _runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    error = await refused(me, FOR_RUNTIME, {"id": other_id})
    assert error_code(error) == 20


async def test_runtime_cannot_register_or_modify_applications(proxy):
    app_id = await register_application(proxy, "shop")
    _runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    error = await refused(me, 'mutation { registerRuntime(in: {name: "new"}) { id } }')
    assert error_code(error) == 26
    error = await refused(me, UPDATE_APPLICATION, {"app": app_id})
    assert error_code(error) == 23
    assert (await proxy.data(RUNTIMES))["runtimes"]["totalCount"] == 1


# Renewal


async def test_holder_renews_with_a_new_csr_for_the_same_subject(proxy):
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    me = as_certificate(proxy, paired.certificate)
    key = generate_key()
    renewed = (await me.data(SIGN, {"csr": csr_for(paired.subject, key)}, path=CONNECTOR_PATH))[
        "signCertificateSigningRequest"
    ]
    certificate = decode_certificate(renewed["clientCertificate"])
    assert certificate.subject == parse_subject(paired.subject)
    assert certificate.serial_number != paired.certificate.serial_number
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    again = as_certificate(proxy, certificate)
    assert (await again.data(VIEWER))["viewer"] == {"id": app_id, "type": "APPLICATION"}
    # Renewal alone does not end the older certificate.
    assert (await me.data(VIEWER))["viewer"]["id"] == app_id


async def test_holder_cannot_get_a_certificate_for_another_subject(proxy):
    app_id = await register_application(proxy, "shop")
    other_id = await register_application(proxy, "other")
    mine = await pair(proxy, "Application", app_id)
    theirs = await pair(proxy, "Application", other_id)
    me = as_certificate(proxy, mine.certificate)
    error = await refused(me, SIGN, {"csr": csr_for(theirs.subject)})
    assert error_code(error) == 22


async def test_holder_gets_configuration_with_its_certificate_only(proxy):
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    me = as_certificate(proxy, paired.certificate)
    configuration = (await me.data(CONFIGURATION, path=CONNECTOR_PATH))["configuration"]
    assert configuration["certificateSigningRequestInfo"]["subject"] == paired.subject
    token = configuration["token"]["token"]
    signed = await connector(proxy, token).data(
        SIGN, {"csr": csr_for(paired.subject)}, path=CONNECTOR_PATH
    )
    assert signed["signCertificateSigningRequest"]["clientCertificate"]


# Revocation


async def test_revoked_certificate_is_refused_everywhere(proxy):
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    me = as_certificate(proxy, paired.certificate)
    renewed = (await me.data(SIGN, {"csr": csr_for(paired.subject)}, path=CONNECTOR_PATH))[
        "signCertificateSigningRequest"
    ]
    assert (await me.data(REVOKE, path=CONNECTOR_PATH)) == {"revokeCertificate": True}

    for query, variables in [
        (VIEWER, None),
        (APPLICATIONS, None),
        (APPLICATION, {"id": app_id}),
        (ADD_BUNDLE, {"app": app_id, "name": "late"}),
        (CONFIGURATION, None),
        (SIGN, {"csr": csr_for(paired.subject)}),
        (REVOKE, None),
    ]:
        await unauthorized(me, query, variables, because="revoked")

    newer = as_certificate(proxy, decode_certificate(renewed["clientCertificate"]))
    assert (await newer.data(VIEWER))["viewer"] == {"id": app_id, "type": "APPLICATION"}
    added = await newer.data(ADD_BUNDLE, {"app": app_id, "name": "fine"})
    assert added["addBundle"]["name"] == "fine"
    state = (await proxy.data(APPLICATION_STATE, {"id": app_id}))["application"]
    assert state["bundles"]["totalCount"] == 1


async def test_revoking_one_runtime_certificate_spares_other_holders(proxy):
    runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    _other_id, other = await paired_runtime(proxy, "other", ["DEFAULT"])
    assert await me.data(REVOKE) == {"revokeCertificate": True}
    await unauthorized(me, RUNTIME, {"id": runtime_id}, because="revoked")
    assert (await other.data(VIEWER))["viewer"]["type"] == "RUNTIME"


async def test_revoke_needs_a_certificate(proxy):
    error = await refused(proxy, REVOKE)
    assert error_code(error) == 26
    anonymous = Api(proxy.client, proxy.settings, token="")
    assert error_code(await refused(anonymous, REVOKE)) == 26
    app_id = await register_application(proxy, "shop")
    token = (
        await proxy.data(
            "mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) { token } }",
            {"id": app_id},
        )
    )["requestOneTimeTokenForApplication"]["token"]
    assert error_code(await refused(connector(proxy, token), REVOKE)) == 26


# Certificates that are not believed


async def test_certificate_of_a_foreign_ca_is_refused(proxy):
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    forged = ForeignAuthority().sign(
        paired.subject, paired.key, serial=paired.certificate.serial_number
    )
    stranger = as_certificate(proxy, forged)
    for query in [VIEWER, APPLICATIONS, CONFIGURATION]:
        await unauthorized(stranger, query, because="not issued by this CA")
    error = await refused(stranger, ADD_BUNDLE, {"app": app_id, "name": "forged"})
    assert error_code(error) == 26
    assert error_code(await refused(stranger, SIGN, {"csr": csr_for(paired.subject)})) == 26
    state = (await proxy.data(APPLICATION_STATE, {"id": app_id}))["application"]
    assert state["bundles"]["totalCount"] == 0


async def test_certificate_of_our_ca_that_was_never_issued_is_refused(proxy, settings):
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    authority = CertificateAuthority.load_or_create(settings.data_dir)
    unrecorded = authority.sign_client_certificate(
        build_csr(paired.subject, paired.key), parse_subject(paired.subject), timedelta(days=1)
    )
    await unauthorized(as_certificate(proxy, unrecorded), VIEWER, because="not known")


async def test_header_from_an_untrusted_address_is_refused(settings):
    async with compass_api(
        settings, trusted_proxy_cert_header=CERT_HEADER, trusted_proxies=["10.0.0.1"]
    ) as api:
        app_id = await register_application(api, "shop")
        paired = await pair(api, "Application", app_id)
        me = as_certificate(api, paired.certificate)
        await unauthorized(me, VIEWER, because="trusted proxies")
        # Even with a valid bearer token next to it, the header is not ignored.
        body = await me.post(VIEWER, token=api.token)
        assert error_code(body["errors"][0]) == 26


async def test_header_without_trusted_proxies_is_refused(settings):
    async with compass_api(settings, trusted_proxy_cert_header=CERT_HEADER) as api:
        app_id = await register_application(api, "shop")
        paired = await pair(api, "Application", app_id)
        caller = as_certificate(api, paired.certificate)
        await unauthorized(caller, VIEWER, because="trusted proxies")


async def test_header_from_a_trusted_network_is_accepted(settings):
    async with compass_api(
        settings,
        peer=("10.1.2.3", 40000),
        trusted_proxy_cert_header=CERT_HEADER,
        trusted_proxies=["192.0.2.1", "10.0.0.0/8"],
    ) as api:
        app_id = await register_application(api, "shop")
        paired = await pair(api, "Application", app_id)
        me = as_certificate(api, paired.certificate)
        assert (await me.data(VIEWER))["viewer"] == {"id": app_id, "type": "APPLICATION"}


async def test_header_is_ignored_when_not_configured(api):
    app_id = await register_application(api, "shop")
    paired = await pair(api, "Application", app_id)
    me = as_certificate(api, paired.certificate)
    await unauthorized(me, VIEWER, because="no credentials")
    body = await me.post(VIEWER, token=api.token)
    assert body == {"data": {"viewer": {"id": "tester", "type": "USER"}}}


@pytest.mark.parametrize(
    "value",
    ["garbage", "-----BEGIN%20CERTIFICATE-----%0Anope%0A-----END%20CERTIFICATE-----%0A"],
)
async def test_malformed_header_is_refused(proxy, value):
    caller = Api(proxy.client, proxy.settings, token="", default_headers={CERT_HEADER: value})
    assert error_code(await refused(caller, VIEWER)) == 26


# Deleting a system auth


async def test_deleted_system_auth_ends_its_certificate(proxy):
    app_id = await register_application(proxy, "shop")
    first = await pair(proxy, "Application", app_id)
    second = await pair(proxy, "Application", app_id)
    deleted = await proxy.data(DELETE_APP_AUTH, {"id": first.system_auth_id})
    assert deleted["deleteSystemAuthForApplication"]["id"] == first.system_auth_id
    await unauthorized(as_certificate(proxy, first.certificate), VIEWER, because="not known")
    auths = (await proxy.data(APP_AUTHS, {"id": app_id}))["application"]["auths"]
    assert [a["id"] for a in auths] == [second.system_auth_id]
    still = as_certificate(proxy, second.certificate)
    assert (await still.data(VIEWER))["viewer"]["id"] == app_id


async def test_deleted_runtime_auth_ends_its_certificate(proxy):
    runtime_id = await register_runtime(proxy, "cluster")
    paired = await pair(proxy, "Runtime", runtime_id)
    me = as_certificate(proxy, paired.certificate)
    assert (await me.data(VIEWER))["viewer"]["id"] == runtime_id
    error = await proxy.error(DELETE_APP_AUTH, {"id": paired.system_auth_id})
    assert error_code(error) == 20
    assert (await me.data(VIEWER))["viewer"]["id"] == runtime_id
    await proxy.data(DELETE_RUNTIME_AUTH, {"id": paired.system_auth_id})
    await unauthorized(me, VIEWER, because="not known")


async def test_system_auth_of_another_tenant_cannot_be_deleted(proxy, settings):
    await create_tenant(settings, "other", "other-tenant")
    foreign = proxy.mint(tenant="other-tenant")
    theirs = await register_application(proxy, "theirs", token=foreign)
    paired = await pair(Api(proxy.client, proxy.settings, token=foreign), "Application", theirs)
    error = await proxy.error(DELETE_APP_AUTH, {"id": paired.system_auth_id})
    assert error_code(error) == 20
    them = as_certificate(proxy, paired.certificate)
    assert (await them.data(VIEWER))["viewer"]["id"] == theirs


async def test_unregistered_application_loses_its_certificate(proxy):
    app_id, me = await paired_application(proxy)
    assert (await me.data(VIEWER))["viewer"]["id"] == app_id
    await proxy.data("mutation($id: ID!) { unregisterApplication(id: $id) { id } }", {"id": app_id})
    await unauthorized(me, VIEWER, because="not known")


# Certificates of our own CA that are not client certificates of a pairing


async def _record(settings, certificate, system_auth_id: str) -> None:
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with create_session_factory(engine)() as session:
            session.add(
                CertificateRow(
                    serial=format(certificate.serial_number, "x"),
                    system_auth_id=system_auth_id,
                    fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
                    not_after=certificate.not_valid_after_utc,
                )
            )
            await session.commit()
    finally:
        await engine.dispose()


async def test_expired_certificate_is_refused(proxy, settings):
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    csr = build_csr(paired.subject, paired.key)
    now = datetime.now(UTC)
    issued = {}
    for name, moment in [("current", now), ("expired", now - timedelta(days=10))]:
        authority = CertificateAuthority.load_or_create(settings.data_dir, clock=lambda m=moment: m)
        issued[name] = authority.sign_client_certificate(
            csr, parse_subject(paired.subject), timedelta(days=1)
        )
        await _record(settings, issued[name], paired.system_auth_id)
    current = as_certificate(proxy, issued["current"])
    assert (await current.data(VIEWER))["viewer"]["id"] == app_id
    await unauthorized(as_certificate(proxy, issued["expired"]), VIEWER, because="expired")


async def test_ca_certificate_itself_is_not_a_client_certificate(proxy, settings):
    await paired_application(proxy)
    authority = CertificateAuthority.load_or_create(settings.data_dir)
    await unauthorized(
        as_certificate(proxy, authority.certificate), VIEWER, because="client authentication"
    )


async def test_server_certificate_is_not_a_client_certificate(proxy, settings):
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    authority = CertificateAuthority.load_or_create(settings.data_dir)
    _key_pem, cert_pem = authority.issue_server_certificate(["localhost"], timedelta(days=1))
    server = x509.load_pem_x509_certificate(cert_pem)
    await _record(settings, server, paired.system_auth_id)
    await unauthorized(as_certificate(proxy, server), VIEWER, because="client authentication")


# What certificate holders may not do with credentials


@pytest.mark.parametrize(
    "mutation",
    [
        "mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) { token } }",
        "mutation($id: ID!) { requestClientCredentialsForApplication(id: $id) { id } }",
    ],
)
async def test_application_cannot_issue_itself_credentials(proxy, mutation):
    app_id, me = await paired_application(proxy)
    assert error_code(await refused(me, mutation, {"id": app_id})) == 26
    auths = (await proxy.data(APP_AUTHS, {"id": app_id}))["application"]["auths"]
    assert len(auths) == 1


async def test_application_cannot_delete_its_system_auths(proxy):
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    me = as_certificate(proxy, paired.certificate)
    error = await refused(me, DELETE_APP_AUTH, {"id": paired.system_auth_id})
    assert error_code(error) == 26
    assert (await me.data(VIEWER))["viewer"]["id"] == app_id


async def test_runtime_cannot_issue_itself_credentials(proxy):
    runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    error = await refused(
        me,
        "mutation($id: ID!) { requestOneTimeTokenForRuntime(id: $id) { token } }",
        {"id": runtime_id},
    )
    assert error_code(error) == 26


async def test_application_registers_its_api_with_its_certificate(proxy):
    app_id, me = await paired_application(proxy)
    other_id = await register_application(proxy, "other")
    bundle = (await me.data(ADD_BUNDLE, {"app": app_id, "name": "orders"}))["addBundle"]
    their_bundle = (await proxy.data(ADD_BUNDLE, {"app": other_id, "name": "theirs"}))["addBundle"]
    add_api = """mutation($bundle: ID!) { addAPIDefinitionToBundle(bundleID: $bundle,
        in: {name: "orders", targetURL: "https://shop.example/api"}) { id name } }"""
    add_event = """mutation($bundle: ID!) { addEventDefinitionToBundle(bundleID: $bundle,
        in: {name: "order.created"}) { id name } }"""
    add_webhook = """mutation($app: ID!) { addWebhook(applicationID: $app,
        in: {type: CONFIGURATION_CHANGED, url: "https://shop.example/hook"}) { id url } }"""
    assert (await me.data(add_api, {"bundle": bundle["id"]}))["addAPIDefinitionToBundle"]
    assert (await me.data(add_event, {"bundle": bundle["id"]}))["addEventDefinitionToBundle"]
    webhook = (await me.data(add_webhook, {"app": app_id}))["addWebhook"]
    assert webhook["url"] == "https://shop.example/hook"
    for mutation in (add_api, add_event):
        error = await refused(me, mutation, {"bundle": their_bundle["id"]})
        assert error_code(error) == 26
    their_webhook = (await proxy.data(add_webhook, {"app": other_id}))["addWebhook"]
    error = await refused(
        me, "mutation($id: ID!) { deleteWebhook(webhookID: $id) { id } }", their_webhook
    )
    assert error_code(error) == 26
    counts = """query($id: ID!) { application(id: $id) { webhooks { id } bundles { data {
        apiDefinitions { totalCount } eventDefinitions { totalCount } } } } }"""
    mine = (await proxy.data(counts, {"id": app_id}))["application"]
    theirs = (await proxy.data(counts, {"id": other_id}))["application"]
    assert mine["bundles"]["data"] == [
        {"apiDefinitions": {"totalCount": 1}, "eventDefinitions": {"totalCount": 1}}
    ]
    assert theirs["bundles"]["data"] == [
        {"apiDefinitions": {"totalCount": 0}, "eventDefinitions": {"totalCount": 0}}
    ]
    assert theirs["webhooks"] == [{"id": their_webhook["id"]}]


async def test_runtime_cannot_register_a_context_on_another_runtime(proxy):
    """It used to be created on the caller, silently."""
    other = await register_runtime(proxy, "other")
    runtime_id, me = await paired_runtime(proxy, "cluster", ["DEFAULT"])
    register = """mutation($rt: ID) { registerRuntimeContext(runtimeID: $rt,
        in: {key: "ns", value: "a"}) { id } }"""
    await unauthorized(me, register, {"rt": other}, because="may not run registerRuntimeContext")
    mine = await me.data(register, {"rt": runtime_id})
    assert mine["registerRuntimeContext"]["id"]
    contexts = await proxy.data("{ runtimeContexts { totalCount } }")
    assert contexts["runtimeContexts"]["totalCount"] == 1


async def test_a_second_certificate_under_a_recorded_serial_is_refused(proxy, settings):
    """Authentication compares the recorded fingerprint, not only the serial."""
    app_id = await register_application(proxy, "shop")
    paired = await pair(proxy, "Application", app_id)
    authority = CertificateAuthority.load_or_create(settings.data_dir)
    now = datetime.now(UTC)
    twin = (
        x509.CertificateBuilder()
        .subject_name(paired.certificate.subject)
        .issuer_name(authority.certificate.subject)
        .public_key(paired.key.public_key())
        .serial_number(paired.certificate.serial_number)
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(authority._key, hashes.SHA256())
    )
    assert twin.fingerprint(hashes.SHA256()) != paired.certificate.fingerprint(hashes.SHA256())
    await unauthorized(as_certificate(proxy, twin), VIEWER, because="not known")
    assert (await as_certificate(proxy, paired.certificate).data(VIEWER))["viewer"]["id"] == app_id
