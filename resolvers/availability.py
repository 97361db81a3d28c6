"""Month and day availability of a service, in any viewer's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.availability import (
    DayView,
    MonthView,
    check_view_distance,
    day_bounds,
    day_view,
    first_available,
    month_days,
    month_view,
    next_available_search,
    parse_month,
)
from domain.local_time import local_date, zone_named
from resolvers.context import AppContext
from resolvers.lookups import judged, service_or_404
from resolvers.view_codec import day_from_json, day_to_json, month_from_json, month_to_json


@dataclass(frozen=True)
class MonthAvailability:
    month: str
    timezone: str
    provider_id: str
    view: MonthView
    next_available: date | None


@dataclass(frozen=True)
class DayAvailability:
    timezone: str
    provider_id: str
    view: DayView


async def month_availability(
    app: AppContext, service_id: str, month: str, timezone: str | None
) -> MonthAvailability:
    first_day = parse_month(month)
    now = app.clock()
    key = f"month|{service_id}|{first_day:%Y-%m}|{timezone or ''}"
    seen = await app.cache.get(key, service_id, now)
    if seen.value is not None:
        return _month_from_cache(seen.value)
    async with app.engine.connect() as conn:
        provider, service = await service_or_404(conn, service_id)
        zone = zone_named(timezone or provider.timezone)
        check_view_distance(first_day, local_date(now, zone), "month")
        days = month_days(first_day)
        start, end = day_bounds(days[0], zone)[0], day_bounds(days[-1], zone)[1]
        schedule, judge = await judged(conn, provider, service, start, end, now)
        view = month_view(schedule, judge, first_day, zone)
        next_day, rest = next_available_search(view, judge, zone)
        until = view.stable_until
        if rest is not None:
            schedule, judge = await judged(conn, provider, service, *rest, now)
            found = first_available(schedule, judge, *rest)
            if found is not None:
                next_day = local_date(found, zone)
                until = min(until, found - service.rules.min_notice)
    result = MonthAvailability(f"{first_day:%Y-%m}", zone.key, str(provider.id), view, next_day)
    value = {
        "month": result.month,
        "timezone": result.timezone,
        "provider": result.provider_id,
        "next": next_day.isoformat() if next_day else None,
        "view": month_to_json(view),
    }
    await app.cache.put(key, service_id, str(provider.id), seen, value, until)
    return result


async def day_availability(
    app: AppContext, service_id: str, day: date, timezone: str | None
) -> DayAvailability:
    now = app.clock()
    key = f"day|{service_id}|{day}|{timezone or ''}"
    seen = await app.cache.get(key, service_id, now)
    if seen.value is not None:
        value = seen.value
        return DayAvailability(value["timezone"], value["provider"], day_from_json(value["view"]))
    async with app.engine.connect() as conn:
        provider, service = await service_or_404(conn, service_id)
        zone = zone_named(timezone or provider.timezone)
        check_view_distance(day, local_date(now, zone), "date")
        start, end = day_bounds(day, zone)
        schedule, judge = await judged(conn, provider, service, start, end, now)
    view = day_view(schedule, judge, day, zone)
    value = {"timezone": zone.key, "provider": str(provider.id), "view": day_to_json(view)}
    await app.cache.put(key, service_id, str(provider.id), seen, value, view.stable_until)
    return DayAvailability(zone.key, str(provider.id), view)


def _month_from_cache(value: dict[str, Any]) -> MonthAvailability:
    next_day = date.fromisoformat(value["next"]) if value["next"] else None
    return MonthAvailability(
        value["month"], value["timezone"], value["provider"], month_from_json(value["view"]), next_day
    )
