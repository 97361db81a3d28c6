"""Rows as the rest of the code sees them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.schedule import DateException, Window
from domain.service_rules import ServiceRules


@dataclass(frozen=True)
class ProviderRecord:
    id: UUID
    name: str
    timezone: str
    schedule_timezone: str | None

    @property
    def schedule_zone_name(self) -> str:
        return self.schedule_timezone or self.timezone


@dataclass(frozen=True)
class WeeklyPlan:
    """A weekly schedule as stored: its zone and windows per weekday (0 = Monday)."""

    timezone: str
    days: dict[int, tuple[Window, ...]]


@dataclass(frozen=True)
class ServiceRecord:
    id: UUID
    provider_id: UUID
    name: str
    rules: ServiceRules
    price: Decimal | None
    own_schedule: WeeklyPlan | None


@dataclass(frozen=True)
class ExceptionRecord:
    id: UUID
    provider_id: UUID
    service_id: UUID | None
    exception: DateException


@dataclass(frozen=True)
class ScheduleRecord:
    """A provider's or a service's schedule, with the exceptions that belong to it."""

    provider_id: UUID
    service_id: UUID | None
    plan: WeeklyPlan
    exceptions: list[ExceptionRecord]
