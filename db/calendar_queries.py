"""Calendar connections, the calendars that count, and the busy time synced from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import calendar_busy_intervals as busy
from db.tables import calendar_connections as connections
from db.tables import calendar_selections as selections
from domain.calendar_events import BusyEvent
from domain.changes import Span


@dataclass(frozen=True)
class ConnectionRecord:
    provider_id: UUID
    status: str
    access_token_encrypted: str | None
    access_token_expires_at: datetime | None
    refresh_token_encrypted: str
    last_synced_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class SelectionRecord:
    provider_id: UUID
    calendar_id: str
    summary: str | None
    time_zone: str
    access_role: str
    selected: bool
    sync_token: str | None
    channel_id: str | None
    channel_resource_id: str | None
    channel_token: str | None
    channel_expires_at: datetime | None
    last_synced_at: datetime | None


def _connection(row: Row[Any]) -> ConnectionRecord:
    return ConnectionRecord(
        *(row._mapping[c.name] for c in connections.c if c.name not in ("created_at", "updated_at"))
    )


def _selection(row: Row[Any]) -> SelectionRecord:
    return SelectionRecord(*(row._mapping[c.name] for c in selections.c))


async def get_connection(
    conn: AsyncConnection, provider_id: UUID, lock: bool = False
) -> ConnectionRecord | None:
    query = select(connections).where(connections.c.provider_id == provider_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    return _connection(row) if row else None


async def save_connection(conn: AsyncConnection, provider_id: UUID, **values: Any) -> None:
    values["updated_at"] = func.now()
    statement = insert(connections).values(provider_id=provider_id, **values)
    await conn.execute(
        statement.on_conflict_do_update(index_elements=[connections.c.provider_id], set_=values)
    )


async def update_connection(conn: AsyncConnection, provider_id: UUID, **values: Any) -> None:
    await conn.execute(
        update(connections)
        .where(connections.c.provider_id == provider_id)
        .values(updated_at=func.now(), **values)
    )


async def delete_connection(conn: AsyncConnection, provider_id: UUID) -> bool:
    result = await conn.execute(delete(connections).where(connections.c.provider_id == provider_id))
    return bool(result.rowcount)


async def connected_providers(conn: AsyncConnection) -> list[UUID]:
    rows = await conn.execute(select(connections.c.provider_id).where(connections.c.status != "NEEDS_REAUTH"))
    return [row.provider_id for row in rows]


async def list_selections(conn: AsyncConnection, provider_id: UUID) -> list[SelectionRecord]:
    rows = await conn.execute(
        select(selections).where(selections.c.provider_id == provider_id).order_by(selections.c.calendar_id)
    )
    return [_selection(row) for row in rows]


async def save_calendar(conn: AsyncConnection, provider_id: UUID, calendar_id: str, **values: Any) -> None:
    statement = insert(selections).values(provider_id=provider_id, calendar_id=calendar_id, **values)
    keys = [selections.c.provider_id, selections.c.calendar_id]
    await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=values))


async def update_selection(conn: AsyncConnection, provider_id: UUID, calendar_id: str, **values: Any) -> None:
    await conn.execute(
        update(selections)
        .where(selections.c.provider_id == provider_id, selections.c.calendar_id == calendar_id)
        .values(**values)
    )


async def selection_by_channel(conn: AsyncConnection, channel_id: str) -> SelectionRecord | None:
    row = (await conn.execute(select(selections).where(selections.c.channel_id == channel_id))).first()
    return _selection(row) if row else None


async def channels_expiring(conn: AsyncConnection, before: datetime) -> list[SelectionRecord]:
    rows = await conn.execute(
        select(selections).where(
            selections.c.channel_id.is_not(None), selections.c.channel_expires_at < before
        )
    )
    return [_selection(row) for row in rows]


async def store_busy(
    conn: AsyncConnection,
    provider_id: UUID,
    calendar_id: str,
    found: Sequence[BusyEvent],
    gone: Sequence[str],
    full: bool,
) -> list[Span]:
    """Put a calendar's busy time in the store: upsert what was found, delete what is gone (and,
    in a full sync, everything not found). Returns the spans that changed."""
    mine = (busy.c.provider_id == provider_id) & (busy.c.calendar_id == calendar_id)
    ids = [e.event_id for e in found] + list(gone)
    query = select(busy.c.external_id, busy.c.start_at, busy.c.end_at, busy.c.title).where(mine)
    if not full:
        query = query.where(busy.c.external_id.in_(ids))
    old = {row.external_id: (row.start_at, row.end_at, row.title) for row in await conn.execute(query)}
    kept = {e.event_id for e in found}
    if not full and gone:  # a cancelled series may come as one stub: its instances are "<id>_<start>"
        series = await conn.execute(
            select(busy.c.external_id, busy.c.start_at, busy.c.end_at, busy.c.title).where(
                mine, or_(*(busy.c.external_id.startswith(f"{i}_", autoescape=True) for i in gone))
            )
        )
        for row in series:
            old[row.external_id] = (row.start_at, row.end_at, row.title)
            gone = [*gone, row.external_id]
    removed = [i for i in old if i not in kept] if full else [i for i in old if i in set(gone)]
    changed: list[Span] = [old[i][:2] for i in removed]
    if removed:
        await conn.execute(delete(busy).where(mine, busy.c.external_id.in_(removed)))
    fresh = [e for e in found if old.get(e.event_id) != (e.start, e.end, e.title)]
    for event in fresh:
        if event.event_id in old:
            changed.append(old[event.event_id][:2])
        changed.append((event.start, event.end))
    if fresh:
        rows = [
            {
                "provider_id": provider_id,
                "calendar_id": calendar_id,
                "external_id": e.event_id,
                "start_at": e.start,
                "end_at": e.end,
                "title": e.title,
            }
            for e in fresh
        ]
        statement = insert(busy).values(rows)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[busy.c.provider_id, busy.c.calendar_id, busy.c.external_id],
                set_={
                    "start_at": statement.excluded.start_at,
                    "end_at": statement.excluded.end_at,
                    "title": statement.excluded.title,
                },
            )
        )
    return changed


async def forget_busy(conn: AsyncConnection, provider_id: UUID, calendar_id: str | None = None) -> list[Span]:
    """Delete synced busy time of a provider (or of one of its calendars); returns its spans."""
    condition = (busy.c.provider_id == provider_id) & busy.c.calendar_id.is_not(None)
    if calendar_id is not None:
        condition = condition & (busy.c.calendar_id == calendar_id)
    rows = await conn.execute(delete(busy).where(condition).returning(busy.c.start_at, busy.c.end_at))
    return [(row.start_at, row.end_at) for row in rows]
