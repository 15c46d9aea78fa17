"""The one error vocabulary of Compass.

Every failure a client may see is a `CompassError` subclass carrying the
Compass error name and numeric code; the GraphQL layer renders them as
`extensions: {error, error_code}`. Anything else is an internal error: the
client gets a generic message with an error id, the details go to the log.

    CompassError
      InternalError       10
      NotFound            20
      NotUnique           21
      InvalidData         22
      InsufficientScopes  23
      TenantRequired      24
      TenantNotFound      25
      Unauthorized        26
      InvalidOperation    27
"""

from __future__ import annotations

__all__ = [
    "CompassError",
    "InternalError",
    "NotFound",
    "NotUnique",
    "InvalidData",
    "InsufficientScopes",
    "TenantRequired",
    "TenantNotFound",
    "Unauthorized",
    "InvalidOperation",
]


class CompassError(Exception):
    code: int = 10
    name: str = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, object]:
        return {"error": self.name, "error_code": self.code}


class InternalError(CompassError):
    code, name = 10, "InternalError"


class NotFound(CompassError):
    code, name = 20, "NotFound"

    @classmethod
    def of(cls, kind: str, object_id: str) -> NotFound:
        return cls(f"{kind} with ID {object_id!r} not found")


class NotUnique(CompassError):
    code, name = 21, "NotUnique"


class InvalidData(CompassError):
    code, name = 22, "InvalidData"


class InsufficientScopes(CompassError):
    code, name = 23, "InsufficientScopes"


class TenantRequired(CompassError):
    code, name = 24, "TenantRequired"


class TenantNotFound(CompassError):
    code, name = 25, "TenantNotFound"


class Unauthorized(CompassError):
    code, name = 26, "Unauthorized"


class InvalidOperation(CompassError):
    code, name = 27, "InvalidOperation"
