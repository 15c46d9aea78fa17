"""The egress policy: which addresses outgoing requests may reach, checked after
name resolution and on every redirect hop, with the connection pinned to the
address that was checked. Real servers on 127.0.0.1; no other network."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest

from compass.egress import EgressPolicy, EgressRefused, PolicyTransport, create_http_client
from tests.api.spec_server import running_spec_server
from tests.api.trust import compass_api
from tests.notifications.receiver import HOOK, running_receiver

LOOPBACK = ["127.0.0.1/32"]


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


class FakeNames(EgressPolicy):
    """Resolves the names it is given, like a DNS answer would."""

    def __init__(self, names: dict[str, str], allowed: list[str]) -> None:
        super().__init__(allowed)
        self.names = names
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> str:
        self.asked.append(host)
        return await super().resolve(self.names.get(host, host), port)


def client_with(policy: EgressPolicy) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=PolicyTransport(policy), follow_redirects=True, timeout=5)


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",  # cloud metadata
        "127.0.0.1",
        "127.8.9.10",
        "0.0.0.0",
        "100.64.0.1",  # shared address space
        "224.0.0.251",  # multicast
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "fe80::1",
        "fd00::1",
        "ff02::1",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(address):
    assert EgressPolicy().permits(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_permitted(address):
    assert EgressPolicy().permits(ipaddress.ip_address(address)) is True


def test_allowed_networks_open_exactly_their_ranges():
    policy = EgressPolicy(["127.0.0.1/32", "10.0.0.0/8"])
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert policy.permits(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert policy.permits(ipaddress.ip_address("10.200.0.1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.2"))
    assert not policy.permits(ipaddress.ip_address("192.168.0.1"))
    assert not policy.permits(ipaddress.ip_address("::1"))


async def test_a_name_resolving_to_loopback_is_refused():
    with pytest.raises(EgressRefused, match="127.0.0.1"):
        await EgressPolicy().resolve("localhost", 80)


async def test_loopback_is_refused_without_the_setting_and_reached_with_it(receiver):
    async with create_http_client([], timeout=5) as client:
        with pytest.raises(EgressRefused):
            await client.post(receiver.url(), content=b"{}")
    assert receiver.requests == []
    async with create_http_client(LOOPBACK, timeout=5) as client:
        assert (await client.post(receiver.url(), content=b"{}")).status_code == 204
    assert [r.path for r in receiver.requests] == [HOOK]


@pytest.mark.parametrize(
    "target", ["http://127.0.0.2:{port}/hook", "http://169.254.169.254/latest/meta-data/"]
)
async def test_redirect_from_an_allowed_host_to_a_refused_address_is_refused(receiver, target):
    receiver.redirects["/moved"] = target.format(port=receiver.port)
    async with create_http_client(LOOPBACK, timeout=5) as client:
        with pytest.raises(EgressRefused):
            await client.get(receiver.url("/moved"))
    assert [r.path for r in receiver.requests] == ["/moved"]


async def test_redirect_to_an_allowed_address_is_followed(receiver):
    receiver.redirects["/moved"] = receiver.url(HOOK)
    async with create_http_client(LOOPBACK, timeout=5) as client:
        response = await client.get(receiver.url("/moved"))
    assert response.status_code == 204
    assert [r.path for r in receiver.requests] == ["/moved", HOOK]


async def test_connection_goes_to_the_checked_address_under_the_url_host(receiver):
    policy = FakeNames({"hooks.test": "127.0.0.1"}, LOOPBACK)
    async with client_with(policy) as client:
        response = await client.post(f"http://hooks.test:{receiver.port}{HOOK}", content=b"{}")
    assert response.status_code == 204
    assert receiver.requests[0].headers["host"] == f"hooks.test:{receiver.port}"
    assert policy.asked == ["hooks.test"]


async def test_relative_redirect_stays_on_the_url_host(receiver):
    receiver.redirects["/moved"] = HOOK
    policy = FakeNames({"hooks.test": "127.0.0.1"}, LOOPBACK)
    async with client_with(policy) as client:
        response = await client.get(f"http://hooks.test:{receiver.port}/moved")
    assert response.status_code == 204
    assert str(response.url) == f"http://hooks.test:{receiver.port}{HOOK}"
    assert policy.asked == ["hooks.test", "hooks.test"]  # each hop checked again
    assert {r.headers["host"] for r in receiver.requests} == {f"hooks.test:{receiver.port}"}


async def test_credentials_are_not_sent_to_another_host_after_a_redirect(receiver):
    # The other host is the same address, under another name: still another origin.
    receiver.redirects["/moved"] = f"http://127.0.0.1:{receiver.port}{HOOK}"
    policy = FakeNames({"hooks.test": "127.0.0.1"}, LOOPBACK)
    async with client_with(policy) as client:
        response = await client.get(f"http://hooks.test:{receiver.port}/moved", auth=("u", "p"))
    assert response.status_code == 204
    moved, hook = receiver.requests
    assert "authorization" in moved.headers
    assert "authorization" not in hook.headers


async def test_spec_fetch_to_loopback_fails_when_no_network_is_allowed(settings):
    with running_spec_server() as server:
        async with compass_api(settings, egress_allowed_networks=[]) as api:
            data = await api.data(
                'mutation { registerApplication(in: {name: "shop", bundles: [{name: "b"}]}) '
                "{ bundles { data { id } } } }"
            )
            bundle_id = data["registerApplication"]["bundles"]["data"][0]["id"]
            spec = {"type": "OPEN_API", "format": "YAML"}
            spec["fetchRequest"] = {"url": server.url("/orders.yaml")}
            added = await api.data(
                """mutation($b: ID!, $in: APIDefinitionInput!) {
                  addAPIDefinitionToBundle(bundleID: $b, in: $in) { id } }""",
                {
                    "b": bundle_id,
                    "in": {"name": "orders", "targetURL": "https://x.example", "spec": spec},
                },
            )
            api_id = added["addAPIDefinitionToBundle"]["id"]
            status = await _settled(api, api_id)
        assert status["condition"] == "FAILED"
        assert "127.0.0.1" in status["message"] and "EgressRefused" in status["message"]
        assert server.requests == []


async def _settled(api, api_id: str) -> dict:
    query = """{ applications { data { bundles { data {
      apiDefinitions { data { id spec { fetchRequest { status { condition message } } } } }
    } } } } }"""
    for _ in range(200):
        data = await api.data(query)
        [application] = data["applications"]["data"]
        [bundle] = application["bundles"]["data"]
        [definition] = bundle["apiDefinitions"]["data"]
        assert definition["id"] == api_id
        status = definition["spec"]["fetchRequest"]["status"]
        if status["condition"] != "INITIAL":
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"fetch request still INITIAL: {status}")
