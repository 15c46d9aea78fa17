import base64
import json
from datetime import UTC, datetime, timedelta

import graphql
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from compass.auth.consumers import CONNECTOR_OPERATIONS
from compass.auth.scopes import ADMIN_SCOPES, REQUIRED_SCOPES
from compass.auth.tokens import mint_user_token
from compass.config import DEFAULT_TENANT_ID, LOCAL_TOKEN_ISSUER
from compass.pki.jwt_keys import load_or_create_signing_key
from compass.resolvers.schema import build_schema
from tests.api.tenancy import create_tenant
from tests.conftest import error_code

APPLICATIONS = "{ applications { totalCount data { name } } }"
REGISTER_APPLICATION = 'mutation { registerApplication(in: {name: "app"}) { id } }'
VIEWER = "{ viewer { id type } }"
TENANTS = "{ tenants { id } }"


async def post_with_authorization(api, authorization: str, query: str = APPLICATIONS) -> dict:
    response = await api.client.post(
        "/graphql", json={"query": query}, headers={"Authorization": authorization}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


async def test_missing_authorization_header_is_unauthorized(api):
    error = await api.error(APPLICATIONS, token="")
    assert error_code(error) == 26
    assert error["extensions"]["error"] == "Unauthorized"


async def test_viewer_also_needs_credentials(api):
    error = await api.error(VIEWER, token="")
    assert error_code(error) == 26


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc", "garbage"],
)
async def test_malformed_or_wrong_scheme_header_is_unauthorized(api, authorization):
    error = await post_with_authorization(api, authorization)
    assert error_code(error) == 26


async def test_bearer_scheme_is_case_insensitive(api):
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"bearer {api.token}"}
    )
    assert response.json() == {"data": {"viewer": {"id": "tester", "type": "USER"}}}


async def test_token_signed_by_another_key_is_unauthorized(api):
    now = datetime.now(UTC)
    foreign = jwt.encode(
        {
            "iss": LOCAL_TOKEN_ISSUER,
            "sub": "mallory",
            "tenant": DEFAULT_TENANT_ID,
            "scopes": " ".join(ADMIN_SCOPES),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
        },
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
    )
    error = await api.error(APPLICATIONS, token=foreign)
    assert error_code(error) == 26


async def test_token_minted_with_another_key_by_the_server_code_is_unauthorized(api):
    foreign = mint_user_token(
        Ed25519PrivateKey.generate(),
        subject="mallory",
        tenant=DEFAULT_TENANT_ID,
        scopes=list(ADMIN_SCOPES),
        lifetime=timedelta(hours=1),
    )
    error = await api.error(VIEWER, token=foreign)
    assert error_code(error) == 26


async def test_unsigned_token_is_unauthorized(api):
    unsigned = jwt.encode(
        {"iss": LOCAL_TOKEN_ISSUER, "sub": "mallory", "scopes": " ".join(ADMIN_SCOPES)},
        None,
        algorithm="none",
    )
    error = await api.error(APPLICATIONS, token=unsigned)
    assert error_code(error) == 26


async def test_expired_token_is_unauthorized(api):
    expired = api.mint(lifetime=timedelta(minutes=-5))
    error = await api.error(APPLICATIONS, token=expired)
    assert error_code(error) == 26


async def test_tampered_token_is_unauthorized(api):
    header, _payload, signature = api.token.split(".")
    claims = jwt.decode(api.token, options={"verify_signature": False})
    claims["sub"] = "admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    error = await api.error(VIEWER, token=f"{header}.{forged_payload}.{signature}")
    assert error_code(error) == 26


SCOPE_CASES = [
    ("{ applications { totalCount } }", "application:read"),
    (REGISTER_APPLICATION, "application:write"),
    ("{ runtimes { totalCount } }", "runtime:read"),
    ('mutation { registerRuntime(in: {name: "rt"}) { id } }', "runtime:write"),
    ("{ runtimeContexts { totalCount } }", "runtime:read"),
    (
        'mutation { registerRuntimeContext(in: {key: "k", value: "v"}, runtimeID: "x") { id } }',
        "runtime:write",
    ),
    ("{ labelDefinitions { key } }", "label_definition:read"),
    ('mutation { createLabelDefinition(in: {key: "size"}) { key } }', "label_definition:write"),
    ("{ tenants { id } }", "tenant:read"),
    ("{ healthChecks { totalCount } }", "health_checks:read"),
]


@pytest.mark.parametrize(("query", "scope"), SCOPE_CASES)
async def test_missing_scope_is_insufficient_scopes(api, query, scope):
    token = api.mint(scopes=[s for s in ADMIN_SCOPES if s != scope])
    error = await api.error(query, token=token)
    assert error_code(error) == 23
    assert error["extensions"]["error"] == "InsufficientScopes"
    assert scope in error["message"]


@pytest.mark.parametrize(("query", "scope"), SCOPE_CASES[:4] + SCOPE_CASES[6:])
async def test_the_required_scope_alone_is_enough(api, query, scope):
    body = await api.post(query, token=api.mint(scopes=[scope]))
    assert "errors" not in body, body


async def test_refused_mutation_writes_nothing(api):
    token = api.mint(scopes=["application:read"])
    error = await api.error(REGISTER_APPLICATION, token=token)
    assert error_code(error) == 23
    data = await api.data(APPLICATIONS)
    assert data["applications"]["totalCount"] == 0


async def test_viewer_needs_no_scopes(api):
    token = api.mint(scopes=[], subject="alice@example.com")
    data = await api.data(VIEWER, token=token)
    assert data["viewer"] == {"id": "alice@example.com", "type": "USER"}


