"""Input types of the API, and their translation into the use cases' plain values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from resolvers.setup import ServiceInput, Spans, Week
from schema.scalars import TimeZone
from schema.types import Weekday


@strawberry.input
class TimeWindowInput:
    start: str = strawberry.field(description='Local wall-clock time "HH:MM".')
    end: str = strawberry.field(description='Local wall-clock time "HH:MM" after start; "24:00" is midnight.')


@strawberry.input
class DayScheduleInput:
    weekday: Weekday
    windows: list[TimeWindowInput]


@strawberry.input
class ScheduleInput:
    timezone: TimeZone | None = strawberry.field(default=None, description="Defaults to the provider's zone.")
    days: list[DayScheduleInput]


@strawberry.input
class CreateProviderInput:
    name: str
    timezone: TimeZone


@strawberry.input
class CreateServiceInput:
    provider_id: strawberry.ID
    name: str
    duration_minutes: int
    slot_interval_minutes: int | None = strawberry.field(
        default=None, description="Defaults to the duration."
    )
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 60
    min_notice_minutes: int = 60
    horizon_days: int = 90
    hold_minutes: int = 10
    price: Decimal | None = None
    schedule: ScheduleInput | None = strawberry.field(
        default=None, description="The service's own week; without it the provider's applies."
    )

    def to_use_case(self) -> ServiceInput:
        return ServiceInput(
            provider_id=self.provider_id,
            name=self.name,
            duration_minutes=self.duration_minutes,
            slot_interval_minutes=self.slot_interval_minutes,
            buffer_before_minutes=self.buffer_before_minutes,
            buffer_after_minutes=self.buffer_after_minutes,
            min_notice_minutes=self.min_notice_minutes,
            horizon_days=self.horizon_days,
            hold_minutes=self.hold_minutes,
            price=self.price,
            schedule_timezone=self.schedule.timezone if self.schedule else None,
            schedule_days=week(self.schedule.days) if self.schedule else None,
        )


@strawberry.input(description="Replaces the whole week of a provider or (given serviceId) of one service.")
class SetWeeklyScheduleInput:
    provider_id: strawberry.ID | None = None
    service_id: strawberry.ID | None = None
    timezone: TimeZone | None = None
    days: list[DayScheduleInput]


@strawberry.input(description="A closed date, or a date with its own windows, for a provider or one service.")
class DateExceptionInput:
    provider_id: strawberry.ID | None = None
    service_id: strawberry.ID | None = None
    date: date
    closed: bool = False
    windows: list[TimeWindowInput] = strawberry.field(default_factory=list)
    reason: str | None = None


def spans(windows: list[TimeWindowInput]) -> Spans:
    return [(w.start, w.end) for w in windows]


def week(days: list[DayScheduleInput]) -> Week:
    return [(d.weekday.value, spans(d.windows)) for d in days]
