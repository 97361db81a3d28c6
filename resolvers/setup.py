"""Setting up providers, services, weekly schedules and date exceptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from db import setup_queries as q
from db.change_log import record_change
from db.records import ExceptionRecord, ProviderRecord, ScheduleRecord, ServiceRecord, WeeklyPlan
from db.setup_queries import plan_to_json
from domain.availability import check_view_distance
from domain.changes import ChangeCause
from domain.errors import NotFoundProblem, ValidationProblem, checked_text
from domain.local_time import local_date, zone_named
from domain.schedule import DateException, parse_week, parse_windows
from domain.service_rules import checked_price, checked_rules
from resolvers.access import require_admin, require_provider
from resolvers.changes import changing
from resolvers.context import AppContext, parse_id
from resolvers.lookups import date_span, provider_or_404

Spans = Sequence[tuple[str, str]]
WHOLE_WEEK_REACH_DAYS = 2 * 366  # a new week changes every date a view may ask for
Week = Sequence[tuple[int, Spans]]


@dataclass(frozen=True)
class ServiceInput:
    provider_id: str
    name: str
    duration_minutes: int
    slot_interval_minutes: int | None = None
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 60
    min_notice_minutes: int = 60
    horizon_days: int = 90
    hold_minutes: int = 10
    price: Decimal | None = None
    schedule_timezone: str | None = None
    schedule_days: Week | None = None


@dataclass(frozen=True)
class ScheduleOwner:
    """Exactly one of provider or service: whose schedule a change applies to."""

    provider: ProviderRecord
    service: ServiceRecord | None


async def create_provider(app: AppContext, name: str, timezone: str) -> ProviderRecord:
    require_admin()
    checked_name = checked_text(name, "name")
    zone = zone_named(timezone)
    async with app.engine.begin() as conn:
        return await q.insert_provider(conn, checked_name, zone.key)


async def create_service(app: AppContext, data: ServiceInput) -> ServiceRecord:
    name = checked_text(data.name, "name")
    rules = checked_rules(
        data.duration_minutes,
        data.slot_interval_minutes,
        data.buffer_before_minutes,
        data.buffer_after_minutes,
        data.min_notice_minutes,
        data.horizon_days,
        data.hold_minutes,
    )
    price = checked_price(data.price)
    async with app.engine.begin() as conn:
        provider = await provider_or_404(conn, data.provider_id)
        require_provider(provider.id)
        own = None
        if data.schedule_days is not None:
            zone = zone_named(data.schedule_timezone or provider.timezone, "schedule.timezone")
            own = WeeklyPlan(zone.key, parse_week(data.schedule_days, "schedule.days"))
        return await q.insert_service(conn, provider.id, name, rules, price, own)


async def set_weekly_schedule(
    app: AppContext,
    provider_id: str | None,
    service_id: str | None,
    timezone: str | None,
    days: Week,
    actor: str | None = None,
) -> ScheduleRecord:
    """Replace the whole week of a provider or of one service."""
    week = parse_week(days)
    async with changing(app) as changes:
        conn = changes.conn
        owner = await _owner(conn, provider_id, service_id)
        require_provider(owner.provider.id)
        spans = [(changes.now - timedelta(days=1), changes.now + timedelta(days=WHOLE_WEEK_REACH_DAYS))]
        await changes.record(owner.provider.id, ChangeCause.SCHEDULE_CHANGED, spans)
        default_zone = owner.provider.timezone
        if owner.service is not None and owner.service.own_schedule is not None:
            default_zone = owner.service.own_schedule.timezone
        zone = zone_named(timezone or default_zone)
        before = await q.schedule_of(conn, owner.provider, owner.service)
        if owner.service is None:
            stored = None if zone.key == owner.provider.timezone else zone.key
            await q.replace_provider_week(conn, owner.provider.id, stored, week)
            provider = await q.get_provider(conn, owner.provider.id)
            assert provider is not None
            after = await q.schedule_of(conn, provider, None)
        else:
            await q.replace_service_week(conn, owner.service.id, WeeklyPlan(zone.key, week))
            service = await q.get_service(conn, owner.service.id)
            after = await q.schedule_of(conn, owner.provider, service)
        await record_change(
            conn,
            owner.provider.id,
            "WEEKLY_SCHEDULE",
            "REPLACED",
            plan_to_json(before.plan),
            plan_to_json(after.plan),
            actor=actor,
            service_id=owner.service.id if owner.service else None,
        )
        return after


async def add_date_exception(
    app: AppContext,
    provider_id: str | None,
    service_id: str | None,
    day: date,
    closed: bool,
    windows: Spans,
    reason: str | None,
    actor: str | None = None,
) -> tuple[ScheduleRecord, ExceptionRecord]:
    parsed = parse_windows(windows, "windows")
    if closed and parsed:
        raise ValidationProblem("windows", "a closed date has no windows")
    if not closed and not parsed:
        raise ValidationProblem("windows", "give the date's own windows, or set closed: true")
    note = checked_text(reason, "reason", 500, required=False) or None if reason else None
    async with changing(app) as changes:
        conn = changes.conn
        owner = await _owner(conn, provider_id, service_id)
        require_provider(owner.provider.id)
        zone = zone_named(owner.provider.timezone)
        check_view_distance(day, local_date(app.clock(), zone), "date")
        await changes.record(owner.provider.id, ChangeCause.SCHEDULE_CHANGED, [date_span(day, zone)])
        service_key = owner.service.id if owner.service else None
        replaced = next(
            (
                e
                for e in (await q.schedule_of(conn, owner.provider, owner.service)).exceptions
                if e.exception.day == day
            ),
            None,
        )
        added = await q.put_exception(
            conn, owner.provider.id, service_key, DateException(day, closed, parsed, note)
        )
        await record_change(
            conn,
            owner.provider.id,
            "BLOCKED_DATE" if closed else "DATE_EXCEPTION",
            "REPLACED" if replaced else "CREATED",
            _exception_json(replaced),
            _exception_json(added),
            actor=actor,
            service_id=service_key,
        )
        return await q.schedule_of(conn, owner.provider, owner.service), added


async def remove_date_exception(
    app: AppContext, exception_id: str, actor: str | None = None
) -> ScheduleRecord:
    key = parse_id(exception_id, "id", "date exception")
    async with changing(app) as changes:
        conn = changes.conn
        removed = await q.delete_exception(conn, key)
        if removed is None:
            raise NotFoundProblem("id", "date exception", exception_id)
        require_provider(removed.provider_id)
        provider = await q.get_provider(conn, removed.provider_id)
        assert provider is not None
        span = date_span(removed.exception.day, zone_named(provider.timezone))
        entity = "BLOCKED_DATE" if removed.exception.closed else "DATE_EXCEPTION"
        await record_change(
            conn,
            provider.id,
            entity,
            "REMOVED",
            _exception_json(removed),
            None,
            actor=actor,
            service_id=removed.service_id,
        )
        await changes.record(provider.id, ChangeCause.SCHEDULE_CHANGED, [span])
        service = await q.get_service(conn, removed.service_id) if removed.service_id else None
        return await q.schedule_of(conn, provider, service)


async def provider(app: AppContext, provider_id: str) -> ProviderRecord | None:
    try:
        key = parse_id(provider_id, "id", "provider")
    except NotFoundProblem:
        return None
    async with app.engine.connect() as conn:
        return await q.get_provider(conn, key)


async def service(app: AppContext, service_id: str) -> ServiceRecord | None:
    try:
        key = parse_id(service_id, "id", "service")
    except NotFoundProblem:
        return None
    async with app.engine.connect() as conn:
        return await q.get_service(conn, key)


async def services_of(app: AppContext, provider_id: str) -> list[ServiceRecord]:
    async with app.engine.connect() as conn:
        return await q.list_services(conn, parse_id(provider_id, "id", "provider"))


async def schedule(app: AppContext, provider_id: str, service_id: str | None) -> ScheduleRecord:
    async with app.engine.connect() as conn:
        owner = await _owner(conn, None if service_id else provider_id, service_id)
        return await q.schedule_of(conn, owner.provider, owner.service)


def _exception_json(record: ExceptionRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    e = record.exception
    return {
        "id": str(record.id),
        "date": e.day.isoformat(),
        "closed": e.closed,
        "reason": e.reason,
        "windows": [[w.start_text, w.end_text] for w in e.windows],
    }


async def _owner(conn: AsyncConnection, provider_id: str | None, service_id: str | None) -> ScheduleOwner:
    if (provider_id is None) == (service_id is None):
        raise ValidationProblem("providerId", "give exactly one of providerId and serviceId")
    if service_id is not None:
        found = await q.get_service(conn, parse_id(service_id, "serviceId", "service"))
        if found is None:
            raise NotFoundProblem("serviceId", "service", service_id)
        owner_provider = await q.get_provider(conn, found.provider_id)
        assert owner_provider is not None
        return ScheduleOwner(owner_provider, found)
    assert provider_id is not None
    return ScheduleOwner(await provider_or_404(conn, provider_id), None)
