"""Lookups every use case needs: a provider or service by id (or NotFound), and a judge for a span."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from db.availability_queries import load_occupancy, load_provider_and_service, load_schedule
from db.records import ProviderRecord, ServiceRecord
from db.setup_queries import get_provider
from domain.availability import load_span
from domain.changes import Span
from domain.errors import NotFoundProblem
from domain.local_time import start_of_day
from domain.reasons import SlotJudge
from domain.schedule import Schedule
from resolvers.context import parse_id


async def provider_or_404(conn: AsyncConnection, provider_id: str) -> ProviderRecord:
    found = await get_provider(conn, parse_id(provider_id, "providerId", "provider"))
    if found is None:
        raise NotFoundProblem("providerId", "provider", provider_id)
    return found


async def service_or_404(conn: AsyncConnection, service_id: str) -> tuple[ProviderRecord, ServiceRecord]:
    found = await load_provider_and_service(conn, parse_id(service_id, "serviceId", "service"))
    if found is None:
        raise NotFoundProblem("serviceId", "service", service_id)
    return found


async def judged(
    conn: AsyncConnection,
    provider: ProviderRecord,
    service: ServiceRecord,
    start: datetime,
    end: datetime,
    now: datetime,
    moving: str | None = None,
) -> tuple[Schedule, SlotJudge]:
    """The service's schedule and a judge holding every booking, hold and busy time that can touch
    slots starting in [start, end) (less `moving`, a booking being rescheduled)."""
    schedule = await load_schedule(conn, provider, service, start, end)
    occupancy = await load_occupancy(conn, provider.id, *load_span(service.rules, start, end), now)
    if moving is not None:
        occupancy = occupancy.without(moving)
    return schedule, SlotJudge(service.rules, ZoneInfo(provider.timezone), now, occupancy)


def date_span(day: date, zone: ZoneInfo) -> Span:
    """A date of a schedule, widened by a day either way for schedules in another zone."""
    return start_of_day(day - timedelta(days=1), zone), start_of_day(day + timedelta(days=2), zone)
