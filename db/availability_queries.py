"""Loading what availability is computed from: a bounded number of queries per view."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.records import ProviderRecord, ServiceRecord
from db.setup_queries import days_of, list_exceptions, provider_weekly_plan, service_record
from db.tables import BLOCKING_STATUSES, calendar_busy_intervals, providers, reservations, services
from domain.occupancy import BusyInterval, Reservation, ReservationKind
from domain.schedule import Schedule, effective_schedule


async def load_provider_and_service(
    conn: AsyncConnection, service_id: UUID
) -> tuple[ProviderRecord, ServiceRecord] | None:
    row = (
        await conn.execute(
            select(
                services,
                providers.c.name.label("provider_name"),
                providers.c.timezone,
                providers.c.schedule_timezone,
            )
            .join(providers, providers.c.id == services.c.provider_id)
            .where(services.c.id == service_id)
        )
    ).first()
    if row is None:
        return None
    provider = ProviderRecord(row.provider_id, row.provider_name, row.timezone, row.schedule_timezone)
    return provider, service_record(row)


async def load_schedule(
    conn: AsyncConnection,
    provider: ProviderRecord,
    service: ServiceRecord,
    start: datetime,
    end: datetime,
) -> Schedule:
    """The service's effective schedule, with the exceptions that can reach [start, end)."""
    provider_plan = await provider_weekly_plan(conn, provider)
    zone = ZoneInfo((service.own_schedule or provider_plan).timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    exceptions = await list_exceptions(conn, provider.id, [None, service.id], first, last)
    provider_schedule = Schedule(
        ZoneInfo(provider_plan.timezone),
        provider_plan.days,
        days_of(e for e in exceptions if e.service_id is None),
    )
    own = (
        Schedule(ZoneInfo(service.own_schedule.timezone), service.own_schedule.days)
        if service.own_schedule
        else None
    )
    return effective_schedule(
        provider_schedule, own, [e.exception for e in exceptions if e.service_id is not None]
    )


async def load_occupancy(
    conn: AsyncConnection, provider_id: UUID, start: datetime, end: datetime, now: datetime
) -> tuple[list[Reservation], list[BusyInterval]]:
    """Active bookings and live holds whose occupied range meets [start, end), and busy time."""
    span = func.tstzrange(start, end, literal("[)"))
    reservation_rows = await conn.execute(
        select(
            reservations.c.id,
            reservations.c.kind,
            reservations.c.start_at,
            reservations.c.end_at,
            func.lower(reservations.c.occupied).label("occupied_start"),
            func.upper(reservations.c.occupied).label("occupied_end"),
        ).where(
            reservations.c.provider_id == provider_id,
            reservations.c.status.in_(BLOCKING_STATUSES),
            reservations.c.occupied.op("&&")(span),
            or_(reservations.c.expires_at.is_(None), reservations.c.expires_at > now),
        )
    )
    found = [
        Reservation(
            str(row.id),
            ReservationKind(row.kind),
            row.start_at,
            row.end_at,
            row.start_at - row.occupied_start,
            row.occupied_end - row.end_at,
        )
        for row in reservation_rows
    ]
    busy_rows = await conn.execute(
        select(
            calendar_busy_intervals.c.id,
            calendar_busy_intervals.c.start_at,
            calendar_busy_intervals.c.end_at,
            calendar_busy_intervals.c.title,
        ).where(
            calendar_busy_intervals.c.provider_id == provider_id,
            func.tstzrange(
                calendar_busy_intervals.c.start_at, calendar_busy_intervals.c.end_at, literal("[)")
            ).op("&&")(span),
        )
    )
    busy = [BusyInterval(str(r.id), r.start_at, r.end_at, r.title) for r in busy_rows]
    return found, busy
