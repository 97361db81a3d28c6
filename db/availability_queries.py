"""Loading what availability is computed from: a bounded number of queries per view."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.management_queries import date_window_rows
from db.records import ProviderRecord, ServiceRecord
from db.setup_queries import days_of, list_exceptions, provider_weekly_plan, service_record
from db.tables import BLOCKING_SQL, providers, services
from domain.occupancy import Occupancy, micros
from domain.schedule import Schedule, Window, effective_schedule


def _micros(column: str) -> str:
    """SQL for a timestamptz as int8 microseconds since the epoch (float8 is exact to the µs here)."""
    return f"round(date_part('epoch', {column}) * 1000000)::int8"


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
    extra: dict[date, tuple[Window, ...]] = {}
    for row in await date_window_rows(conn, provider.id, first, last):
        extra[row.day] = (*extra.get(row.day, ()), row.window)
    provider_schedule = Schedule(
        ZoneInfo(provider_plan.timezone),
        provider_plan.days,
        days_of(e for e in exceptions if e.service_id is None),
        extra,
    )
    own = (
        Schedule(ZoneInfo(service.own_schedule.timezone), service.own_schedule.days)
        if service.own_schedule
        else None
    )
    return effective_schedule(
        provider_schedule, own, [e.exception for e in exceptions if e.service_id is not None]
    )


_OCCUPANCY = text(
    f"""
    WITH r AS (
        SELECT id, kind, start_at, end_at, occupied, expires_at FROM reservations
        WHERE provider_id = :provider AND {BLOCKING_SQL}
          AND occupied && tstzrange(CAST(:start AS timestamptz), CAST(:end AS timestamptz), '[)')
          AND (expires_at IS NULL OR expires_at > CAST(:now AS timestamptz))
    ), b AS (
        SELECT id, start_at, end_at, title FROM calendar_busy_intervals
        WHERE provider_id = :provider
          AND tstzrange(start_at, end_at, '[)')
              && tstzrange(CAST(:start AS timestamptz), CAST(:end AS timestamptz), '[)')
    )
    -- The aggregates of one SELECT see the rows in one order, so the arrays line up.
    SELECT * FROM (
        SELECT coalesce(array_agg(id::text), '{{}}') AS ids,
               coalesce(array_agg(kind = 'HOLD'), '{{}}') AS is_hold,
               coalesce(array_agg({_micros("start_at")}), '{{}}') AS own_start,
               coalesce(array_agg({_micros("end_at")}), '{{}}') AS own_end,
               coalesce(array_agg({_micros("lower(occupied)")}), '{{}}') AS occupied_start,
               coalesce(array_agg({_micros("upper(occupied)")}), '{{}}') AS occupied_end,
               coalesce(array_agg(coalesce({_micros("expires_at")}, 0)), '{{}}') AS hold_expires
        FROM r) AS reservations_found
    CROSS JOIN (
        SELECT coalesce(array_agg(id::text), '{{}}') AS busy_ids,
               coalesce(array_agg(title), '{{}}') AS busy_titles,
               coalesce(array_agg({_micros("start_at")}), '{{}}') AS busy_start,
               coalesce(array_agg({_micros("end_at")}), '{{}}') AS busy_end
        FROM b) AS busy_found
    """
)


async def load_occupancy(
    conn: AsyncConnection, provider_id: UUID, start: datetime, end: datetime, now: datetime
) -> Occupancy:
    """Active bookings and live holds whose occupied range meets [start, end), and busy time,
    in one round trip of arrays (no row objects on the hot path)."""
    row = (
        await conn.execute(_OCCUPANCY, {"provider": provider_id, "start": start, "end": end, "now": now})
    ).one()
    return Occupancy(
        row.ids,
        np.asarray(row.is_hold, dtype=np.bool_),
        micros(row.own_start),
        micros(row.own_end),
        micros(row.occupied_start),
        micros(row.occupied_end),
        row.busy_ids,
        row.busy_titles,
        micros(row.busy_start),
        micros(row.busy_end),
        micros(row.hold_expires),
    )
