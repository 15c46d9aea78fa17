"""A pairing costs what it must: `configuration` redeems the token and stores a
fresh one, `sign` redeems that one and records the certificate, one commit
each; a signing request refused after its token was redeemed keeps the token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.api.pki_client import csr_for
from tests.api.test_query_count import counting_statements
from tests.api.trust import (
    CONFIGURATION,
    CONNECTOR_PATH,
    SIGN,
    connector,
    one_time_token,
    register_application,
)
from tests.conftest import error_code

# Tables only the background workers (outbox, agent supervisor) write.
BACKGROUND_TABLES = ("outbox", "provisioned_runtimes")


@contextmanager
def counting_commits(app: Any) -> Iterator[list[None]]:
    """Commits of requests: those after a statement of a request on the same
    connection (the background workers commit on the engine too)."""
    commits: list[None] = []
    last_was_request: dict[int, bool] = {}
    engine = app.state.compass.engine.sync_engine

    def executed(connection, _cursor, statement, *_rest) -> None:
        background = any(table in statement for table in BACKGROUND_TABLES)
        last_was_request[id(connection)] = not background

    def committed(connection) -> None:
        if last_was_request.pop(id(connection), False):
            commits.append(None)

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    try:
        yield commits
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", committed)


def _written(statements: list[str]) -> list[str]:
    return [s.split()[0].upper() + " " + _table(s) for s in statements]


def _table(statement: str) -> str:
    words = statement.replace('"', "").split()
    marker = {"UPDATE": 1, "INSERT": 2, "SELECT": None}.get(words[0].upper())
    if marker is None:
        return words[words.index("FROM") + 1] if "FROM" in words else ""
    return words[marker]


async def test_a_pairing_runs_four_statements_and_two_commits(api, app):
    app_id = await register_application(api, "shop")
    token = (await one_time_token(api, "Application", app_id))["token"]
    with counting_statements(app) as statements, counting_commits(app) as commits:
        configured = await connector(api, token).data(CONFIGURATION, path=CONNECTOR_PATH)
        first = list(statements)
        assert len(commits) == 1
        info = configured["configuration"]
        subject = info["certificateSigningRequestInfo"]["subject"]
        signed = await connector(api, info["token"]["token"]).data(
            SIGN, {"csr": csr_for(subject)}, path=CONNECTOR_PATH
        )
    assert signed["signCertificateSigningRequest"]["clientCertificate"]
    assert _written(first) == ["UPDATE one_time_tokens", "INSERT one_time_tokens"]
    assert _written(statements[len(first) :]) == ["UPDATE one_time_tokens", "INSERT certificates"]
    assert len(commits) == 2


async def test_a_refused_request_costs_one_statement_and_keeps_the_token(api, app):
    app_id = await register_application(api, "shop")
    token = (await one_time_token(api, "Application", app_id))["token"]
    configured = await connector(api, token).data(CONFIGURATION, path=CONNECTOR_PATH)
    info = configured["configuration"]
    signer = connector(api, info["token"]["token"])
    with counting_statements(app) as statements, counting_commits(app) as commits:
        body = await signer.post(SIGN, {"csr": csr_for("CN=someone-else")}, path=CONNECTOR_PATH)
    assert error_code(body["errors"][0]) == 22, body
    assert _written(statements) == ["UPDATE one_time_tokens"]
    assert commits == []
    subject = info["certificateSigningRequestInfo"]["subject"]
    signed = await signer.data(SIGN, {"csr": csr_for(subject)}, path=CONNECTOR_PATH)
    assert signed["signCertificateSigningRequest"]["clientCertificate"]
