"""Logging set-up for the server process.

One-time tokens may travel in the query string (`?token=`, as Compass's
legacy connector URL does); the access log shows such values redacted.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactQuerySecrets", "configure_logging", "redact"]

_SECRET_PARAMETER = re.compile(r"(?i)([?&](?:token|client_secret)=)[^&\s]*")


def redact(text: str) -> str:
    return _SECRET_PARAMETER.sub(r"\1[redacted]", text)


class RedactQuerySecrets(logging.Filter):
    """Rewrites the arguments of uvicorn's access records before they are formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("uvicorn.access").addFilter(RedactQuerySecrets())
