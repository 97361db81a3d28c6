"""What every use case is handed: the database and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import NotFoundProblem

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AppContext:
    engine: AsyncEngine
    clock: Clock = system_clock


def parse_id(value: str, field: str, kind: str) -> UUID:
    try:
        return UUID(value)
    except (ValueError, TypeError):
        raise NotFoundProblem(field, kind, value[:64]) from None
