"""What a live subscriber watches, and which of its dates a change touches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from db.availability_queries import load_provider_and_service
from db.change_queries import current_sequence
from domain.availability import check_view_distance
from domain.changes import AvailabilityChange, affected_dates
from domain.errors import NotFoundProblem, ValidationProblem
from domain.local_time import local_date, zone_named
from domain.service_rules import ServiceRules
from resolvers.context import AppContext, parse_id

MAX_WATCH_DAYS = 366


@dataclass(frozen=True)
class WatchScope:
    service_id: str
    provider_id: str
    rules: ServiceRules
    zone: ZoneInfo
    first: date
    last: date

    def dates_touched(self, change: AvailabilityChange) -> list[date]:
        return affected_dates(change.spans, self.rules, self.zone, self.first, self.last)

    def all_dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


async def watch_scope(
    app: AppContext, service_id: str, first: date | None, last: date | None, timezone: str | None
) -> WatchScope:
    """Check a subscription's arguments; by default it watches today to the end of the horizon."""
    async with app.engine.connect() as conn:
        found = await load_provider_and_service(conn, parse_id(service_id, "serviceId", "service"))
    if found is None:
        raise NotFoundProblem("serviceId", "service", service_id)
    provider, service = found
    zone = zone_named(timezone or provider.timezone)
    today = local_date(app.clock(), zone)
    first = first or today
    last = last or max(first, today) + timedelta(days=service.rules.horizon_days)
    check_view_distance(first, today, "from")
    check_view_distance(last, today, "to")
    if last < first:
        raise ValidationProblem("to", f"{last} is before from ({first})")
    if (last - first).days >= MAX_WATCH_DAYS:
        raise ValidationProblem("to", f"watch at most {MAX_WATCH_DAYS} days at once")
    return WatchScope(str(service.id), str(provider.id), service.rules, zone, first, last)


async def latest_sequence(app: AppContext, provider_id: str) -> int:
    async with app.engine.connect() as conn:
        return await current_sequence(conn, parse_id(provider_id, "providerId", "provider"))
