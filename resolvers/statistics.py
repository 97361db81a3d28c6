"""Availability statistics of a provider, or of one of its services, over a period of dates.

The figures are defined in `domain.statistics`; this use case loads what they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from db.availability_queries import load_occupancy, load_schedule
from db.records import ProviderRecord, ServiceRecord
from db.setup_queries import get_provider, list_services
from db.statistics_queries import bookings_between, load_provider_schedule
from domain.availability import first_available
from domain.errors import NotFoundProblem
from domain.local_time import local_date
from domain.occupancy import Occupancy
from domain.reasons import horizon_end
from domain.statistics import (
    BookingSpan,
    Span,
    TimeStatistics,
    check_period,
    count_available,
    period_bounds,
    revenue_potential,
    span_of,
    time_statistics,
    window_spans,
)
from resolvers.access import require_provider
from resolvers.context import AppContext, parse_id
from resolvers.lookups import judged


@dataclass(frozen=True)
class AvailabilityStatistics:
    provider_id: str
    service_id: str | None
    first: date
    last: date
    timezone: str
    time: TimeStatistics
    revenue_potential: Decimal
    next_available_slot: datetime | None  # in the provider's zone


async def availability_statistics(
    app: AppContext, provider_id: str, first: date, last: date, service_id: str | None = None
) -> AvailabilityStatistics:
    """Statistics of the provider (or of the service, when `service_id` is given) for the dates
    first .. last in the provider's zone."""
    provider_key = parse_id(provider_id, "providerId", "provider")
    service_key = None if service_id is None else parse_id(service_id, "serviceId", "service")
    now = app.clock()
    async with app.engine.connect() as conn:
        require_provider(provider_key)
        provider = await get_provider(conn, provider_key)
        if provider is None:
            raise NotFoundProblem("providerId", "provider", provider_id)
        zone = ZoneInfo(provider.timezone)
        check_period(first, last, local_date(now, zone))
        start, end = period_bounds(first, last, zone)
        services = await list_services(conn, provider.id)
        if service_key is not None:
            services = [s for s in services if s.id == service_key]
            if not services:
                raise NotFoundProblem("serviceId", "service", str(service_id))
            schedule = await load_schedule(conn, provider, services[0], start, end)
        else:
            schedule = await load_provider_schedule(conn, provider, start, end)
        rows = await bookings_between(conn, provider.id, start, end)
        occupancy = await load_occupancy(conn, provider.id, start, end, now)
        counted = [
            BookingSpan(row.start, row.end, row.active, row.cancelled)
            for row in rows
            if service_key is None or row.service_id == service_key
        ]
        taken = [span_of(row.start, row.end) for row in rows if row.active] + _taken(occupancy)
        figures = time_statistics(window_spans(schedule, start, end), counted, taken, first, last, zone)
        revenue = revenue_potential(
            [
                (service.price, await _available_slots(conn, provider, service, start, end, now))
                for service in services
                if service.price is not None
            ]
        )
        found = [await _next_available(conn, provider, service, now) for service in services]
    following = min((f for f in found if f is not None), default=None)
    return AvailabilityStatistics(
        str(provider.id),
        None if service_key is None else str(service_key),
        first,
        last,
        zone.key,
        figures,
        revenue,
        None if following is None else following.astimezone(zone),
    )


def _taken(occupancy: Occupancy) -> list[Span]:
    """Own time of the active bookings and live holds, and the calendar busy time."""
    own = zip(occupancy.own_start.tolist(), occupancy.own_end.tolist(), strict=True)
    busy = zip(occupancy.busy_start.tolist(), occupancy.busy_end.tolist(), strict=True)
    return [(int(s), int(e)) for s, e in (*own, *busy)]


async def _available_slots(
    conn: AsyncConnection,
    provider: ProviderRecord,
    service: ServiceRecord,
    start: datetime,
    end: datetime,
    now: datetime,
) -> int:
    """The service's candidate slots starting in [start, end) that are available now."""
    schedule, judge = await judged(conn, provider, service, start, end, now)
    return count_available(schedule, judge, start, end)


async def _next_available(
    conn: AsyncConnection, provider: ProviderRecord, service: ServiceRecord, now: datetime
) -> datetime | None:
    """The service's first available slot from now until its horizon."""
    until = horizon_end(now, ZoneInfo(provider.timezone), service.rules.horizon_days)
    schedule, judge = await judged(conn, provider, service, now, until, now)
    return first_available(schedule, judge, now, until)