def test_every_root_field_has_required_scopes_or_checks_its_own_credential():
    schema = graphql.build_schema(build_schema().as_str())
    roots = {
        "Query": schema.query_type,
        "Mutation": schema.mutation_type,
        "Subscription": schema.subscription_type,
    }
    for root, graphql_type in roots.items():
        own_credential = {name for kind, name in CONNECTOR_OPERATIONS if kind == root}
        assert not own_credential & set(REQUIRED_SCOPES[root])
        missing = set(graphql_type.fields) - set(REQUIRED_SCOPES[root]) - own_credential
        assert not missing, f"{root} fields without required scopes: {sorted(missing)}"


def test_required_scopes_name_only_existing_root_fields():
    schema = graphql.build_schema(build_schema().as_str())
    roots = {
        "Query": schema.query_type,
        "Mutation": schema.mutation_type,
        "Subscription": schema.subscription_type,
    }
    assert set(REQUIRED_SCOPES) == set(roots)
    for root, fields in REQUIRED_SCOPES.items():
        stale = set(fields) - set(roots[root].fields)
        assert not stale, f"{root} scope entries for unknown fields: {sorted(stale)}"


async def test_tenant_header_by_internal_id(api):
    tenant = await create_tenant(api.settings, "acme", "acme-external")
    token = api.mint(tenant=None)
    await api.data(REGISTER_APPLICATION, token=token, tenant=tenant.id)
    data = await api.data(APPLICATIONS, token=token, tenant=tenant.id)
    assert data["applications"]["data"] == [{"name": "app"}]


async def test_tenant_header_by_external_id(api):
    tenant = await create_tenant(api.settings, "acme", "acme-external")
    token = api.mint(tenant=None)
    await api.data(REGISTER_APPLICATION, token=token, tenant=tenant.id)
    data = await api.data(APPLICATIONS, token=token, tenant="acme-external")
    assert data["applications"]["data"] == [{"name": "app"}]
    default = await api.data(APPLICATIONS, token=token, tenant=DEFAULT_TENANT_ID)
    assert default["applications"]["totalCount"] == 0


async def test_token_tenant_is_used_without_header(api):
    tenant = await create_tenant(api.settings, "acme", "acme-external")
    await api.data(REGISTER_APPLICATION, token=api.mint(tenant="acme-external"))
    data = await api.data(APPLICATIONS, token=api.mint(tenant=tenant.id))
    assert data["applications"]["totalCount"] == 1


async def test_header_may_name_the_token_tenant_by_its_other_id(api):
    tenant = await create_tenant(api.settings, "acme", "acme-external")
    token = api.mint(tenant=tenant.id)
    data = await api.data(APPLICATIONS, token=token, tenant="acme-external")
    assert data["applications"]["totalCount"] == 0


async def test_unknown_tenant_in_header_is_tenant_not_found(api):
    error = await api.error(APPLICATIONS, token=api.mint(tenant=None), tenant="no-such-tenant")
    assert error_code(error) == 25
    assert error["extensions"]["error"] == "TenantNotFound"


async def test_unknown_tenant_in_token_is_tenant_not_found(api):
    error = await api.error(APPLICATIONS, token=api.mint(tenant="no-such-tenant"))
    assert error_code(error) == 25


async def test_no_tenant_anywhere_is_tenant_required(api):
    error = await api.error(APPLICATIONS, token=api.mint(tenant=None))
    assert error_code(error) == 24
    assert error["extensions"]["error"] == "TenantRequired"


async def test_mutation_without_tenant_is_tenant_required(api):
    error = await api.error(REGISTER_APPLICATION, token=api.mint(tenant=None))
    assert error_code(error) == 24


async def test_viewer_and_tenants_work_without_tenant(api):
    token = api.mint(tenant=None)
    data = await api.data("{ viewer { id type } tenants { id } }", token=token)
    assert data["viewer"] == {"id": "tester", "type": "USER"}
    assert {"id": DEFAULT_TENANT_ID} in data["tenants"]


async def test_token_bound_to_one_tenant_cannot_name_another(api):
    other = await create_tenant(api.settings, "other", "other-external")
    token = api.mint(tenant=DEFAULT_TENANT_ID)
    for reference in (other.id, "other-external"):
        error = await api.error(APPLICATIONS, token=token, tenant=reference)
        assert error_code(error) == 26


async def test_token_bound_to_one_tenant_cannot_write_to_another(api):
    other = await create_tenant(api.settings, "other", "other-external")
    error = await api.error(REGISTER_APPLICATION, tenant=other.id)
    assert error_code(error) == 26
    data = await api.data(APPLICATIONS, token=api.mint(tenant=other.id))
    assert data["applications"]["totalCount"] == 0


@pytest.mark.parametrize("claim", ["", False, 0, " "])
async def test_a_token_with_an_empty_tenant_claim_is_not_unbound(api, claim):
    """Only a token without the claim may choose its tenant."""
    key = load_or_create_signing_key(api.settings.jwt_key_path())
    now = datetime.now(UTC)
    token = jwt.encode(
        {
            "iss": LOCAL_TOKEN_ISSUER,
            "sub": "mallory",
            "tenant": claim,
            "scopes": "application:read",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
        },
        key,
        algorithm="EdDSA",
    )
    body = await api.post(APPLICATIONS, token=token, tenant=DEFAULT_TENANT_ID)
    assert error_code(body["errors"][0]) == 26
