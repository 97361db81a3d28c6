"""Availability management for providers: bulk weekly edits, windows, blocked dates, the change
log, and conflicts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from domain.conflicts import ConflictType, Strategy
from resolvers import management
from resolvers.management import Conflict, WindowChange, WindowEdit
from schema.context import Info
from schema.errors import NotFound, ValidationError, or_error_result, or_graphql_error
from schema.types import Schedule, ScheduleResult, Weekday

ConflictTypeEnum = strawberry.enum(ConflictType, name="AvailabilityConflictType")
StrategyEnum = strawberry.enum(Strategy, name="ConflictResolutionStrategy")


@strawberry.type
class AvailabilityConflict:
    type: ConflictTypeEnum  # type: ignore[valid-type]
    description: str
    weekday: Weekday | None
    window_ids: list[strawberry.ID]
    booking_id: strawberry.ID | None
    start: datetime | None
    end: datetime | None

    @classmethod
    def of(cls, c: Conflict) -> AvailabilityConflict:
        return cls(
            type=c.type,
            description=c.description,
            weekday=Weekday(c.weekday) if c.weekday is not None else None,
            window_ids=[strawberry.ID(i) for i in c.window_ids],
            booking_id=strawberry.ID(c.booking_id) if c.booking_id else None,
            start=c.start,
            end=c.end,
        )


@strawberry.type
class ConflictResolution:
    strategy: StrategyEnum  # type: ignore[valid-type]
    dry_run: bool
    applied: bool
    changes: list[str] = strawberry.field(description="What changed (or, in a dry run, would change).")
    remaining: list[AvailabilityConflict] = strawberry.field(
        description="Conflicts left; bookings outside availability are reported, never cancelled."
    )


@strawberry.type
class AvailabilityChangeEntry:
    id: strawberry.ID
    provider_id: strawberry.ID
    service_id: strawberry.ID | None
    actor: str | None
    entity: str
    action: str
    before: JSON | None
    after: JSON | None
    at: datetime


@strawberry.input
class WindowEditInput:
    weekday: Weekday
    start: str
    end: str


@strawberry.input
class WindowChangeInput:
    id: strawberry.ID
    start: str
    end: str


@strawberry.input(description="Adds, updates and removes weekly windows in one transaction.")
class RecurringSchedulesInput:
    provider_id: strawberry.ID
    add: list[WindowEditInput] = strawberry.field(default_factory=list)
    update: list[WindowChangeInput] = strawberry.field(default_factory=list)
    remove: list[strawberry.ID] = strawberry.field(default_factory=list)
    merge_overlapping: bool = strawberry.field(
        default=False, description="Join windows of a day that overlap or touch instead of refusing them."
    )


@strawberry.input(description="A weekly window (weekday) or extra availability on one date (date).")
class AvailabilityWindowInput:
    provider_id: strawberry.ID
    weekday: Weekday | None = None
    date: date | None = None
    start: str
    end: str
    reason: str | None = None


@strawberry.input
class BlockDateInput:
    provider_id: strawberry.ID | None = None
    service_id: strawberry.ID | None = None
    date: date
    reason: str | None = None


@strawberry.input
class ResolveConflictsInput:
    provider_id: strawberry.ID
    from_: date = strawberry.field(name="from")
    to: date
    strategy: StrategyEnum  # type: ignore[valid-type]
    dry_run: bool = False


@strawberry.type
class ManagementQuery:
    @strawberry.field(description="Where availability and reality disagree, with types.")
    async def availability_conflicts(
        self,
        info: Info,
        provider_id: strawberry.ID,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
    ) -> list[AvailabilityConflict]:
        found = await or_graphql_error(
            management.availability_conflicts(info.context.app, provider_id, from_, to)
        )
        return [AvailabilityConflict.of(c) for c in found]

    @strawberry.field(description="The availability change log, newest first.")
    async def availability_changes(
        self,
        info: Info,
        provider_id: strawberry.ID,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AvailabilityChangeEntry]:
        entries = await or_graphql_error(
            management.availability_changes(info.context.app, provider_id, since, until, limit)
        )
        return [
            AvailabilityChangeEntry(
                id=strawberry.ID(str(e.id)),
                provider_id=strawberry.ID(str(e.provider_id)),
                service_id=strawberry.ID(str(e.service_id)) if e.service_id else None,
                actor=e.actor,
                entity=e.entity,
                action=e.action,
                before=e.before,
                after=e.after,
                at=e.at,
            )
            for e in entries
        ]


def _schedule(outcome: Any) -> Any:
    return outcome if isinstance(outcome, ValidationError | NotFound) else Schedule.of(outcome)


@strawberry.type
class ManagementMutation:
    @strawberry.mutation(description="Adds, updates and removes weekly windows in one transaction.")
    async def set_recurring_schedules(self, info: Info, input: RecurringSchedulesInput) -> ScheduleResult:
        return _schedule(
            await or_error_result(
                management.set_recurring_schedules(
                    info.context.app,
                    input.provider_id,
                    [WindowEdit(e.weekday.value, e.start, e.end) for e in input.add],
                    [WindowChange(c.id, c.start, c.end) for c in input.update],
                    list(input.remove),
                    input.merge_overlapping,
                    info.context.actor,
                )
            )
        )

    @strawberry.mutation(description="A weekly window, or extra availability on one date.")
    async def add_availability_window(self, info: Info, input: AvailabilityWindowInput) -> ScheduleResult:
        outcome = await or_error_result(
            management.add_availability_window(
                info.context.app,
                input.provider_id,
                input.weekday.value if input.weekday else None,
                input.date,
                input.start,
                input.end,
                input.reason,
                info.context.actor,
            )
        )
        return outcome if isinstance(outcome, ValidationError | NotFound) else Schedule.of(outcome[0])

    @strawberry.mutation
    async def remove_availability_window(self, info: Info, id: strawberry.ID) -> ScheduleResult:
        return _schedule(
            await or_error_result(
                management.remove_availability_window(info.context.app, id, info.context.actor)
            )
        )

    @strawberry.mutation(description="Closes a date for the provider (or one service), with a reason.")
    async def block_date(self, info: Info, input: BlockDateInput) -> ScheduleResult:
        return _schedule(
            await or_error_result(
                management.block_date(
                    info.context.app,
                    input.provider_id,
                    input.service_id,
                    input.date,
                    input.reason,
                    info.context.actor,
                )
            )
        )

    @strawberry.mutation
    async def unblock_date(
        self,
        info: Info,
        date: date,
        provider_id: strawberry.ID | None = None,
        service_id: strawberry.ID | None = None,
    ) -> ScheduleResult:
        return _schedule(
            await or_error_result(
                management.unblock_date(info.context.app, provider_id, service_id, date, info.context.actor)
            )
        )

    @strawberry.mutation(
        description="Resolves overlapping windows by ADJUST, REMOVE or MERGE; all or nothing."
    )
    async def resolve_availability_conflicts(
        self, info: Info, input: ResolveConflictsInput
    ) -> Annotated[
        ConflictResolution | ValidationError | NotFound, strawberry.union("ConflictResolutionResult")
    ]:
        outcome = await or_error_result(
            management.resolve_availability_conflicts(
                info.context.app,
                input.provider_id,
                input.from_,
                input.to,
                input.strategy,
                input.dry_run,
                info.context.actor,
            )
        )
        if isinstance(outcome, ValidationError | NotFound):
            return outcome
        return ConflictResolution(
            strategy=outcome.strategy,
            dry_run=outcome.dry_run,
            applied=outcome.applied,
            changes=outcome.changes,
            remaining=[AvailabilityConflict.of(c) for c in outcome.remaining],
        )
