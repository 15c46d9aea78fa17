"""What the app builds once at start and every request shares."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from compass.auth.tokens import UserTokenVerifier
from compass.config import Settings
from compass.notifications.worker import OutboxWorker

__all__ = ["AppState"]


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    verifier: UserTokenVerifier
    outbox: OutboxWorker
    http: httpx.AsyncClient
