"""Query and Mutation, and the schema object."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from resolvers import availability, setup
from schema.context import Info
from schema.errors import NotFound, ValidationError, or_error_result, or_graphql_error
from schema.inputs import (
    CreateProviderInput,
    CreateServiceInput,
    DateExceptionInput,
    SetWeeklyScheduleInput,
    spans,
    week,
)
from schema.scalars import SCALARS, TimeZone
from schema.types import DayAvailability, MonthAvailability, Provider, Schedule, Service

ProviderResult = Annotated[Provider | ValidationError, strawberry.union("ProviderResult")]
ServiceResult = Annotated[Service | ValidationError | NotFound, strawberry.union("ServiceResult")]
ScheduleResult = Annotated[Schedule | ValidationError | NotFound, strawberry.union("ScheduleResult")]


@strawberry.type
class Query:
    @strawberry.field(description='Which dates of a month ("2026-03") can be booked, and why not the others.')
    async def month_availability(
        self, info: Info, service_id: strawberry.ID, month: str, timezone: TimeZone | None = None
    ) -> MonthAvailability:
        result = await or_graphql_error(
            availability.month_availability(info.context.app, service_id, month, timezone)
        )
        return MonthAvailability.of(result)

    @strawberry.field(
        description="Every candidate slot of a date: available, or unavailable with its reason."
    )
    async def day_availability(
        self, info: Info, service_id: strawberry.ID, date: date, timezone: TimeZone | None = None
    ) -> DayAvailability:
        result = await or_graphql_error(
            availability.day_availability(info.context.app, service_id, date, timezone)
        )
        return DayAvailability.of(result, info.context.may_see_private(result.provider_id))

    @strawberry.field
    async def provider(self, info: Info, id: strawberry.ID) -> Provider | None:
        found = await setup.provider(info.context.app, id)
        return Provider.of(found) if found else None

    @strawberry.field
    async def service(self, info: Info, id: strawberry.ID) -> Service | None:
        found = await setup.service(info.context.app, id)
        return Service.of(found) if found else None


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_provider(self, info: Info, input: CreateProviderInput) -> ProviderResult:
        created = await or_error_result(setup.create_provider(info.context.app, input.name, input.timezone))
        return created if isinstance(created, ValidationError | NotFound) else Provider.of(created)  # type: ignore[return-value]

    @strawberry.mutation
    async def create_service(self, info: Info, input: CreateServiceInput) -> ServiceResult:
        created = await or_error_result(setup.create_service(info.context.app, input.to_use_case()))
        return created if isinstance(created, ValidationError | NotFound) else Service.of(created)

    @strawberry.mutation(description="Replaces the whole week of a provider or of one service.")
    async def set_weekly_schedule(self, info: Info, input: SetWeeklyScheduleInput) -> ScheduleResult:
        changed = await or_error_result(
            setup.set_weekly_schedule(
                info.context.app, input.provider_id, input.service_id, input.timezone, week(input.days)
            )
        )
        return changed if isinstance(changed, ValidationError | NotFound) else Schedule.of(changed)

    @strawberry.mutation(
        description="Closes a date, or gives it its own windows; replaces one already there."
    )
    async def add_date_exception(self, info: Info, input: DateExceptionInput) -> ScheduleResult:
        changed = await or_error_result(
            setup.add_date_exception(
                info.context.app,
                input.provider_id,
                input.service_id,
                input.date,
                input.closed,
                spans(input.windows),
                input.reason,
            )
        )
        if isinstance(changed, ValidationError | NotFound):
            return changed
        schedule, added = changed
        return Schedule.of(schedule, added)

    @strawberry.mutation
    async def remove_date_exception(self, info: Info, id: strawberry.ID) -> ScheduleResult:
        changed = await or_error_result(setup.remove_date_exception(info.context.app, id))
        return changed if isinstance(changed, ValidationError | NotFound) else Schedule.of(changed)


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
    config=StrawberryConfig(scalar_map=SCALARS),
)


def export_sdl() -> str:
    return schema.as_str() + "\n"
