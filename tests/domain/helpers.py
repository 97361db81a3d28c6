"""Building blocks for domain tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.occupancy import BusyInterval, Occupancy, Reservation, ReservationKind
from domain.reasons import SlotJudge
from domain.schedule import DateException, Schedule, Window, parse_windows
from domain.service_rules import ServiceRules


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def windows(*spans: str) -> tuple[Window, ...]:
    return parse_windows([tuple(s.split("-")) for s in spans], "windows")  # type: ignore[misc]


def every_day(zone: str, *spans: str, exceptions: dict[date, DateException] | None = None) -> Schedule:
    return Schedule(ZoneInfo(zone), {d: windows(*spans) for d in range(7)}, exceptions or {})


def rules(
    duration: int = 30,
    interval: int | None = None,
    before: int = 0,
    after: int = 0,
    notice: int = 0,
    horizon: int = 365,
) -> ServiceRules:
    return ServiceRules(duration, interval or duration, before, after, notice, horizon, 10)


def booking(
    start: datetime,
    minutes: int = 30,
    before: int = 0,
    after: int = 0,
    kind: ReservationKind = ReservationKind.BOOKING,
    id: str = "b1",
) -> Reservation:
    return Reservation(
        id,
        kind,
        start,
        start + timedelta(minutes=minutes),
        timedelta(minutes=before),
        timedelta(minutes=after),
    )


def busy(start: datetime, minutes: int = 30, title: str = "Dentist") -> BusyInterval:
    return BusyInterval("c1", start, start + timedelta(minutes=minutes), title)


def judge(
    service: ServiceRules,
    now: datetime,
    zone: str = "UTC",
    reservations: list[Reservation] | None = None,
    calendar: list[BusyInterval] | None = None,
) -> SlotJudge:
    return SlotJudge(service, ZoneInfo(zone), now, Occupancy.of(reservations or [], calendar or []))


def local_times(instants: list[datetime], zone: str) -> list[str]:
    return [f"{i.astimezone(ZoneInfo(zone)):%H:%M%z}" for i in instants]
