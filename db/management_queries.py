"""Single weekly windows and manual date windows, for providers managing their availability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import BLOCKING_STATUSES, calendar_busy_intervals, date_windows, reservations, weekly_windows
from domain.schedule import Window


@dataclass(frozen=True)
class WeeklyWindowRecord:
    id: int
    weekday: int
    window: Window


@dataclass(frozen=True)
class DateWindowRecord:
    id: UUID
    provider_id: UUID
    day: date
    window: Window
    reason: str | None


async def weekly_rows(conn: AsyncConnection, provider_id: UUID) -> list[WeeklyWindowRecord]:
    rows = await conn.execute(
        select(weekly_windows)
        .where(weekly_windows.c.provider_id == provider_id)
        .order_by(weekly_windows.c.weekday, weekly_windows.c.start_minute, weekly_windows.c.id)
    )
    return [WeeklyWindowRecord(r.id, r.weekday, Window(r.start_minute, r.end_minute)) for r in rows]


async def add_weekly_window(conn: AsyncConnection, provider_id: UUID, weekday: int, window: Window) -> int:
    row = await conn.execute(
        insert(weekly_windows)
        .values(
            provider_id=provider_id,
            weekday=weekday,
            start_minute=window.start_minute,
            end_minute=window.end_minute,
        )
        .returning(weekly_windows.c.id)
    )
    return int(row.scalar_one())


async def change_weekly_window(conn: AsyncConnection, window_id: int, window: Window) -> None:
    await conn.execute(
        update(weekly_windows)
        .where(weekly_windows.c.id == window_id)
        .values(start_minute=window.start_minute, end_minute=window.end_minute)
    )


async def remove_weekly_windows(conn: AsyncConnection, window_ids: list[int]) -> None:
    if window_ids:
        await conn.execute(delete(weekly_windows).where(weekly_windows.c.id.in_(window_ids)))


async def date_window_rows(
    conn: AsyncConnection, provider_id: UUID, first: date | None = None, last: date | None = None
) -> list[DateWindowRecord]:
    query = select(date_windows).where(date_windows.c.provider_id == provider_id)
    if first is not None:
        query = query.where(date_windows.c.day >= first)
    if last is not None:
        query = query.where(date_windows.c.day <= last)
    rows = await conn.execute(query.order_by(date_windows.c.day, date_windows.c.start_minute))
    return [
        DateWindowRecord(r.id, r.provider_id, r.day, Window(r.start_minute, r.end_minute), r.reason)
        for r in rows
    ]


async def add_date_window(
    conn: AsyncConnection, provider_id: UUID, day: date, window: Window, reason: str | None
) -> UUID:
    row = await conn.execute(
        insert(date_windows)
        .values(
            provider_id=provider_id,
            day=day,
            start_minute=window.start_minute,
            end_minute=window.end_minute,
            reason=reason,
        )
        .returning(date_windows.c.id)
    )
    return UUID(str(row.scalar_one()))


async def remove_date_window(conn: AsyncConnection, window_id: UUID) -> DateWindowRecord | None:
    row = (
        await conn.execute(delete(date_windows).where(date_windows.c.id == window_id).returning(date_windows))
    ).first()
    return (
        DateWindowRecord(row.id, row.day, Window(row.start_minute, row.end_minute), row.reason)
        if row
        else None
    )


async def window_owner(conn: AsyncConnection, window_id: int) -> UUID | None:
    found = await conn.execute(select(weekly_windows.c.provider_id).where(weekly_windows.c.id == window_id))
    return found.scalar_one_or_none()


@dataclass(frozen=True)
class BookingSpan:
    id: UUID
    kind: str
    service_id: UUID
    start: datetime
    end: datetime


async def active_between(
    conn: AsyncConnection, provider_id: UUID, start: datetime, end: datetime, now: datetime
) -> list[BookingSpan]:
    """Active bookings and live holds of a provider starting in [start, end)."""
    rows = await conn.execute(
        select(
            reservations.c.id,
            reservations.c.kind,
            reservations.c.service_id,
            reservations.c.start_at,
            reservations.c.end_at,
        )
        .where(
            reservations.c.provider_id == provider_id,
            reservations.c.status.in_(BLOCKING_STATUSES),
            or_(reservations.c.expires_at.is_(None), reservations.c.expires_at > now),
            reservations.c.start_at >= start,
            reservations.c.start_at < end,
        )
        .order_by(reservations.c.start_at)
    )
    return [BookingSpan(r.id, r.kind, r.service_id, r.start_at, r.end_at) for r in rows]


async def busy_between(
    conn: AsyncConnection, provider_id: UUID, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str | None]]:
    rows = await conn.execute(
        select(
            calendar_busy_intervals.c.start_at,
            calendar_busy_intervals.c.end_at,
            calendar_busy_intervals.c.title,
        )
        .where(
            calendar_busy_intervals.c.provider_id == provider_id,
            calendar_busy_intervals.c.start_at < end,
            calendar_busy_intervals.c.end_at > start,
        )
        .order_by(calendar_busy_intervals.c.start_at)
    )
    return [(r.start_at, r.end_at, r.title) for r in rows]
