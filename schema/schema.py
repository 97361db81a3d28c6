"""Query and Mutation, and the schema object."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import date
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from db.reservation_queries import ReservationRecord
from domain.errors import ExternalServiceProblem, Forbidden, NotFoundProblem, Problem, ValidationProblem
from resolvers import availability, booking, calendar, setup
from resolvers.booking import SmartBooking as SmartBookingRecord
from resolvers.calendar import CalendarStatus
from schema.access import AccessMutation
from schema.booking_inputs import (
    CancelBookingInput,
    ConfirmHoldInput,
    CreateBookingInput,
    HoldSlotInput,
    RescheduleBookingInput,
    SmartBookInput,
    SuggestSlotsInput,
)
from schema.booking_types import (
    Booking,
    Hold,
    HoldExpired,
    IdempotencyConflict,
    SlotSuggestion,
    SlotUnavailable,
    SmartBooking,
    failure,
    smart_booking,
)
from schema.calendar_types import (
    CalendarConnection,
    CalendarSelectionInput,
    CalendarUnavailable,
    ConnectGoogleCalendarInput,
)
from schema.context import Info
from schema.errors import (
    NotFound,
    ValidationError,
    as_error,
    forbidden,
    or_error_result,
    or_graphql_error,
    or_problem,
)
from schema.inputs import (
    CreateProviderInput,
    CreateServiceInput,
    DateExceptionInput,
    SetWeeklyScheduleInput,
    spans,
    week,
)
from schema.management import ManagementMutation, ManagementQuery
from schema.notifications import NotificationsMutation, NotificationsSubscription
from schema.portability import PortabilityMutation, PortabilityQuery
from schema.scalars import SCALARS, TimeZone
from schema.statistics import StatisticsQuery
from schema.subscriptions import LiveSubscription
from schema.types import DayAvailability, MonthAvailability, Provider, Schedule, ScheduleResult, Service

HoldResult = Annotated[
    Hold | SlotUnavailable | ValidationError | NotFound | IdempotencyConflict, strawberry.union("HoldResult")
]
ReleaseResult = Annotated[Hold | ValidationError | NotFound, strawberry.union("ReleaseResult")]
BookingResult = Annotated[
    Booking | SlotUnavailable | HoldExpired | NotFound | ValidationError | IdempotencyConflict,
    strawberry.union("BookingResult"),
]
SmartBookingResult = Annotated[
    SmartBooking | SlotUnavailable | NotFound | ValidationError | IdempotencyConflict,
    strawberry.union("SmartBookingResult"),
]
CalendarResult = Annotated[
    CalendarConnection | ValidationError | NotFound | CalendarUnavailable, strawberry.union("CalendarResult")
]
ProviderResult = Annotated[Provider | ValidationError, strawberry.union("ProviderResult")]
ServiceResult = Annotated[Service | ValidationError | NotFound, strawberry.union("ServiceResult")]


@strawberry.type
class CoreQuery:
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

    @strawberry.field(description="Available slots scored against a preferred start, best first.")
    async def suggest_slots(self, info: Info, input: SuggestSlotsInput) -> list[SlotSuggestion]:
        found = await or_graphql_error(
            booking.suggest_slots(
                info.context.app,
                input.service_id,
                input.preferred_start,
                input.search_from,
                input.search_to,
                input.duration_minutes,
                input.limit,
            )
        )
        return [SlotSuggestion.of(s) for s in found]

    @strawberry.field
    async def booking(self, info: Info, id: strawberry.ID) -> Booking | None:
        found = await booking.booking(info.context.app, id)
        return Booking.of(found) if found and found.kind == "BOOKING" else None

    @strawberry.field
    async def provider(self, info: Info, id: strawberry.ID) -> Provider | None:
        found = await setup.provider(info.context.app, id)
        return Provider.of(found) if found else None

    @strawberry.field
    async def service(self, info: Info, id: strawberry.ID) -> Service | None:
        found = await setup.service(info.context.app, id)
        return Service.of(found) if found else None


@strawberry.type
class CoreMutation:
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
                info.context.app,
                input.provider_id,
                input.service_id,
                input.timezone,
                week(input.days),
                info.context.actor,
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
                info.context.actor,
            )
        )
        if isinstance(changed, ValidationError | NotFound):
            return changed
        schedule, added = changed
        return Schedule.of(schedule, added)

    @strawberry.mutation
    async def remove_date_exception(self, info: Info, id: strawberry.ID) -> ScheduleResult:
        changed = await or_error_result(setup.remove_date_exception(info.context.app, id, info.context.actor))
        return changed if isinstance(changed, ValidationError | NotFound) else Schedule.of(changed)

    @strawberry.mutation(description="Keeps a slot for this customer for the service's holdMinutes.")
    async def hold_slot(self, info: Info, input: HoldSlotInput) -> HoldResult:
        return await _hold_result(
            booking.hold_slot(
                info.context.app, input.service_id, input.start, input.customer_id, input.idempotency_key
            )
        )

    @strawberry.mutation(description="Frees a hold at once; only its customer may.")
    async def release_hold(
        self, info: Info, hold_id: strawberry.ID, customer_id: str | None = None
    ) -> ReleaseResult:
        return await _hold_result(booking.release_hold(info.context.app, hold_id, customer_id or ""))

    @strawberry.mutation(
        description="Turns a hold into a booking, atomically; an expired hold gives HoldExpired."
    )
    async def confirm_hold(self, info: Info, input: ConfirmHoldInput) -> BookingResult:
        return await _booking_result(
            booking.confirm_hold(info.context.app, input.hold_id, input.customer_id, input.idempotency_key)
        )

    @strawberry.mutation
    async def create_booking(self, info: Info, input: CreateBookingInput) -> BookingResult:
        return await _booking_result(
            booking.create_booking(
                info.context.app, input.service_id, input.start, input.customer_id, input.idempotency_key
            )
        )

    @strawberry.mutation(description="Cancels a booking and frees its time at once.")
    async def cancel_booking(self, info: Info, input: CancelBookingInput) -> BookingResult:
        return await _booking_result(
            booking.cancel_booking(info.context.app, input.booking_id, input.customer_id, input.reason)
        )

    @strawberry.mutation(description="Moves a booking atomically: the new slot taken, the old one freed.")
    async def reschedule_booking(self, info: Info, input: RescheduleBookingInput) -> BookingResult:
        return await _booking_result(
            booking.reschedule_booking(
                info.context.app, input.booking_id, input.new_start, input.customer_id, input.idempotency_key
            )
        )

    @strawberry.mutation(description="Books the best-scored available slot in one step.")
    async def smart_book(self, info: Info, input: SmartBookInput) -> SmartBookingResult:
        outcome = await or_problem(
            booking.smart_book(
                info.context.app,
                input.service_id,
                input.preferred_start,
                input.search_from,
                input.search_to,
                input.customer_id,
                input.idempotency_key,
            )
        )
        return smart_booking(outcome) if isinstance(outcome, SmartBookingRecord) else failure(outcome)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Exchanges an OAuth code for tokens, lists the calendars (primary counts), syncs."
    )
    async def connect_google_calendar(self, info: Info, input: ConnectGoogleCalendarInput) -> CalendarResult:
        return await _calendar_result(
            calendar.connect_google_calendar(
                info.context.app, input.provider_id, input.authorization_code, input.redirect_uri
            )
        )

    @strawberry.mutation(description="Forgets the tokens and the synced busy time; stops push channels.")
    async def disconnect_google_calendar(self, info: Info, provider_id: strawberry.ID) -> CalendarResult:
        return await _calendar_result(calendar.disconnect_google_calendar(info.context.app, provider_id))

    @strawberry.mutation(description="Chooses which of the provider's calendars block slots.")
    async def set_calendar_selection(self, info: Info, input: CalendarSelectionInput) -> CalendarResult:
        return await _calendar_result(
            calendar.set_calendar_selection(info.context.app, input.provider_id, input.calendar_ids)
        )

    @strawberry.mutation(description="Syncs the provider's calendars now.")
    async def sync_calendars(self, info: Info, provider_id: strawberry.ID) -> CalendarResult:
        async def one() -> CalendarStatus:
            return (await calendar.sync_calendars(info.context.app, provider_id))[0]

        return await _calendar_result(one())


async def _booking_result(pending: Awaitable[ReservationRecord | Problem]) -> BookingResult:
    outcome = await or_problem(pending)
    return Booking.of(outcome) if isinstance(outcome, ReservationRecord) else failure(outcome)  # type: ignore[return-value]


async def _hold_result(pending: Awaitable[ReservationRecord | Problem]) -> HoldResult:
    outcome = await or_problem(pending)
    return Hold.of(outcome) if isinstance(outcome, ReservationRecord) else failure(outcome)  # type: ignore[return-value]


async def _calendar_result(pending: Awaitable[CalendarStatus]) -> CalendarResult:
    try:
        return CalendarConnection.of(await pending)
    except ExternalServiceProblem as problem:
        return CalendarUnavailable(message=problem.message)
    except Forbidden as refused:
        raise forbidden(refused) from None
    except (ValidationProblem, NotFoundProblem) as problem:
        return as_error(problem)  # type: ignore[return-value]


log = logging.getLogger("slotwise.graphql")

# Each feature's operations live in its own module; they are merged here.
QUERIES: tuple[type, ...] = (CoreQuery, ManagementQuery, StatisticsQuery, PortabilityQuery)
MUTATIONS: tuple[type, ...] = (
    CoreMutation,
    ManagementMutation,
    PortabilityMutation,
    NotificationsMutation,
    AccessMutation,
)
SUBSCRIPTIONS: tuple[type, ...] = (LiveSubscription, NotificationsSubscription)
Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS)

# Limits on one document. Introspection fields (`__schema`, `__type`) do not count towards the
# depth, so GraphiQL's introspection query passes; it has about 200 tokens and no aliases.
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000

# The limiters' rules are built once: each limiter instance makes a new rule class, and the
# validation cache (keyed by the rules) would never hit if they were built per operation.
_LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]
_NO_INTROSPECTION_RULES = [*_LIMIT_RULES, NoSchemaIntrospectionCustomRule]


def _unexpected(error: GraphQLError) -> bool:
    """A fault of ours, not the client's: its text (SQL, internals) must not reach the client."""
    original = error.original_error
    return original is not None and not isinstance(
        original, ValueError | GraphQLError | NotFoundProblem | Forbidden
    )


class SlotwiseSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log our own faults with their traceback; the client's mistakes are answered, not logged."""
        for error in errors:
            if _unexpected(error):
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema with its limits; without introspection (`__schema`, `__type`) for production."""
    rules = _LIMIT_RULES if introspection else _NO_INTROSPECTION_RULES
    return SlotwiseSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: AddValidationRules(rules),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: MaskErrors(
                should_mask_error=_unexpected, error_message="Internal error; it has been logged."
            ),
        ],
        config=StrawberryConfig(scalar_map=SCALARS),
    )


schema = build_schema()


def export_sdl() -> str:
    return schema.as_str() + "\n"
