"""Shape rules applied when input is converted into commands."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from compass.errors import InvalidData

__all__ = [
    "check_label_key",
    "check_max_length",
    "check_name",
    "check_printable",
    "check_url",
]

_NAME = re.compile(r"[a-z.\-][a-z0-9.\-]*")
_LABEL_KEY = re.compile(r"[A-Za-z0-9_]+")


def check_max_length(field: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidData(f"{field} must be at most {limit} characters long")


def check_name(field: str, value: str) -> None:
    """Up to 36 characters: lower-case letters, digits, '-' and '.', not starting with a digit."""
    if not value or len(value) > 36 or not _NAME.fullmatch(value):
        raise InvalidData(
            f"{field} {value!r} is invalid: up to 36 characters, lower-case letters, digits, "
            "'-' and '.', not starting with a digit"
        )


def check_printable(field: str, value: str, limit: int) -> None:
    """Non-empty printable ASCII of at most `limit` characters."""
    if not value or any(not 32 <= ord(c) < 127 for c in value):
        raise InvalidData(f"{field} must be non-empty printable ASCII")
    check_max_length(field, value, limit)


def check_url(field: str, value: str | None, limit: int = 256) -> None:
    """An absolute http(s) URL with a host, without whitespace or control characters."""
    if value is None:
        return
    check_max_length(field, value, limit)
    invalid = InvalidData(f"{field} {value!r} is not a valid http(s) URL")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise invalid
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise invalid from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid


def check_label_key(key: str, limit: int = 256, field: str = "label key") -> None:
    if not _LABEL_KEY.fullmatch(key or ""):
        raise InvalidData(f"{field} {key!r} is invalid: use letters, digits and underscore")
    check_max_length(field, key, limit)
