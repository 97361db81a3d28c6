"""Live subscriptions: slot changes, and a day view kept current."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import Annotated

import strawberry

from domain.changes import ChangeCause
from resolvers import availability, live
from schema.context import Info
from schema.errors import or_graphql_error
from schema.scalars import TimeZone
from schema.types import DayAvailability

ChangeCauseType = strawberry.enum(ChangeCause, name="ChangeCause")


@strawberry.type(description="Slots of these dates may have changed; refetch them.")
class SlotsChangedEvent:
    service_id: strawberry.ID
    provider_id: strawberry.ID
    dates: list[date] = strawberry.field(
        description="The watched dates (in the requested zone) the change touches; may be empty."
    )
    cause: ChangeCauseType  # type: ignore[valid-type]
    sequence: int = strawberry.field(
        description="Rises by one per change of the provider: a jump means a missed event. "
        "With cause RESYNC: the provider's latest sequence, and dates lists every watched date."
    )
    occurred_at: datetime


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="Every change of the service's provider, with the watched dates it touches."
    )
    async def slots_changed(
        self,
        info: Info,
        service_id: strawberry.ID,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
        timezone: TimeZone | None = None,
    ) -> AsyncGenerator[SlotsChangedEvent, None]:
        app = info.context.app
        scope = await or_graphql_error(live.watch_scope(app, service_id, from_, to, timezone))
        async with app.feed.subscribe() as changes:
            async for change in changes:
                if change.cause is ChangeCause.RESYNC:
                    sequence = await live.latest_sequence(app, scope.provider_id)
                    dates = scope.all_dates()
                elif change.provider_id == scope.provider_id:
                    sequence, dates = change.sequence, scope.dates_touched(change)
                else:
                    continue
                yield SlotsChangedEvent(
                    service_id=strawberry.ID(scope.service_id),
                    provider_id=strawberry.ID(scope.provider_id),
                    dates=dates,
                    cause=change.cause,
                    sequence=sequence,
                    occurred_at=change.occurred_at,
                )

    @strawberry.subscription(
        description="The day view at once, then again after every change that touches that date."
    )
    async def day_availability_updates(
        self, info: Info, service_id: strawberry.ID, date: date, timezone: TimeZone | None = None
    ) -> AsyncGenerator[DayAvailability, None]:
        app = info.context.app
        scope = await or_graphql_error(live.watch_scope(app, service_id, date, date, timezone))
        async with app.feed.subscribe() as changes:  # subscribe first, so nothing slips before the snapshot
            view = await or_graphql_error(availability.day_availability(app, service_id, date, timezone))
            yield DayAvailability.of(view, info.context.may_see_private(view.provider_id))
            async for change in changes:
                touched = change.cause is ChangeCause.RESYNC or (
                    change.provider_id == scope.provider_id and scope.dates_touched(change)
                )
                if touched:
                    view = await availability.day_availability(app, service_id, date, timezone)
                    yield DayAvailability.of(view, info.context.may_see_private(view.provider_id))
