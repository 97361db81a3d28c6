"""The availability change log: who changed which schedule, exception, blocked date or window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import availability_change_log as log


@dataclass(frozen=True)
class ChangeLogEntry:
    id: int
    provider_id: UUID
    service_id: UUID | None
    actor: str | None
    entity: str  # WEEKLY_SCHEDULE, DATE_EXCEPTION, BLOCKED_DATE, WINDOW, DATE_WINDOW, SERVICE, IMPORT
    action: str  # CREATED, UPDATED, REMOVED, REPLACED, MERGED, ADJUSTED
    before: Any
    after: Any
    at: datetime


async def record_change(
    conn: AsyncConnection,
    provider_id: UUID,
    entity: str,
    action: str,
    before: Any,
    after: Any,
    actor: str | None = None,
    service_id: UUID | None = None,
) -> None:
    """Append one entry, in the transaction that makes the change."""
    await conn.execute(
        insert(log).values(
            provider_id=provider_id,
            service_id=service_id,
            actor=actor,
            entity=entity,
            action=action,
            before=before,
            after=after,
        )
    )


async def list_changes(
    conn: AsyncConnection, provider_id: UUID, since: datetime | None, until: datetime | None, limit: int
) -> list[ChangeLogEntry]:
    query = select(log).where(log.c.provider_id == provider_id)
    if since is not None:
        query = query.where(log.c.at >= since)
    if until is not None:
        query = query.where(log.c.at < until)
    rows = await conn.execute(query.order_by(log.c.id.desc()).limit(limit))
    return [ChangeLogEntry(*(row._mapping[c.name] for c in log.c)) for row in rows]
