import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from asgi_correlation_id import correlation_id

from compass.app import create_app
from compass.auth.scopes import ADMIN_SCOPES
from compass.auth.tokens import mint_user_token
from compass.config import DEFAULT_TENANT_ID
from compass.domain.application.service import ApplicationService
from compass.logs import RedactQuerySecrets, configure_logging, redact
from compass.pki.jwt_keys import load_or_create_signing_key
from tests.e2e.server import running_server
from tests.loopback import serving


def test_tokens_in_query_strings_are_redacted():
    assert (
        redact("/connector/graphql?token=abc123&x=1") == "/connector/graphql?token=[redacted]&x=1"
    )
    assert redact("/p?a=1&client_secret=s3cr3t") == "/p?a=1&client_secret=[redacted]"
    assert redact("/graphql?query={x}") == "/graphql?query={x}"


def test_access_records_are_redacted_before_formatting():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/connector/graphql?token=abc123", "1.1", 200),
        None,
    )
    assert RedactQuerySecrets().filter(record)
    assert "abc123" not in record.getMessage()
    assert "token=[redacted]" in record.getMessage()


# JSON lines and request IDs, with the app behind a real uvicorn on loopback.

REQUEST_ID = "req-0042.abc"
SECRET_TOKEN = "tok-5ecret-value"
SECRET_BEARER = "bearer-5ecret-value"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back afterwards."""
    root = logging.getLogger()
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = (root.level, list(root.handlers))
    saved_uvicorn = {
        n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names
    }
    try:
        yield
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for name, (handlers, propagate) in saved_uvicorn.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate


def _json_lines(stream: io.StringIO) -> list[dict]:
    lines = stream.getvalue().splitlines()
    assert lines
    return [json.loads(line) for line in lines]


def test_json_format_gives_one_object_per_record_with_the_traceback_inside(restored_logging):
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    log = logging.getLogger("compass.test")
    log.info("plain %s", "message")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", f"/x?token={SECRET_TOKEN}", "1.1", 200
    )
    plain, failed, access = _json_lines(stream)
    assert plain["message"] == "plain message"
    assert plain["level"] == "info"
    assert plain["logger"] == "compass.test"
    assert plain["timestamp"].endswith("Z")
    assert "request_id" not in plain
    assert failed["level"] == "error"
    assert "ValueError: boom" in failed["exception"]
    assert access["logger"] == "uvicorn.access"
    assert "token=[redacted]" in access["message"]
    assert SECRET_TOKEN not in stream.getvalue()


def test_text_format_names_the_request(restored_logging):
    stream = io.StringIO()
    configure_logging("info", "text", stream)
    token = correlation_id.set(REQUEST_ID)
    try:
        logging.getLogger("compass.test").info("inside")
    finally:
        correlation_id.reset(token)
    logging.getLogger("compass.test").info("outside")
    inside, outside = stream.getvalue().splitlines()
    assert inside.endswith(f"INFO compass.test [{REQUEST_ID}]: inside")
    assert outside.endswith("INFO compass.test: outside")


def test_credentials_in_messages_are_redacted():
    assert redact(f"Authorization: Bearer {SECRET_BEARER}") == "Authorization: Bearer [redacted]"
    assert redact("basic dXNlcjpwYXNz and more") == "basic [redacted] and more"


async def test_request_id_is_in_the_response_every_line_and_the_internal_error(
    settings, restored_logging, monkeypatch
):
    async def explode(self, *args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(ApplicationService, "list", explode)
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    key = load_or_create_signing_key(settings.jwt_key_path())
    bearer = mint_user_token(
        key,
        subject="tester",
        tenant=DEFAULT_TENANT_ID,
        scopes=list(ADMIN_SCOPES),
        lifetime=timedelta(hours=1),
    )
    query = {"query": "{ applications { totalCount } }"}
    with serving(create_app(settings), access_log=True) as base_url:
        async with httpx.AsyncClient() as client:
            given = await client.post(
                f"{base_url}/graphql?token={SECRET_TOKEN}",
                json=query,
                headers={"Authorization": f"Bearer {bearer}", "X-Request-ID": REQUEST_ID},
            )
            generated = await client.post(
                f"{base_url}/graphql", json=query, headers={"Authorization": f"Bearer {bearer}"}
            )
            forged = await client.get(
                f"{base_url}/healthz", headers={"X-Request-ID": 'forged id" level=error'}
            )
            refused = await client.post(
                f"{base_url}/graphql",
                json=query,
                headers={"Authorization": f"Bearer {SECRET_BEARER}"},
            )

    assert given.headers["X-Request-ID"] == REQUEST_ID
    message = given.json()["errors"][0]["message"]
    assert message == f"internal error (request {REQUEST_ID})"
    new_id = generated.headers["X-Request-ID"]
    assert UUID.fullmatch(new_id)
    assert generated.json()["errors"][0]["message"] == f"internal error (request {new_id})"
    assert UUID.fullmatch(forged.headers["X-Request-ID"])
    assert refused.status_code == 200

    lines = _json_lines(stream)
    for request_id in (REQUEST_ID, new_id):
        mine = [line for line in lines if line.get("request_id") == request_id]
        loggers = {line["logger"] for line in mine}
        assert {"compass.errors", "uvicorn.access"} <= loggers, mine
        (error,) = [line for line in mine if line["logger"] == "compass.errors"]
        assert "secret detail" in error["exception"]
        (access,) = [line for line in mine if line["logger"] == "uvicorn.access"]
        assert "POST /graphql" in access["message"]
    output = stream.getvalue()
    assert "token=[redacted]" in output
    for secret in (SECRET_TOKEN, SECRET_BEARER, bearer):
        assert secret not in output


def test_compass_serve_writes_only_json_lines(tmp_path):
    settings = {"COMPASS_LOG_FORMAT": "json"}
    with running_server(tmp_path / "data", tmp_path / "serve.log", settings) as server:
        response = httpx.get(
            f"{server.base_url}/healthz?token={SECRET_TOKEN}",
            headers={"X-Request-ID": REQUEST_ID},
            timeout=10,
        )
        assert response.headers["X-Request-ID"] == REQUEST_ID
    lines = [json.loads(line) for line in server.output().splitlines()]
    assert {"uvicorn.error", "uvicorn.access"} <= {line["logger"] for line in lines}
    (access,) = [line for line in lines if line.get("request_id") == REQUEST_ID]
    assert access["logger"] == "uvicorn.access"
    assert "GET /healthz?token=[redacted]" in access["message"]
    assert SECRET_TOKEN not in server.output()
