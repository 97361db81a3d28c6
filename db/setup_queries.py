"""Reads and writes of providers, services, weekly schedules and date exceptions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Row, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.records import ExceptionRecord, ProviderRecord, ScheduleRecord, ServiceRecord, WeeklyPlan
from db.tables import date_exceptions, providers, services, weekly_windows
from domain.schedule import DateException, Window
from domain.service_rules import ServiceRules


def provider_record(row: Row[Any]) -> ProviderRecord:
    return ProviderRecord(row.id, row.name, row.timezone, row.schedule_timezone)


def plan_from_json(document: dict[str, Any]) -> WeeklyPlan:
    return WeeklyPlan(
        document["timezone"],
        {int(day): tuple(Window(s, e) for s, e in spans) for day, spans in document["days"].items()},
    )


def plan_to_json(plan: WeeklyPlan) -> dict[str, Any]:
    return {
        "timezone": plan.timezone,
        "days": {
            str(day): [[w.start_minute, w.end_minute] for w in windows]
            for day, windows in sorted(plan.days.items())
        },
    }


def service_record(row: Row[Any]) -> ServiceRecord:
    rules = ServiceRules(
        row.duration_minutes,
        row.slot_interval_minutes,
        row.buffer_before_minutes,
        row.buffer_after_minutes,
        row.min_notice_minutes,
        row.horizon_days,
        row.hold_minutes,
    )
    own = plan_from_json(row.availability_schedule) if row.availability_schedule else None
    return ServiceRecord(row.id, row.provider_id, row.name, rules, row.price, own)


def exception_record(row: Row[Any]) -> ExceptionRecord:
    windows = tuple(Window(s, e) for s, e in row.windows)
    return ExceptionRecord(
        row.id,
        row.provider_id,
        row.service_id,
        DateException(row.day, row.closed, windows, row.reason),
    )


async def get_provider(conn: AsyncConnection, provider_id: UUID) -> ProviderRecord | None:
    row = (await conn.execute(select(providers).where(providers.c.id == provider_id))).first()
    return provider_record(row) if row else None


async def get_service(conn: AsyncConnection, service_id: UUID) -> ServiceRecord | None:
    row = (await conn.execute(select(services).where(services.c.id == service_id))).first()
    return service_record(row) if row else None


async def list_services(conn: AsyncConnection, provider_id: UUID) -> list[ServiceRecord]:
    rows = await conn.execute(
        select(services).where(services.c.provider_id == provider_id).order_by(services.c.created_at)
    )
    return [service_record(row) for row in rows]


async def insert_provider(conn: AsyncConnection, name: str, timezone: str) -> ProviderRecord:
    row = (
        await conn.execute(insert(providers).values(name=name, timezone=timezone).returning(providers))
    ).one()
    return provider_record(row)


async def insert_service(
    conn: AsyncConnection,
    provider_id: UUID,
    name: str,
    rules: ServiceRules,
    price: Any,
    own_schedule: WeeklyPlan | None,
) -> ServiceRecord:
    statement = insert(services).values(
        provider_id=provider_id,
        name=name,
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
    row = (await conn.execute(statement.returning(services))).one()
    return service_record(row)


async def provider_weekly_plan(conn: AsyncConnection, provider: ProviderRecord) -> WeeklyPlan:
    rows = await conn.execute(
        select(weekly_windows.c.weekday, weekly_windows.c.start_minute, weekly_windows.c.end_minute)
        .where(weekly_windows.c.provider_id == provider.id)
        .order_by(weekly_windows.c.weekday, weekly_windows.c.start_minute)
    )
    days: dict[int, list[Window]] = {}
    for weekday, start, end in rows:
        days.setdefault(weekday, []).append(Window(start, end))
    return WeeklyPlan(provider.schedule_zone_name, {d: tuple(w) for d, w in days.items()})


async def replace_provider_week(
    conn: AsyncConnection,
    provider_id: UUID,
    timezone: str | None,
    days: dict[int, tuple[Window, ...]],
) -> None:
    await conn.execute(delete(weekly_windows).where(weekly_windows.c.provider_id == provider_id))
    rows = [
        {
            "provider_id": provider_id,
            "weekday": day,
            "start_minute": w.start_minute,
            "end_minute": w.end_minute,
        }
        for day, windows in days.items()
        for w in windows
    ]
    if rows:
        await conn.execute(insert(weekly_windows), rows)
    await conn.execute(
        update(providers).where(providers.c.id == provider_id).values(schedule_timezone=timezone)
    )


async def replace_service_week(conn: AsyncConnection, service_id: UUID, plan: WeeklyPlan) -> None:
    await conn.execute(
        update(services).where(services.c.id == service_id).values(availability_schedule=plan_to_json(plan))
    )


async def list_exceptions(
    conn: AsyncConnection,
    provider_id: UUID,
    service_ids: Sequence[UUID | None],
    first: date | None = None,
    last: date | None = None,
) -> list[ExceptionRecord]:
    """Exceptions of the provider (service_id NULL) and/or the given services, by date."""
    owners = []
    if None in service_ids:
        owners.append(date_exceptions.c.service_id.is_(None))
    named = [s for s in service_ids if s is not None]
    if named:
        owners.append(date_exceptions.c.service_id.in_(named))
    query = select(date_exceptions).where(date_exceptions.c.provider_id == provider_id, or_(*owners))
    if first is not None:
        query = query.where(date_exceptions.c.day >= first)
    if last is not None:
        query = query.where(date_exceptions.c.day <= last)
    rows = await conn.execute(query.order_by(date_exceptions.c.day))
    return [exception_record(row) for row in rows]


async def delete_exception_on(
    conn: AsyncConnection, provider_id: UUID, service_id: UUID | None, day: date
) -> None:
    owner = (
        date_exceptions.c.service_id.is_(None)
        if service_id is None
        else date_exceptions.c.service_id == service_id
    )
    await conn.execute(
        delete(date_exceptions).where(
            date_exceptions.c.provider_id == provider_id, owner, date_exceptions.c.day == day
        )
    )


async def put_exception(
    conn: AsyncConnection, provider_id: UUID, service_id: UUID | None, exception: DateException
) -> ExceptionRecord:
    """Add the exception, replacing one the same owner had for that date."""
    await delete_exception_on(conn, provider_id, service_id, exception.day)
    row = (
        await conn.execute(
            insert(date_exceptions)
            .values(
                provider_id=provider_id,
                service_id=service_id,
                day=exception.day,
                closed=exception.closed,
                windows=[[w.start_minute, w.end_minute] for w in exception.windows],
                reason=exception.reason,
            )
            .returning(date_exceptions)
        )
    ).one()
    return exception_record(row)


async def delete_exception(conn: AsyncConnection, exception_id: UUID) -> ExceptionRecord | None:
    row = (
        await conn.execute(
            delete(date_exceptions).where(date_exceptions.c.id == exception_id).returning(date_exceptions)
        )
    ).first()
    return exception_record(row) if row else None


async def schedule_of(
    conn: AsyncConnection, provider: ProviderRecord, service: ServiceRecord | None
) -> ScheduleRecord:
    """A provider's schedule, or a service's: its own week (else the provider's), its exceptions."""
    if service is not None:
        plan = service.own_schedule or await provider_weekly_plan(conn, provider)
        exceptions = await list_exceptions(conn, provider.id, [service.id])
        return ScheduleRecord(provider.id, service.id, plan, exceptions)
    plan = await provider_weekly_plan(conn, provider)
    return ScheduleRecord(provider.id, None, plan, await list_exceptions(conn, provider.id, [None]))


def days_of(records: Iterable[ExceptionRecord]) -> dict[date, DateException]:
    return {r.exception.day: r.exception for r in records}
