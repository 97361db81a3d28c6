"""availabilityStatistics: how a provider's (or a service's) time is used over a period."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from domain.statistics import MAX_PERIOD_DAYS
from resolvers import statistics
from resolvers.statistics import AvailabilityStatistics as StatisticsResult
from schema.context import Info
from schema.errors import or_graphql_error
from schema.scalars import TimeZone
from schema.types import Weekday


@strawberry.type(
    description=(
        "How a provider's time (or one service's) is used over a period: the dates from..to, both "
        "included, in the provider's zone. Minutes are real elapsed time (a DST date counts as "
        "long as it is), rounded down to whole minutes; bookedMinutes + openMinutes <= "
        "availableMinutes, always."
    )
)
class AvailabilityStatistics:
    provider_id: strawberry.ID
    service_id: strawberry.ID | None = strawberry.field(
        description="The service asked about; null: the whole provider."
    )
    from_: date = strawberry.field(name="from", description="The period's first date (provider zone).")
    to: date = strawberry.field(description="The period's last date, included (provider zone).")
    timezone: TimeZone = strawberry.field(description="The provider's zone, in which the period's dates lie.")
    available_minutes: int = strawberry.field(
        description=(
            "Minutes of the schedule's windows in the period: the service's schedule when serviceId is "
            "given, else the provider's weekly schedule with its provider-level exceptions; a closed "
            "date has none."
        )
    )
    booked_minutes: int = strawberry.field(
        description=(
            "Minutes of active bookings (PENDING, CONFIRMED, PAID, IN_PROGRESS; never holds) of the "
            "provider (or the service) that lie inside those windows: never more than availableMinutes."
        )
    )
    open_minutes: int = strawberry.field(
        description=(
            "Minutes of those windows covered by no active booking of the provider (any service), no "
            "live hold and no calendar busy time (their own time, not buffers), all unioned so "
            "nothing counts twice."
        )
    )
    utilization_rate: float = strawberry.field(
        description="bookedMinutes / availableMinutes (0 when nothing is available), rounded half up to 4 decimals."
    )
    bookings: int = strawberry.field(
        description="Bookings of the provider (or the service), any status, starting in the period."
    )
    cancellations: int = strawberry.field(description="Those of `bookings` that are CANCELLED.")
    revenue_potential: Decimal = strawberry.field(
        description=(
            "The price of the still-open slots: over the services (or the one service), price x the "
            "number of candidate slots starting in the period that are available now; a service "
            "without a price counts 0."
        )
    )
    next_available_slot: datetime | None = strawberry.field(
        description=(
            "The start of the first slot available from now until the horizon, of the service (or of "
            "any service of the provider), in the provider's zone; null if none. Not bound to the period."
        )
    )
    busiest_weekday: Weekday | None = strawberry.field(
        description=(
            "The weekday (provider zone) with the most booked minutes in the period; ties go to the "
            "earlier weekday, Monday first; null when nothing is booked."
        )
    )

    @classmethod
    def of(cls, result: StatisticsResult) -> AvailabilityStatistics:
        time = result.time
        return cls(
            provider_id=strawberry.ID(result.provider_id),
            service_id=strawberry.ID(result.service_id) if result.service_id else None,
            from_=result.first,
            to=result.last,
            timezone=TimeZone(result.timezone),
            available_minutes=time.available_minutes,
            booked_minutes=time.booked_minutes,
            open_minutes=time.open_minutes,
            utilization_rate=time.utilization_rate,
            bookings=time.bookings,
            cancellations=time.cancellations,
            revenue_potential=result.revenue_potential,
            next_available_slot=result.next_available_slot,
            busiest_weekday=None if time.busiest_weekday is None else Weekday(time.busiest_weekday),
        )


@strawberry.type
class StatisticsQuery:
    @strawberry.field(
        description=(
            "Statistics of a provider, or of one of its services, for the dates from..to (both "
            f"included, provider zone; at most {MAX_PERIOD_DAYS} dates, `to` not before `from`)."
        )
    )
    async def availability_statistics(
        self,
        info: Info,
        provider_id: strawberry.ID,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        service_id: strawberry.ID | None = None,
    ) -> AvailabilityStatistics:
        result = await or_graphql_error(
            statistics.availability_statistics(info.context.app, provider_id, from_, to, service_id)
        )
        return AvailabilityStatistics.of(result)
