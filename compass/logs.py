"""Logging set-up for the server process, and the request ID of each request.

Every record, ours and uvicorn's (server and access log), goes through one
handler on the root logger: as text, or with `log_format=json` as one JSON
object per line (structlog's ProcessorFormatter over the standard library).
Records written while a request runs carry its request ID: the `X-Request-ID`
it came with (when that is a plain token of at most REQUEST_ID_LIMIT
characters) or a new UUID, sent back in the response's `X-Request-ID`.

One-time tokens may travel in the query string (`?token=`, as Compass's
legacy connector URL does) and credentials in headers; log lines show such
values redacted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import IO, Any

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from starlette.middleware import Middleware

__all__ = [
    "REQUEST_ID_HEADER",
    "RedactQuerySecrets",
    "configure_logging",
    "current_request_id",
    "redact",
    "request_id_middleware",
]

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_LIMIT = 128
_HANDLER_NAME = "compass"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s"
# A client's own ID is taken only when it cannot forge log lines or fields.
_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:;=/+-]{{1,{REQUEST_ID_LIMIT}}}")
_SECRET_PARAMETER = re.compile(r"(?i)([?&](?:token|client_secret)=)[^&\s\"]*")
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    text = _SECRET_PARAMETER.sub(r"\1[redacted]", text)
    return _CREDENTIAL.sub(r"\1 [redacted]", text)


def current_request_id() -> str | None:
    """The ID of the request being handled, None outside of one."""
    return correlation_id.get()


def request_id_middleware() -> Middleware:
    return Middleware(
        CorrelationIdMiddleware,
        header_name=REQUEST_ID_HEADER,
        generator=lambda: str(uuid.uuid4()),
        validator=_REQUEST_ID.fullmatch,
    )


class RedactQuerySecrets(logging.Filter):
    """Formats a record's message once and redacts it, before any handler
    formats it: uvicorn's access records carry the path among the arguments,
    httpx's the URL as an object."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad arguments: the handler reports those
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class CutOffAtShutdown(logging.Filter):
    """A request still open when the graceful shutdown ends is cancelled, and
    uvicorn reports that as an application error with a traceback: one line says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            record.msg, record.args = "a request was cut off at shutdown", None
            record.exc_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class _RequestIdText(logging.Filter):
    """`%(request)s` of the text format: ` [<request id>]` during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        record.request = f" [{request_id}]" if request_id else ""
        return True


def _add_request_id(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    request_id = current_request_id()
    if request_id:
        event["request_id"] = request_id
    return event


def _json_formatter() -> logging.Formatter:
    import structlog  # here: it loads rich and pygments, which text logs never need

    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _add_request_id,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(),
        ],
    )


def configure_logging(level: str, log_format: str = "text", stream: IO[str] | None = None) -> None:
    """One handler (on stderr by default) for every logger: uvicorn's loggers
    propagate to it. Calling again replaces the handler of the previous call."""
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactQuerySecrets())
    handler.addFilter(CutOffAtShutdown())
    if log_format == "json":
        handler.setFormatter(_json_formatter())
    else:
        handler.addFilter(_RequestIdText())
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
