"""Downloads specifications and documents for fetch requests, outside any transaction.

Reads the request in one short transaction, downloads with a timeout and a
size limit, then stores the outcome in another: the data on its owner and the
status SUCCEEDED, or FAILED with the reason. A remote failure is an outcome,
not an error, so it is not retried; a database failure is (by the outbox).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compass.db import utcnow
from compass.domain.bundle.model import APIDefinitionRow, DocumentRow, EventDefinitionRow
from compass.domain.bundle.repository import ContentRepository, FetchRequestRepository
from compass.domain.bundle.specs import parse_problem

__all__ = ["MAX_FETCH_BYTES", "BoundedBody", "SpecFetcher"]

_OWNERS = (
    ("api_definition_id", APIDefinitionRow),
    ("event_definition_id", EventDefinitionRow),
    ("document_id", DocumentRow),
)


@dataclass(frozen=True)
class _Job:
    url: str
    auth: dict[str, Any] | None
    owner_type: type
    owner_id: str
    spec_format: str | None


MAX_FETCH_BYTES = 5 * 1024 * 1024
# Content-Encodings a fetch accepts, with their zlib window bits.
_INFLATERS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class BoundedBody:
    """A response body that may not exceed `limit` bytes on the wire nor once
    decoded, counted as it streams: a small compressed chunk can inflate a
    thousandfold, so it is inflated at most `limit` bytes at a time."""

    def __init__(self, encoding: str, limit: int) -> None:
        encoding = encoding.strip().lower()
        if encoding not in ("", "identity", *_INFLATERS):
            raise ValueError(f"unsupported Content-Encoding {encoding!r}")
        bits = _INFLATERS.get(encoding)
        self._inflater = zlib.decompressobj(bits) if bits is not None else None
        self._limit = limit
        self._received = 0
        self.data = bytearray()

    def add(self, chunk: bytes) -> bool:
        """False once either count is over the limit."""
        self._received += len(chunk)
        if self._received > self._limit:
            return False
        if self._inflater is None:
            self.data += chunk
            return len(self.data) <= self._limit
        pending = chunk
        while pending:
            room = self._limit - len(self.data) + 1
            self.data += self._inflater.decompress(pending, room)
            if len(self.data) > self._limit:
                return False
            pending = self._inflater.unconsumed_tail
        return True


class SpecFetcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        *,
        max_bytes: int = MAX_FETCH_BYTES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._max_bytes = max_bytes
        self._clock = clock

    async def __call__(self, payload: dict[str, Any]) -> None:
        tenant_id, request_id = payload["tenant_id"], payload["fetch_request_id"]
        job = await self._job(tenant_id, request_id)
        if job is None:
            return  # the owner was deleted meanwhile
        data, problem = await self._download(job)
        if data is not None and job.spec_format is not None:
            problem = parse_problem(job.spec_format, data)
            if problem is not None:
                data, problem = None, f"the fetched specification does not parse: {problem}"
        await self._store(tenant_id, request_id, job, data, problem)

    async def _job(self, tenant_id: str, request_id: str) -> _Job | None:
        async with self._sessions() as session:
            request = await FetchRequestRepository(session, tenant_id).get(request_id)
            if request is None:
                return None
            column, owner_type = next((c, t) for c, t in _OWNERS if getattr(request, c))
            owner_id = getattr(request, column)
            owner = await ContentRepository(session, tenant_id, owner_type).get(owner_id)
            spec_format = getattr(owner, "spec_format", None) if owner else None
            return _Job(request.url, request.auth, owner_type, owner_id, spec_format)

    async def _download(self, job: _Job) -> tuple[str | None, str | None]:
        basic = ((job.auth or {}).get("credential") or {}).get("basic")
        auth = (basic["username"], basic["password"]) if basic else None
        headers = {"Accept-Encoding": ", ".join(_INFLATERS)}
        try:
            async with self._http.stream("GET", job.url, auth=auth, headers=headers) as response:
                if response.status_code >= 400:
                    return None, f"{job.url} answered HTTP {response.status_code}"
                body = BoundedBody(response.headers.get("Content-Encoding", ""), self._max_bytes)
                async for chunk in response.aiter_raw():
                    if not body.add(chunk):
                        return None, f"{job.url} sent more than {self._max_bytes} bytes"
        except httpx.HTTPError as error:
            return None, f"could not fetch {job.url}: {type(error).__name__} {error}".strip()
        except (ValueError, zlib.error):
            return None, f"{job.url} sent a body that does not decode"
        try:
            return body.data.decode("utf-8"), None
        except UnicodeDecodeError:
            return None, f"{job.url} did not send UTF-8 text"

    async def _store(
        self, tenant_id: str, request_id: str, job: _Job, data: str | None, problem: str | None
    ) -> None:
        async with self._sessions() as session:
            request = await FetchRequestRepository(session, tenant_id).get(request_id)
            owners = ContentRepository(session, tenant_id, job.owner_type)
            owner = await owners.get(job.owner_id)
            if request is None or owner is None:
                return
            request.status_condition = "FAILED" if problem else "SUCCEEDED"
            request.status_message = problem
            request.status_timestamp = self._clock()
            if data is not None:
                setattr(owner, "data" if job.owner_type is DocumentRow else "spec_data", data)
            await session.commit()
