"""GraphiQL from the package itself, for management planes in closed networks.

The page and its assets (GraphiQL, React: pinned versions, listed with their
licences in `static/VERSIONS`) are package data served under `STATIC_PATH`;
the page makes no request outside the server that sent it. The same page is
served at every GraphQL endpoint and talks to the endpoint it was loaded from.
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from string import Template

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["STATIC_PATH", "graphiql_page", "page_html", "static_files"]

STATIC_PATH = "/graphiql/static"

# The browser may load scripts, styles and data only from this server; the
# inline fonts and icons of GraphiQL's stylesheet are data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@functools.cache
def _template() -> Template:
    return Template(resources.files(__name__).joinpath("page.html").read_text("utf-8"))


def _static_base(route_path: str) -> str:
    """The assets' path relative to the page, so that the page also works when
    a reverse proxy publishes the server under a path prefix."""
    return "../" * (route_path.count("/") - 1) + STATIC_PATH.lstrip("/")


def page_html(route_path: str) -> str:
    """The page for the GraphQL endpoint at `route_path` (e.g. `/director/graphql`)."""
    return _template().substitute(
        endpoint=html.escape(route_path), static=html.escape(_static_base(route_path))
    )


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def graphiql_page(scope: Scope) -> HTMLResponse:
    """The page as an HTTP response for the request in `scope`."""
    return HTMLResponse(
        page_html(_route_path(scope)),
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


def static_files() -> StaticFiles:
    """The assets, read from the installed package (wheel or source tree)."""
    return StaticFiles(packages=[(__name__, "static")])
