"""Loading what availability statistics are computed from, beyond what the views load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.management_queries import date_window_rows
from db.records import ProviderRecord
from db.setup_queries import days_of, list_exceptions, provider_weekly_plan
from db.tables import ACTIVE_BOOKING_STATUSES, reservations
from domain.schedule import Schedule, Window


@dataclass(frozen=True)
class BookingRow:
    id: UUID
    service_id: UUID
    start: datetime
    end: datetime
    status: str

    @property
    def active(self) -> bool:
        """PENDING, CONFIRMED, PAID or IN_PROGRESS: it takes the provider's time."""
        return self.status in ACTIVE_BOOKING_STATUSES

    @property
    def cancelled(self) -> bool:
        return self.status == "CANCELLED"


async def bookings_between(
    conn: AsyncConnection, provider_id: UUID, start: datetime, end: datetime
) -> list[BookingRow]:
    """The provider's bookings (never holds), any status, starting in or overlapping [start, end)."""
    r = reservations.c
    rows = await conn.execute(
        select(r.id, r.service_id, r.start_at, r.end_at, r.status)
        .where(
            r.provider_id == provider_id,
            r.kind == "BOOKING",
            or_(and_(r.start_at < end, r.end_at > start), and_(r.start_at >= start, r.start_at < end)),
        )
        .order_by(r.start_at, r.id)
    )
    return [BookingRow(row.id, row.service_id, row.start_at, row.end_at, row.status) for row in rows]


async def load_provider_schedule(
    conn: AsyncConnection, provider: ProviderRecord, start: datetime, end: datetime
) -> Schedule:
    """The provider's weekly schedule, with its own (provider-level) exceptions and extra date
    windows that can reach [start, end); services' exceptions are left out."""
    plan = await provider_weekly_plan(conn, provider)
    zone = ZoneInfo(plan.timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    exceptions = await list_exceptions(conn, provider.id, [None], first, last)
    extra: dict[date, tuple[Window, ...]] = {}
    for row in await date_window_rows(conn, provider.id, first, last):
        extra[row.day] = (*extra.get(row.day, ()), row.window)
    return Schedule(zone, plan.days, days_of(exceptions), extra)
