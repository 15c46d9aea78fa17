"""GraphiQL in a real browser with no network but loopback: the page comes
entirely from `compass serve`, takes a header and runs the README's first
mutation. Debian's Chromium, driven by Playwright, with no browser download."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Route,
    WebSocketRoute,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from compass.app import GRAPHQL_PATHS
from compass.graphiql import STATIC_PATH
from tests.e2e.server import AdminClient, Server, mint_token, running_server

CHROMIUM = "/usr/bin/chromium"
README = Path(__file__).resolve().parents[2] / "README.md"
VERSIONS = Path(__file__).resolve().parents[2] / "compass" / "graphiql" / "static" / "VERSIONS"
LOOPBACK_HOSTS = {"127.0.0.1", "::1"}
# Bounded waits, generous so that a loaded machine is slow but not failing.
UI_TIMEOUT_MS = 60_000
EVENT_ATTEMPTS = 20
EVENT_WAIT_MS = 3_000


def readme_first_mutation() -> str:
    """The first GraphQL block of the README that is a mutation."""
    blocks = re.findall(r"^( *)```graphql\n(.*?)^\1```", README.read_text(), re.M | re.S)
    for _indent, block in blocks:
        text = textwrap.dedent(block).strip()
        if text.startswith("mutation"):
            return text
    raise AssertionError(f"no ```graphql block starting with `mutation` in {README}")


class OfflineBrowser:
    """A browser context in which every request not to loopback is refused and noted."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.outside: list[str] = []
        self.page_errors: list[str] = []
        context.route("**/*", self._http)
        context.route_web_socket(re.compile(".*"), self._web_socket)

    def _is_loopback(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname in LOOPBACK_HOSTS

    def _http(self, route: Route) -> None:
        if self._is_loopback(route.request.url):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort("blockedbyclient")

    def _web_socket(self, socket: WebSocketRoute) -> None:
        if self._is_loopback(socket.url):
            socket.connect_to_server()
        else:
            self.outside.append(socket.url)
            socket.close()

    def open(self, url: str) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.page_errors.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.goto(url)
        expect(page.get_by_label("Query Editor")).to_be_visible(timeout=UI_TIMEOUT_MS)
        return page

    def assert_stayed_on_loopback(self) -> None:
        assert self.outside == [], f"requests outside loopback: {self.outside}"
        assert self.page_errors == [], self.page_errors


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("graphiql")
    with running_server(directory / "data", directory / "serve.log") as running:
        yield running


def system_chromium() -> str:
    """Debian's Chromium, installed with apt when missing, as `.ci/run` does."""
    if not os.access(CHROMIUM, os.X_OK):
        if os.geteuid() != 0:
            pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install chromium`")
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "chromium"]
        for command in (["apt-get", "update", "-qq"], install):
            subprocess.run(command, env=environment, check=True, capture_output=True, timeout=900)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=system_chromium(),
            # No update checks, no safe-browsing lists: the browser itself stays quiet.
            args=["--disable-background-networking", "--disable-component-update"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def offline(browser: Browser) -> Iterator[OfflineBrowser]:
    context = browser.new_context()
    watched = OfflineBrowser(context)
    try:
        yield watched
    finally:
        context.close()


def _replace_text(page: Page, editor: Any, text: str) -> None:
    """Types into a CodeMirror editor as a user pasting would (no auto-closed brackets)."""
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def _enter(page: Page, token: str, operation: str, kind: str) -> None:
    """The token in the Headers pane, `operation` (a `kind`) in the query editor."""
    headers = page.locator('section[aria-label="Headers"] .graphiql-editor:not(.hidden)')
    bearer = json.dumps({"Authorization": f"Bearer {token}"})
    _replace_text(page, headers.locator(".CodeMirror"), bearer)
    _replace_text(page, page.get_by_label("Query Editor").locator(".CodeMirror"), operation)
    # GraphiQL parses the query shortly after a change and chooses HTTP or WebSocket
    # from that parse: run only once the parse shows the operation just entered.
    page.wait_for_function(
        "kind => document.querySelector('.graphiql-query-editor .CodeMirror')"
        ".CodeMirror.documentAST?.definitions?.[0]?.operation === kind",
        arg=kind,
        timeout=UI_TIMEOUT_MS,
    )


def _execute(page: Page) -> None:
    page.get_by_label("Execute query (Ctrl-Enter)").click()


def _result(page: Page) -> dict[str, Any]:
    pane = page.get_by_label("Result Window")
    expect(pane).to_contain_text('"data"', timeout=UI_TIMEOUT_MS)
    # CodeMirror draws runs of spaces with no-break spaces.
    return json.loads(pane.locator(".CodeMirror-code").inner_text().replace("\xa0", " "))


def _is_operation(request: Request) -> bool:
    """A POST of an operation entered by the user, not GraphiQL's schema introspection."""
    return request.method == "POST" and "IntrospectionQuery" not in (request.post_data or "")


def test_graphiql_offline_takes_a_header_and_runs_the_readme_mutation(
    server: Server, offline: OfflineBrowser
) -> None:
    token = mint_token(server.data_dir)
    page = offline.open(f"{server.base_url}/graphql")

    _enter(page, token, readme_first_mutation(), "mutation")
    with page.expect_request(_is_operation) as sent:
        _execute(page)
    assert sent.value.headers["authorization"] == f"Bearer {token}"

    shown = _result(page)
    assert "errors" not in shown, shown
    application = shown["data"]["registerApplication"]
    with AdminClient(server.base_url, token) as admin:
        stored = admin.data(
            "query($id: ID!) { application(id: $id) { name status { condition } labels } }",
            {"id": application["id"]},
        )["application"]
    assert stored["name"] == application["name"]
    assert stored["status"]["condition"] == application["status"]["condition"]
    assert stored["labels"] == application["labels"]
    offline.assert_stayed_on_loopback()


def test_graphiql_subscription_shows_an_event(server: Server, offline: OfflineBrowser) -> None:
    """Over a WebSocket to the page's endpoint, authenticated by the Headers pane."""
    token = mint_token(server.data_dir)
    with AdminClient(server.base_url, token) as admin:
        runtime = admin.data('mutation { registerRuntime(in: {name: "graphiql-rt"}) { id } }')
        page = offline.open(f"{server.base_url}/graphql")
        subscription = "subscription($id: ID!) { runtimeConfigurationChanged(runtimeID: $id) "
        _enter(page, token, subscription + "{ type applicationID } }", "subscription")
        page.get_by_role("button", name="Variables").click()
        variables = page.locator(
            'section[aria-label="Variables"] .graphiql-editor:not(.hidden) .CodeMirror'
        )
        _replace_text(page, variables, json.dumps({"id": runtime["registerRuntime"]["id"]}))
        with page.expect_websocket(timeout=UI_TIMEOUT_MS) as opened:
            _execute(page)
        assert urlsplit(opened.value.url).path == "/graphql"
        registered = _change_until_shown(admin, offline, page.get_by_label("Result Window"))
    shown = _result(page)
    assert "errors" not in shown, shown
    assert shown["data"]["runtimeConfigurationChanged"]["applicationID"] in registered
    offline.assert_stayed_on_loopback()


def _change_until_shown(admin: AdminClient, offline: OfflineBrowser, pane: Any) -> list[str]:
    """The protocol does not acknowledge a subscription: make changes until the
    event of one is shown (bounded), and return the applications registered."""
    registered: list[str] = []
    for attempt in range(EVENT_ATTEMPTS):
        assert offline.page_errors == [], offline.page_errors
        application = admin.data(
            "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
            {"in": {"name": f"live-{attempt}", "labels": {"scenarios": ["DEFAULT"]}}},
        )
        registered.append(application["registerApplication"]["id"])
        try:
            expect(pane).to_contain_text("runtimeConfigurationChanged", timeout=EVENT_WAIT_MS)
            return registered
        except AssertionError:
            continue
    raise AssertionError(f"no event shown after {EVENT_ATTEMPTS} changes")


@pytest.mark.parametrize("path", [p for p in GRAPHQL_PATHS if p != "/graphql"])
def test_each_endpoint_page_talks_to_its_own_endpoint(
    server: Server, offline: OfflineBrowser, path: str
) -> None:
    """GraphiQL asks for the schema on load: from the endpoint that served the page."""
    is_post = lambda request: request.method == "POST"  # noqa: E731
    with offline.context.expect_event("request", is_post, timeout=UI_TIMEOUT_MS) as sent:
        offline.open(f"{server.base_url}{path}")
    assert urlsplit(sent.value.url).path == path
    assert "__schema" in (sent.value.post_data or "")
    offline.assert_stayed_on_loopback()


def test_the_guard_refuses_and_notes_a_request_outside_loopback(offline: OfflineBrowser) -> None:
    outside = "http://192.0.2.1/graphiql.min.js"  # TEST-NET-1: never a real host
    page = offline.context.new_page()
    with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_CLIENT"):
        page.goto(outside)
    assert offline.outside == [outside]


def test_every_endpoint_serves_the_page_with_assets_of_the_package(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
        for path in GRAPHQL_PATHS:
            response = client.get(path, headers={"Accept": "text/html"})
            assert response.status_code == 200
            assert "default-src 'self'" in response.headers["content-security-policy"]
            page = response.text
            assert f"<title>Compass GraphiQL: {path}</title>" in page
            assert "//" not in page.replace("<!doctype html>", ""), "no absolute URL in the page"
            assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
            assert len(assets) == 6
            for asset in assets:
                url = urljoin(f"{server.base_url}{path}", asset)
                assert urlsplit(url).path.startswith(f"{STATIC_PATH}/")
                assert client.get(url).status_code == 200, url


def test_static_assets_are_the_pinned_files(server: Server) -> None:
    """Each vendored file is served byte for byte as listed in VERSIONS."""
    pinned = re.findall(r"^  ([0-9a-f]{64})  (\S+)$", VERSIONS.read_text(), re.M)
    assert {name for _digest, name in pinned} == {
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    }
    with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
        for digest, name in pinned:
            served = client.get(f"{STATIC_PATH}/{name}")
            assert served.status_code == 200
            assert hashlib.sha256(served.content).hexdigest() == digest, name
