"""The run loop of the agent.

Each step: pair if a new one-time token appeared (settings are loaded again,
so a rewritten config file counts), renew the certificate when it is due,
report the runtime, ask for (or give back) the credentials listed in
instance-auths.json, sync its applications, write status.json.

- A step that cannot reach the server is retried with capped exponential
  backoff and jitter (tenacity); nothing but the status is written meanwhile.
- A refusal (revoked or unknown certificate, spent token) stops all use of
  the certificate until a token with another SHA-256 than the last one used
  shows up; the files on disk stay until a new pair replaces them.
- Once connected, a live subscription (`subscription`) wakes the loop when
  the runtime's configuration changes, so it syncs at once; the interval poll
  stays as the fallback. It is opened again with each new certificate and
  closed on refusal.
- SIGTERM and SIGINT set an event that ends every sleep: the step in progress
  finishes, the subscription is closed, the status is written, the process
  exits with 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import ssl
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_when_event_set,
    wait_random_exponential,
)

from compass.agent.connector import Issued, Pairing, configuration, sign
from compass.agent.credentials import Credentials, load_credentials, store_credentials
from compass.agent.director import Director
from compass.agent.graphql import AgentError, Refused, ServerError, Unreachable
from compass.agent.hook import run_hook
from compass.agent.instance_auths import InstanceAuths
from compass.agent.settings import AgentSettings, SettingsError
from compass.agent.state import (
    Status,
    read_used_token,
    record_used_token,
    rfc3339,
    token_digest,
    write_applications,
    write_status,
)
from compass.agent.subscription import Subscription

__all__ = ["Agent", "main"]

TOKEN_POLL = 1.0  # seconds between looks at the settings while waiting for a token
JITTER = 0.1
UNSUBSCRIBE_TIMEOUT = 5.0  # closing the subscription's socket
log = logging.getLogger("compass.agent")


def _now() -> datetime:
    return datetime.now(UTC)


class Agent:
    def __init__(
        self,
        settings: AgentSettings,
        reload: Callable[[], AgentSettings],
        stop: asyncio.Event,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.settings = settings
        self.current = settings  # the latest settings that loaded
        self._reload = reload
        self._reload_error: str | None = None
        self.stop = stop
        self.clock = clock
        self.directory = settings.state_dir
        self.status = Status(runtime_id=settings.runtime_id, pid=os.getpid())
        self.instance_auths = InstanceAuths(self.directory, clock)
        self.credentials: Credentials | None = None
        self.refused = False
        self.pending: tuple[str, str, Pairing] | None = None  # digest, connector URL, answer
        self.public = httpx.AsyncClient(timeout=settings.timeout)
        self.mtls: httpx.AsyncClient | None = None
        self.wake = asyncio.Event()  # set by the subscription: sync now
        self.subscription: asyncio.Task[None] | None = None
        self._subscribed_with: tuple[str, str] | None = None  # certificate serial, URL

    async def run(self) -> None:
        try:
            await self._load_stored()
            while not self.stop.is_set():
                await self._pause(await self._attempt())
        finally:
            await self._unsubscribe()
            self._write_status()
            await self.public.aclose()
            if self.mtls is not None:
                await self.mtls.aclose()
            log.info("stopped")

    async def _load_stored(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        credentials = load_credentials(self.directory)
        if credentials is None:
            return
        if credentials.expires_at <= self.clock():
            log.warning("the stored certificate expired at %s", rfc3339(credentials.expires_at))
            return
        try:
            await self._use(credentials)
        except (ssl.SSLError, OSError) as error:
            log.warning("the stored certificate cannot be used: %s", error)
            return
        log.info(
            "reusing the stored certificate %s, valid until %s",
            credentials.serial,
            rfc3339(credentials.expires_at),
        )

    async def _attempt(self) -> float:
        """One step, retried while the server is unreachable; seconds to wait next."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Unreachable),
            wait=wait_random_exponential(multiplier=0.5, max=self.settings.max_backoff),
            stop=stop_when_event_set(self.stop),
            sleep=self._sleep,
            before_sleep=self._unreachable,
            reraise=True,
        )
        self.wake.clear()  # events from now on call for another sync
        try:
            return await retrying(self._step)
        except Unreachable as error:  # only when stopping
            self._failed("unreachable", error)
        except Refused as error:
            log.error("refused: %s; waiting for a new one-time token", error)
            self.refused = True
            await self._unsubscribe()
            self.status.subscription = None
            self._failed("refused", error)
            return TOKEN_POLL
        except AgentError as error:
            log.error("%s", error)
            self._failed(None, error)
        except Exception as error:  # a bug must not end the agent
            log.error("unexpected error: %r", error)
            log.debug("traceback of the unexpected error", exc_info=True)
            self._failed(None, error)
        return self._interval()

    def _unreachable(self, retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.warning("server unreachable: %s; retrying in %.1f s", error, wait)
        self._failed("unreachable", error)

    async def _step(self) -> float:
        await self._pair_if_new_token()
        if self.credentials is None or self.refused:
            if not self.refused and self.status.state != "waiting_for_token":
                log.warning("no usable certificate and no new one-time token: waiting for one")
            self._set_state("refused" if self.refused else "waiting_for_token")
            self._write_status()
            return TOKEN_POLL
        if self.credentials.renewal_due(self.clock(), self.settings.renew_fraction):
            await self._renew(self.credentials)
        director = Director(
            self.mtls, self.credentials.director_url, self.settings.runtime_id, self._headers()
        )
        if await director.report(self.settings.events_url, self.settings.console_url):
            log.info("reported runtime %s as CONNECTED", self.settings.runtime_id)
        await self.instance_auths.reconcile(director)
        applications = await director.applications()
        synced_at = self.clock()
        changes = write_applications(
            self.directory, self.settings.runtime_id, applications, synced_at
        )
        for change in changes:
            detail = " (instance auths)" if change.credentials else ""
            log.info("application %s: %s %s%s", change.kind, change.id, change.name, detail)
        self.status.instance_auths = self.instance_auths.observe(applications)
        self.status.instance_auths_error = self.instance_auths.file_error
        self._set_state("connected")
        self.status.last_sync_at = rfc3339(synced_at)
        self.status.last_sync_result = "ok"
        self.status.applications = len(applications)
        self._write_status()
        await self._subscribe(self.credentials)
        command = self.settings.hook_command()
        if changes and command:
            await run_hook(command, self.directory)
        return self._interval()

    async def _pair_if_new_token(self) -> None:
        settings = self._settings()
        if settings.token is None or settings.connector_url is None:
            return
        token = settings.token.get_secret_value()
        digest = token_digest(token)
        if self.pending is None and digest == read_used_token(self.directory):
            return
        self._set_state("connecting")
        if self.pending is None or self.pending[0] != digest:
            log.info("pairing with a new one-time token at %s", settings.connector_url)
            self.pending = None
            try:
                pairing = await configuration(
                    self.public, settings.connector_url, self._headers(), token
                )
            except Refused as error:
                record_used_token(self.directory, digest, self.clock())
                if self.credentials is not None and not self.refused:
                    log.error(
                        "the new one-time token was refused (%s); keeping the certificate", error
                    )
                    return
                raise Refused(f"the one-time token was refused: {error}") from error
            record_used_token(self.directory, digest, self.clock())  # it is spent now
            self.pending = (digest, settings.connector_url, pairing)
        _, url, pairing = self.pending
        try:
            issued = await sign(self.public, url, pairing, self._headers(), with_token=True)
        except Refused:
            self.pending = None
            raise
        self.pending = None
        credentials = await self._store(issued)
        log.info(
            "paired: certificate %s valid until %s",
            credentials.serial,
            rfc3339(credentials.expires_at),
        )

    async def _renew(self, current: Credentials) -> None:
        log.info(
            "certificate %s expires at %s; renewing", current.serial, rfc3339(current.expires_at)
        )
        try:
            url = current.secured_connector_url
            pairing = await configuration(self.mtls, url, self._headers())
            issued = await sign(self.mtls, url, pairing, self._headers(), with_token=False)
        except ServerError as error:  # the current certificate still works
            log.error("renewal failed: %s; trying again at the next sync", error)
            self.status.last_error = str(error)
            return
        credentials = await self._store(issued)
        log.info(
            "renewed: certificate %s valid until %s",
            credentials.serial,
            rfc3339(credentials.expires_at),
        )

    async def _store(self, issued: Issued) -> Credentials:
        """Write the new pair, then switch to it (the old one serves until then)."""
        store_credentials(self.directory, issued)
        credentials = load_credentials(self.directory)
        if credentials is None:
            raise ServerError("the new certificate could not be read back from the state dir")
        await self._use(credentials)
        self.refused = False
        return credentials

    async def _use(self, credentials: Credentials) -> None:
        previous = self.mtls
        self.mtls = httpx.AsyncClient(
            verify=credentials.ssl_context(), timeout=self.settings.timeout
        )
        self.credentials = credentials
        self.status.certificate_expires_at = rfc3339(credentials.expires_at)
        if previous is not None:
            await previous.aclose()

    async def _subscribe(self, credentials: Credentials) -> None:
        """Keep the subscription open with the current certificate."""
        key = (credentials.serial, credentials.director_url)
        running = self.subscription is not None and not self.subscription.done()
        if running and self._subscribed_with == key:
            return
        await self._unsubscribe()
        subscription = Subscription(
            credentials.director_url,
            self.settings.runtime_id,
            credentials.ssl_context(),
            self._headers(),
            on_event=self.wake.set,
            on_state=self._subscription_state,
            max_backoff=self.settings.max_backoff,
            timeout=self.settings.timeout,
        )
        self.subscription = asyncio.create_task(subscription.run(), name="subscription")
        self._subscribed_with = key

    async def _unsubscribe(self) -> None:
        task, self.subscription, self._subscribed_with = self.subscription, None, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task}, timeout=UNSUBSCRIBE_TIMEOUT)
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("the subscription ended: %r", task.exception())

    def _subscription_state(self, state: str) -> None:
        if state != self.status.subscription:
            self.status.subscription = state
            self._write_status()

    def _settings(self) -> AgentSettings:
        """The settings loaded again (a rewritten config file may hold a token)."""
        try:
            self.current = self._reload()
            self._reload_error = None
        except SettingsError as error:
            if str(error) != self._reload_error:
                log.error("settings: %s; keeping the previous ones", error)
            self._reload_error = str(error)
        return self.current

    def _headers(self) -> dict[str, str]:
        return self.settings.headers()

    def _interval(self) -> float:
        return self.settings.sync_interval * random.uniform(1 - JITTER, 1 + JITTER)

    def _set_state(self, state: str) -> None:
        if state != self.status.state:
            log.info("state: %s", state)
        self.status.state = state

    def _failed(self, state: str | None, error: BaseException | None) -> None:
        text = str(error) or type(error).__name__
        if state is not None:
            self._set_state(state)
        self.status.last_error = text
        if self.credentials is not None:
            self.status.last_sync_at = rfc3339(self.clock())
            self.status.last_sync_result = text
        self._write_status()

    def _write_status(self) -> None:
        self.status.updated_at = rfc3339(self.clock())
        try:
            write_status(self.directory, self.status)
        except OSError as error:
            log.error("cannot write status.json: %s", error)

    async def _sleep(self, seconds: float) -> None:
        """Sleep that ends early when the agent is asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=max(seconds, 0))

    async def _pause(self, seconds: float) -> None:
        """The wait between steps: ends early on a stop request or on an event
        of the subscription."""
        waiters = {asyncio.ensure_future(event.wait()) for event in (self.stop, self.wake)}
        try:
            await asyncio.wait(
                waiters, timeout=max(seconds, 0), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self.wake.is_set() and not self.stop.is_set():
            log.debug("woken by the subscription: syncing now")


async def main(settings: AgentSettings, reload: Callable[[], AgentSettings]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):

        def on_signal(name: str = signal.Signals(number).name) -> None:
            log.info("%s received; finishing the current step", name)
            stop.set()

        loop.add_signal_handler(number, on_signal)
    await Agent(settings, reload, stop).run()
