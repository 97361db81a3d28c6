"""Reads and writes that export and import a provider's whole availability setup needs
(beyond db.setup_queries)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.records import WeeklyPlan
from db.setup_queries import plan_to_json
from db.tables import date_windows, providers, reservations, services
from domain.availability_document import DateWindowSpec
from domain.schedule import Window
from domain.service_rules import ServiceRules


async def list_date_windows(conn: AsyncConnection, provider_id: UUID) -> list[DateWindowSpec]:
    rows = await conn.execute(
        select(
            date_windows.c.day, date_windows.c.start_minute, date_windows.c.end_minute, date_windows.c.reason
        )
        .where(date_windows.c.provider_id == provider_id)
        .order_by(date_windows.c.day, date_windows.c.start_minute, date_windows.c.end_minute)
    )
    return [DateWindowSpec(day, Window(start, end), reason) for day, start, end, reason in rows]


async def replace_date_windows(
    conn: AsyncConnection, provider_id: UUID, day: date, windows: tuple[DateWindowSpec, ...]
) -> None:
    """The date's extra windows become exactly `windows`."""
    await conn.execute(
        delete(date_windows).where(date_windows.c.provider_id == provider_id, date_windows.c.day == day)
    )
    if windows:
        await conn.execute(
            insert(date_windows),
            [
                {
                    "provider_id": provider_id,
                    "day": w.day,
                    "start_minute": w.window.start_minute,
                    "end_minute": w.window.end_minute,
                    "reason": w.reason,
                }
                for w in windows
            ],
        )


async def services_with_reservations(conn: AsyncConnection, provider_id: UUID) -> set[UUID]:
    """Services of the provider with any booking or hold, whatever its status."""
    rows = await conn.execute(
        select(reservations.c.service_id).where(reservations.c.provider_id == provider_id).distinct()
    )
    return {row.service_id for row in rows}


async def update_service(
    conn: AsyncConnection,
    service_id: UUID,
    rules: ServiceRules,
    price: Any,
    own_schedule: WeeklyPlan | None,
) -> None:
    await conn.execute(
        update(services)
        .where(services.c.id == service_id)
        .values(
            duration_minutes=rules.duration_minutes,
            slot_interval_minutes=rules.slot_interval_minutes,
            buffer_before_minutes=rules.buffer_before_minutes,
            buffer_after_minutes=rules.buffer_after_minutes,
            min_notice_minutes=rules.min_notice_minutes,
            horizon_days=rules.horizon_days,
            hold_minutes=rules.hold_minutes,
            price=price,
            availability_schedule=plan_to_json(own_schedule) if own_schedule else None,
        )
    )


async def delete_unbooked_service(conn: AsyncConnection, service_id: UUID) -> bool:
    """Delete the service unless it has any booking or hold (deleting would cascade to them)."""
    taken = exists().where(reservations.c.service_id == service_id)
    result = await conn.execute(
        delete(services).where(services.c.id == service_id, ~taken).returning(services.c.id)
    )
    return result.first() is not None


async def set_provider_timezone(conn: AsyncConnection, provider_id: UUID, timezone: str) -> None:
    await conn.execute(update(providers).where(providers.c.id == provider_id).values(timezone=timezone))
