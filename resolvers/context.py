"""What every use case is handed: the database, the clock, the change feed and the view cache."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.changes import AvailabilityChange
from domain.errors import NotFoundProblem

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class ChangeFeed(Protocol):
    """Where committed changes go, and where live subscribers read them (from any instance)."""

    async def publish(self, change: AvailabilityChange) -> None: ...

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[AvailabilityChange]]:
        """Changes from the moment of subscribing; a RESYNC change when some may have been missed."""
        ...


class ViewCache(Protocol):
    """Computed views keyed by what they were computed from, including the provider's sequence."""

    def saw(self, provider_id: str, sequence: int) -> None: ...

    async def get(self, key: str, provider_id: str, now: datetime) -> Any | None: ...

    async def put(
        self, key: str, provider_id: str, sequence: int, value: Any, valid_until: datetime
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
    def saw(self, provider_id: str, sequence: int) -> None:
        return None

    async def get(self, key: str, provider_id: str, now: datetime) -> Any | None:
        return None

    async def put(self, key: str, provider_id: str, sequence: int, value: Any, valid_until: datetime) -> None:
        return None


@dataclass(frozen=True)
class AppContext:
    engine: AsyncEngine
    clock: Clock = system_clock
    feed: ChangeFeed = field(default_factory=SilentFeed)
    cache: ViewCache = field(default_factory=NoCache)


def parse_id(value: str, field: str, kind: str) -> UUID:
    try:
        return UUID(value)
    except (ValueError, TypeError):
        raise NotFoundProblem(field, kind, value[:64]) from None
