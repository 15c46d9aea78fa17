"""The one error presenter: Compass errors keep their name and code, anything
unexpected becomes InternalError naming the request's ID (X-Request-ID), which
is logged with the details.
Refusals of the query limits become InvalidData naming the limit's setting, and
no message echoes a long input value whole."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from graphql import GraphQLError

from compass.errors import CompassError, InternalError, InvalidData
from compass.logs import current_request_id

__all__ = ["cut_message", "present_error", "present_errors"]

log = logging.getLogger("compass.errors")

# What strawberry's limiters say, and the setting behind each.
_LIMIT_REFUSALS = (
    (re.compile(r"exceeds maximum operation depth of \d+"), "max_query_depth"),
    (re.compile(r"\d+ aliases found\. Allowed: \d+"), "max_query_aliases"),
    (re.compile(r"Document contains more than \d+ tokens"), "max_query_tokens"),
)
ECHO_LIMIT = 200
MESSAGE_LIMIT = 1000
_QUOTED = re.compile(f"'[^']{{{ECHO_LIMIT},}}'|\"[^\"]{{{ECHO_LIMIT},}}\"")


def cut_message(message: str) -> str:
    """Quoted values longer than ECHO_LIMIT are cut, and the whole message too."""
    message = _QUOTED.sub(lambda m: m.group()[: ECHO_LIMIT + 1] + "..." + m.group()[0], message)
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT] + "..."


def _limit_refusal(error: GraphQLError) -> GraphQLError | None:
    for pattern, setting in _LIMIT_REFUSALS:
        found = pattern.search(error.message)
        if found:
            refusal = InvalidData(f"the query is refused: {found.group()} ({setting})")
            return GraphQLError(
                refusal.message,
                nodes=error.nodes,
                original_error=refusal,
                extensions=refusal.extensions,
            )
    return None


def present_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        refusal = _limit_refusal(error) if original is None else None
        if refusal is not None:
            return refusal
        if len(error.message) > ECHO_LIMIT:
            error.message = cut_message(error.message)
        return error
    if isinstance(original, CompassError):
        return GraphQLError(
            cut_message(original.message),
            nodes=error.nodes,
            path=error.path,
            original_error=original,
            extensions=original.extensions,
        )
    if error.path is None and isinstance(original, (ValueError, TypeError)):
        # Raised while validating the document (a literal the scalar cannot take).
        refusal = InvalidData(cut_message(error.message))
        return GraphQLError(
            refusal.message,
            nodes=error.nodes,
            original_error=refusal,
            extensions=refusal.extensions,
        )
    # Outside of an HTTP request (a direct schema call) an ID of its own.
    request_id = current_request_id() or str(uuid.uuid4())
    log.error("internal error (request %s) at %s", request_id, error.path, exc_info=original)
    internal = InternalError(f"internal error (request {request_id})")
    return GraphQLError(
        internal.message,
        nodes=error.nodes,
        path=error.path,
        original_error=internal,
        extensions=internal.extensions,
    )


def present_errors(result: Any) -> None:
    """`result`'s errors as clients get them (see `present_error`)."""
    if result is not None and getattr(result, "errors", None):
        result.errors = [present_error(e) for e in result.errors]
