"""Delivers configuration events to application webhooks, at least once.

One outbox row per attempt: the handler posts the event, records the attempt
and, on failure, schedules the next one (capped exponential backoff with full
jitter) in the same short transaction, until the delivery window ends and
the delivery is FAILED. The outbox claim lets one server process make each
attempt. A crash after the POST and before the record repeats the attempt,
under the same `webhook-id`, which receivers deduplicate by.

Requests are signed as Standard Webhooks says (`webhook-id`,
`webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over
"id.timestamp.body" with the webhook's secret), and carry the webhook's
`auth`: basic credentials, or an OAuth client-credentials token fetched
from the given URL and cached until shortly before it expires.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook as SignatureScheme

from compass import metrics
from compass.db import utcnow
from compass.domain.application.model import WebhookRow
from compass.notifications.events import DELIVERY_KIND
from compass.notifications.model import WebhookAttemptRow, WebhookDeliveryRow
from compass.notifications.outbox import enqueue
from compass.pki.secret_box import SecretBox

__all__ = ["DELIVERED", "FAILED", "PENDING", "WebhookDeliverer", "signed_headers"]

log = logging.getLogger("compass.webhooks")

PENDING, DELIVERED, FAILED = "PENDING", "SUCCEEDED", "FAILED"
FIRST_RETRY = timedelta(seconds=2)
MAX_RETRY = timedelta(minutes=10)
_ERROR_LIMIT = 500
_TOKEN_MARGIN = 30.0


def signed_headers(secret: str, message_id: str, when: datetime, body: str) -> dict[str, str]:
    signature = SignatureScheme(secret).sign(message_id, when, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def retry_delay(attempts: int) -> timedelta:
    """Full jitter over a capped exponential: spreads a burst of failures."""
    ceiling = min(MAX_RETRY, FIRST_RETRY * 2 ** max(attempts - 1, 0))
    return ceiling * random.uniform(0.5, 1.0)


class _TokenCache:
    """OAuth client-credentials tokens for webhooks, per token URL and client."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    async def token(self, oauth: dict[str, Any]) -> str:
        key = (oauth["url"], oauth["clientId"])
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        response = await self._http.post(
            oauth["url"],
            data={"grant_type": "client_credentials"},
            auth=(oauth["clientId"], oauth["clientSecret"]),
        )
        if response.status_code != 200:
            raise httpx.HTTPStatusError(
                f"the OAuth token URL answered HTTP {response.status_code}",
                request=response.request,
                response=response,
            )
        try:
            answer = response.json()
            token = str(answer["access_token"])
            lifetime = float(answer.get("expires_in") or 300)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # An attempt that failed, like an unreachable token URL; not a crash of the handler.
            raise httpx.DecodingError(
                "the OAuth token URL answered without an access_token", request=response.request
            ) from error
        self._tokens[key] = (token, time.monotonic() + lifetime - _TOKEN_MARGIN)
        return token


class WebhookDeliverer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        box: SecretBox,
        *,
        window: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._box = box
        self._window = window
        self._clock = clock
        self._tokens = _TokenCache(http)

    async def __call__(self, payload: dict[str, Any]) -> None:
        async with self._sessions() as session:
            delivery = await session.get(WebhookDeliveryRow, payload["delivery_id"])
            webhook = (
                None if delivery is None else await session.get(WebhookRow, delivery.webhook_id)
            )
        if delivery is None or webhook is None or delivery.status != PENDING:
            return  # delivered, failed or deleted meanwhile
        started = time.monotonic()
        status, error = await self._post(delivery, webhook)
        duration_ms = int((time.monotonic() - started) * 1000)
        await self._record(delivery, status, error, duration_ms)

    async def _post(
        self, delivery: WebhookDeliveryRow, webhook: WebhookRow
    ) -> tuple[int | None, str | None]:
        body = json.dumps(delivery.event, separators=(",", ":"), sort_keys=True)
        headers = httpx.Headers()  # names case-insensitive: later values replace earlier
        try:
            auth = await self._auth(webhook.auth, headers)
            # After the webhook's own headers, so that they cannot replace these.
            headers.update({"Content-Type": "application/json", "User-Agent": "compass-webhooks"})
            secret = self._box.open(webhook.signing_secret)
            if secret is not None:
                headers.update(signed_headers(secret, delivery.id, self._clock(), body))
            response = await self._http.post(
                webhook.url, content=body, headers=headers, auth=auth, follow_redirects=False
            )
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:_ERROR_LIMIT]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"the receiver answered HTTP {response.status_code}"

    async def _auth(
        self, auth: dict[str, Any] | None, headers: httpx.Headers
    ) -> tuple[str, str] | None:
        credential = (auth or {}).get("credential") or {}
        for name, values in ((auth or {}).get("additionalHeaders") or {}).items():
            # HttpHeaders: a name to a list of values; one header carries them all.
            listed = values if isinstance(values, list) else [values]
            headers[name] = ", ".join(str(value) for value in listed)
        if "basic" in credential:
            return credential["basic"]["username"], credential["basic"]["password"]
        if "oauth" in credential:
            headers["Authorization"] = f"Bearer {await self._tokens.token(credential['oauth'])}"
        return None

    async def _record(
        self, delivery: WebhookDeliveryRow, status: int | None, error: str | None, duration_ms: int
    ) -> None:
        now = self._clock()
        async with self._sessions() as session:
            row = await session.get(WebhookDeliveryRow, delivery.id)
            if row is None:
                return
            row.attempts += 1
            row.deliver_until = row.deliver_until or row.created_at + self._window
            session.add(
                WebhookAttemptRow(
                    delivery_id=row.id,
                    at=now,
                    http_status=status,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            metrics.record_webhook_attempt(error is None)
            if error is None:
                row.status, row.next_attempt_at = DELIVERED, None
            else:
                await self._schedule_retry(session, row, now, error)
            try:
                await session.commit()
            except IntegrityError:
                # The webhook or its application was deleted during the call:
                # the delivery went with it, and there is nothing left to record.
                await session.rollback()
                log.info("delivery %s: its webhook was deleted meanwhile", delivery.id)

    async def _schedule_retry(
        self, session: AsyncSession, row: WebhookDeliveryRow, now: datetime, error: str
    ) -> None:
        next_attempt = now + retry_delay(row.attempts)
        assert row.deliver_until is not None
        if next_attempt > row.deliver_until:
            row.status, row.next_attempt_at = FAILED, None
            metrics.record_webhook_failed()
            log.warning("webhook delivery %s failed for good: %s", row.id, error)
            return
        row.next_attempt_at = next_attempt
        await enqueue(session, DELIVERY_KIND, {"delivery_id": row.id}, delay=next_attempt - now)
