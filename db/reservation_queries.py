"""Writes of bookings and holds."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, literal
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import reservations
from domain.occupancy import ReservationKind, occupied_range
from domain.service_rules import ServiceRules


async def insert_reservation(
    conn: AsyncConnection,
    *,
    provider_id: UUID,
    service_id: UUID,
    rules: ServiceRules,
    start: datetime,
    kind: ReservationKind = ReservationKind.BOOKING,
    status: str = "CONFIRMED",
    customer_id: str | None = None,
    expires_at: datetime | None = None,
) -> UUID:
    """Insert a booking or hold; the database refuses one whose occupied range meets another's."""
    end = start + rules.duration
    low, high = occupied_range(start, end, rules.buffer_before, rules.buffer_after)
    row = (
        await conn.execute(
            insert(reservations)
            .values(
                kind=kind.value,
                provider_id=provider_id,
                service_id=service_id,
                customer_id=customer_id,
                start_at=start,
                end_at=end,
                occupied=func.tstzrange(low, high, literal("[)")),
                status=status,
                expires_at=expires_at,
            )
            .returning(reservations.c.id)
        )
    ).one()
    return UUID(str(row.id))
