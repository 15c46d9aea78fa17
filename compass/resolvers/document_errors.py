"""Errors of the request itself (a document that does not parse, fails
validation, or variables that do not fit) carry InvalidData's code like every
other refusal of bad input; strawberry reports them without any."""

from __future__ import annotations

from typing import Any

from compass.errors import InvalidData

__all__ = ["with_document_error_codes"]


def with_document_error_codes(result: Any) -> Any:
    """`result`'s errors without a path (nothing ran) and without a Compass code
    get InvalidData's; the message stays as GraphQL wrote it."""
    for error in getattr(result, "errors", None) or ():
        extensions = error.extensions or {}
        if error.path is None and "error_code" not in extensions:
            error.extensions = {**extensions, **InvalidData(error.message).extensions}
    return result
