"""The one error presenter: Compass errors keep their name and code, anything
unexpected becomes InternalError with an id that is logged with the details."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from compass.errors import CompassError, InternalError

__all__ = ["ErrorPresenter", "present_error"]

log = logging.getLogger("compass.errors")


def present_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error
    if isinstance(original, CompassError):
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            path=error.path,
            original_error=original,
            extensions=original.extensions,
        )
    error_id = str(uuid.uuid4())
    log.error("internal error %s at %s", error_id, error.path, exc_info=original)
    internal = InternalError(f"internal error (id {error_id})")
    return GraphQLError(
        internal.message,
        nodes=error.nodes,
        path=error.path,
        original_error=internal,
        extensions=internal.extensions,
    )


class ErrorPresenter(SchemaExtension):
    def on_operation(self) -> Any:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = [present_error(e) for e in result.errors]
