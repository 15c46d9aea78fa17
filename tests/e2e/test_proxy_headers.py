"""The trusted-proxy check reads the real transport peer: X-Forwarded-For from
an untrusted address cannot make a forwarded certificate header believed."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.server import running_server

CERT_HEADER = "X-Client-Cert"


def test_forwarded_for_does_not_make_a_peer_a_trusted_proxy(tmp_path: Path) -> None:
    settings = {
        "COMPASS_TRUSTED_PROXY_CERT_HEADER": CERT_HEADER,
        "COMPASS_TRUSTED_PROXIES": "10.9.8.7",
    }
    with running_server(tmp_path / "data", tmp_path / "serve.log", settings) as server:
        response = httpx.post(
            f"{server.base_url}/graphql",
            json={"query": "{ viewer { id } }"},
            headers={CERT_HEADER: "-----BEGIN%20CERTIFICATE-----", "X-Forwarded-For": "10.9.8.7"},
            timeout=10,
        )
    [error] = response.json()["errors"]
    assert error["extensions"]["error_code"] == 26
    assert "only from trusted proxies" in error["message"]
