"""What the app builds once at start and every request shares."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from compass.auth.authenticate import Authenticator
from compass.config import Settings
from compass.notifications.live import LiveBus
from compass.notifications.worker import OutboxWorker
from compass.pki.authority import CertificateAuthority
from compass.pki.secret_box import SecretBox

__all__ = ["AppState"]


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    outbox: OutboxWorker
    http: httpx.AsyncClient
    authority: CertificateAuthority
    signing_key: Ed25519PrivateKey
    secret_box: SecretBox
    live: LiveBus
