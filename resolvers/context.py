"""What every use case is handed: the database, the clock, the change feed and the view cache."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.changes import AvailabilityChange
from domain.errors import NotFoundProblem
from integrations.google_calendar import GoogleCalendar
from integrations.token_vault import TokenVault

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class ChangeFeed(Protocol):
    """Where committed changes go, and where live subscribers read them (from any instance)."""

    async def publish(self, change: AvailabilityChange) -> None: ...

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[AvailabilityChange]]:
        """Changes from the moment of subscribing; a RESYNC change when some may have been missed."""
        ...


@dataclass(frozen=True)
class CacheLookup:
    """A cached value, or a miss with the provider's version as it stood before computing afresh."""

    value: Any | None = None
    provider_id: str | None = None
    version: int | None = None


class ViewCache(Protocol):
    """Computed views, each good while its provider's version stands and its clock allows.

    A write bumps the version (after commit, before answering), so a read anywhere after the
    write has answered misses the old entry.
    """

    async def saw(self, provider_id: str, sequence: int) -> None: ...

    async def get(self, key: str, service_id: str, now: datetime) -> CacheLookup: ...

    async def put(
        self, key: str, service_id: str, provider_id: str, seen: CacheLookup, value: Any, until: datetime
    ) -> None: ...


class SilentFeed:
    """No live subscribers: changes go nowhere."""

    async def publish(self, change: AvailabilityChange) -> None:
        return None

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[AvailabilityChange]]:
        raise RuntimeError("this process has no change feed")
        yield  # pragma: no cover


class NoCache:
    async def saw(self, provider_id: str, sequence: int) -> None:
        return None

    async def get(self, key: str, service_id: str, now: datetime) -> CacheLookup:
        return CacheLookup()

    async def put(
        self, key: str, service_id: str, provider_id: str, seen: CacheLookup, value: Any, until: datetime
    ) -> None:
        return None


@dataclass(frozen=True)
class CalendarSetup:
    """Google Calendar as this server is configured to reach it."""

    google: GoogleCalendar
    vault: TokenVault
    webhook_url: str | None = None  # where Google pushes; None: no push channels, periodic sync only
    channel_ttl: timedelta = timedelta(days=7)
    stale_after: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class AppContext:
    engine: AsyncEngine
    clock: Clock = system_clock
    feed: ChangeFeed = field(default_factory=SilentFeed)
    cache: ViewCache = field(default_factory=NoCache)
    calendar: CalendarSetup | None = None


def parse_id(value: str, field: str, kind: str) -> UUID:
    try:
        return UUID(value)
    except (ValueError, TypeError):
        raise NotFoundProblem(field, kind, value[:64]) from None
