"""Output types of the API."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import strawberry
from graphql import GraphQLError

from db.records import ExceptionRecord, ProviderRecord, ScheduleRecord, ServiceRecord
from domain.occupancy import BusyInterval, Reservation
from domain.reasons import DayReason, SlotReason, SlotVerdict
from domain.schedule import WEEKDAYS, Window
from resolvers import calendar, management, setup
from schema.calendar_types import CalendarConnection, CalendarSync, CalendarSyncStatus
from schema.context import Info
from schema.errors import NotFound, ValidationError
from schema.scalars import TimeZone

if TYPE_CHECKING:
    from resolvers.availability import DayAvailability as DayResult
    from resolvers.availability import MonthAvailability as MonthResult


async def calendar_sync(info: Info, provider_id: str) -> CalendarSync:
    status = await calendar.calendar_status(info.context.app, provider_id)
    return CalendarSync(status=CalendarSyncStatus(status.status), last_synced_at=status.last_synced_at)


SlotUnavailableReason = strawberry.enum(SlotReason, name="SlotUnavailableReason")
DayUnavailableReason = strawberry.enum(DayReason, name="DayUnavailableReason")


@strawberry.enum
class Weekday(enum.Enum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


assert [w.name for w in Weekday] == list(WEEKDAYS)


@strawberry.type(description="A span of local wall-clock time, HH:MM to HH:MM (24:00 is midnight).")
class TimeWindow:
    start: str
    end: str

    @classmethod
    def of(cls, window: Window) -> TimeWindow:
        return cls(start=window.start_text, end=window.end_text)


@strawberry.type
class DaySchedule:
    weekday: Weekday
    windows: list[TimeWindow]


@strawberry.type(description="A date that is closed, or that has its own windows instead of the weekly ones.")
class DateException:
    id: strawberry.ID
    date: date
    closed: bool
    windows: list[TimeWindow]
    reason: str | None
    service_id: strawberry.ID | None

    @classmethod
    def of(cls, record: ExceptionRecord) -> DateException:
        e = record.exception
        return cls(
            id=strawberry.ID(str(record.id)),
            date=e.day,
            closed=e.closed,
            windows=[TimeWindow.of(w) for w in e.windows],
            reason=e.reason,
            service_id=strawberry.ID(str(record.service_id)) if record.service_id else None,
        )


@strawberry.type(description="A weekly window with its id (for updates and removal).")
class RecurringWindow:
    id: strawberry.ID
    weekday: Weekday
    start: str
    end: str


@strawberry.type(description="Extra availability on one date, on top of its weekly windows.")
class DateWindow:
    id: strawberry.ID
    date: date
    start: str
    end: str
    reason: str | None


@strawberry.type(description="A provider's or a service's weekly schedule and its date exceptions.")
class Schedule:
    provider_id: strawberry.ID
    service_id: strawberry.ID | None
    timezone: TimeZone
    days: list[DaySchedule]
    exceptions: list[DateException]
    changed_exception: DateException | None = strawberry.field(
        default=None, description="The exception that addDateException just added."
    )

    @strawberry.field(
        description="The provider's weekly windows with their ids (empty for a service's own week)."
    )
    async def windows(self, info: Info) -> list[RecurringWindow]:
        if self.service_id is not None:
            return []
        weekly, _ = await management.windows_of(info.context.app, self.provider_id)
        return [
            RecurringWindow(
                id=strawberry.ID(str(w.id)),
                weekday=Weekday(w.weekday),
                start=w.window.start_text,
                end=w.window.end_text,
            )
            for w in weekly
        ]

    @strawberry.field(description="The provider's extra windows on specific dates.")
    async def date_windows(self, info: Info) -> list[DateWindow]:
        _, extra = await management.windows_of(info.context.app, self.provider_id)
        return [
            DateWindow(
                id=strawberry.ID(str(w.id)),
                date=w.day,
                start=w.window.start_text,
                end=w.window.end_text,
                reason=w.reason,
            )
            for w in extra
        ]

    @classmethod
    def of(cls, record: ScheduleRecord, changed: ExceptionRecord | None = None) -> Schedule:
        return cls(
            provider_id=strawberry.ID(str(record.provider_id)),
            service_id=strawberry.ID(str(record.service_id)) if record.service_id else None,
            timezone=record.plan.timezone,
            days=[
                DaySchedule(weekday=Weekday(day), windows=[TimeWindow.of(w) for w in windows])
                for day, windows in sorted(record.plan.days.items())
            ],
            exceptions=[DateException.of(e) for e in record.exceptions],
            changed_exception=DateException.of(changed) if changed else None,
        )


@strawberry.type
class Provider:
    id: strawberry.ID
    name: str
    timezone: TimeZone

    @classmethod
    def of(cls, record: ProviderRecord) -> Provider:
        return cls(id=strawberry.ID(str(record.id)), name=record.name, timezone=record.timezone)

    @strawberry.field
    async def services(self, info: Info) -> list[Service]:
        return [Service.of(s) for s in await setup.services_of(info.context.app, self.id)]

    @strawberry.field(description="The provider's Google Calendar connection.")
    async def calendar_connection(self, info: Info) -> CalendarConnection:
        if not info.context.may_see_private(self.id):
            raise GraphQLError(
                "only this provider's keys and admins see its calendar connection",
                extensions={"code": "FORBIDDEN"},
            )
        return CalendarConnection.of(await calendar.calendar_status(info.context.app, self.id))

    @strawberry.field(description="The provider's weekly schedule and its date exceptions.")
    async def weekly_schedule(self, info: Info) -> Schedule:
        return Schedule.of(await setup.schedule(info.context.app, self.id, None))


@strawberry.type
class Service:
    id: strawberry.ID
    provider_id: strawberry.ID
    name: str
    duration_minutes: int
    slot_interval_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    horizon_days: int
    hold_minutes: int
    price: Decimal | None
    has_own_schedule: bool

    @classmethod
    def of(cls, record: ServiceRecord) -> Service:
        r = record.rules
        return cls(
            id=strawberry.ID(str(record.id)),
            provider_id=strawberry.ID(str(record.provider_id)),
            name=record.name,
            duration_minutes=r.duration_minutes,
            slot_interval_minutes=r.slot_interval_minutes,
            buffer_before_minutes=r.buffer_before_minutes,
            buffer_after_minutes=r.buffer_after_minutes,
            min_notice_minutes=r.min_notice_minutes,
            horizon_days=r.horizon_days,
            hold_minutes=r.hold_minutes,
            price=record.price,
            has_own_schedule=record.own_schedule is not None,
        )

    @strawberry.field
    async def provider(self, info: Info) -> Provider:
        found = await setup.provider(info.context.app, self.provider_id)
        assert found is not None
        return Provider.of(found)

    @strawberry.field(description="The week this service is booked by (its own, else the provider's).")
    async def schedule(self, info: Info) -> Schedule:
        return Schedule.of(await setup.schedule(info.context.app, self.provider_id, self.id))


@strawberry.type
class Slot:
    start: datetime
    end: datetime
    time: str = strawberry.field(description="Local HH:MM of the start in the requested time zone.")


@strawberry.type
class UnavailableSlot:
    start: datetime
    end: datetime
    time: str
    reason: SlotUnavailableReason  # type: ignore[valid-type]
    booking_id: strawberry.ID | None = strawberry.field(
        description="The booking or hold in the way; only for the provider or an admin."
    )
    event: str | None = strawberry.field(
        description="Title of the calendar event in the way; only for the provider or an admin."
    )


@strawberry.type
class AvailableDate:
    date: date
    available_slots: int


@strawberry.type
class UnavailableDate:
    date: date
    reason: DayUnavailableReason  # type: ignore[valid-type]


@strawberry.type
class MonthAvailability:
    month: str
    timezone: TimeZone
    available_dates: list[AvailableDate]
    unavailable_dates: list[UnavailableDate]
    next_available_date: date | None
    provider_id: strawberry.Private[str]

    @strawberry.field(description="How fresh the provider's calendar busy time behind this view is.")
    async def calendar_sync(self, info: Info) -> CalendarSync:
        return await calendar_sync(info, self.provider_id)

    @classmethod
    def of(cls, result: MonthResult) -> MonthAvailability:
        days = result.view.days
        return cls(
            month=result.month,
            timezone=result.timezone,
            available_dates=[
                AvailableDate(date=d.day, available_slots=d.available_slots) for d in days if d.reason is None
            ],
            unavailable_dates=[
                UnavailableDate(date=d.day, reason=d.reason) for d in days if d.reason is not None
            ],
            next_available_date=result.next_available,
            provider_id=result.provider_id,
        )


@strawberry.type
class DayAvailability:
    date: date
    timezone: TimeZone
    available_slots: list[Slot]
    unavailable_slots: list[UnavailableSlot]
    service_schedule: list[TimeWindow] = strawberry.field(
        description="The windows of that date, in the requested time zone's wall-clock time."
    )
    provider_id: strawberry.Private[str]

    @strawberry.field(description="How fresh the provider's calendar busy time behind this view is.")
    async def calendar_sync(self, info: Info) -> CalendarSync:
        return await calendar_sync(info, self.provider_id)

    @classmethod
    def of(cls, result: DayResult, show_private: bool) -> DayAvailability:
        zone = ZoneInfo(result.timezone)

        def local(instant: datetime) -> datetime:
            return instant.astimezone(zone)

        def unavailable(v: SlotVerdict) -> UnavailableSlot:
            blocker = v.blocker if show_private else None
            return UnavailableSlot(
                start=local(v.start),
                end=local(v.end),
                time=f"{local(v.start):%H:%M}",
                reason=v.reason,
                booking_id=strawberry.ID(blocker.id) if isinstance(blocker, Reservation) else None,
                event=blocker.title if isinstance(blocker, BusyInterval) else None,
            )

        verdicts = result.view.verdicts
        return cls(
            date=result.view.day,
            timezone=result.timezone,
            available_slots=[
                Slot(start=local(v.start), end=local(v.end), time=f"{local(v.start):%H:%M}")
                for v in verdicts
                if v.available
            ],
            unavailable_slots=[unavailable(v) for v in verdicts if not v.available],
            service_schedule=[TimeWindow(start=s, end=e) for s, e in result.view.windows],
            provider_id=result.provider_id,
        )


ScheduleResult = Annotated[Schedule | ValidationError | NotFound, strawberry.union("ScheduleResult")]
