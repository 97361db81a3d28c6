"""Candidate slots: the start times a schedule offers, before anything blocks them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.local_time import local_date, local_to_instant
from domain.schedule import Schedule, Window


@dataclass(frozen=True, order=True)
class Candidate:
    start: datetime
    end: datetime
    window_end: datetime = field(compare=False)


def window_instants(day: date, window: Window, schedule: Schedule) -> tuple[datetime, datetime]:
    return (
        local_to_instant(day, window.start_minute, schedule.zone),
        local_to_instant(day, window.end_minute, schedule.zone),
    )


def candidates_on(day: date, schedule: Schedule, duration: timedelta, interval: timedelta) -> list[Candidate]:
    """Starts from each window's start in steps of real elapsed time while the slot fits."""
    found: dict[datetime, Candidate] = {}
    for window in schedule.plan_for(day).windows:
        window_start, window_end = window_instants(day, window, schedule)
        start = window_start
        while start + duration <= window_end:
            found.setdefault(start, Candidate(start, start + duration, window_end))
            start += interval
    return [found[start] for start in sorted(found)]


def schedule_dates(schedule: Schedule, start: datetime, end: datetime) -> list[date]:
    """The schedule-zone dates whose windows can hold a slot starting in [start, end)."""
    first = local_date(start, schedule.zone) - timedelta(days=1)
    last = local_date(end, schedule.zone)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def candidates_between(
    schedule: Schedule, duration: timedelta, interval: timedelta, start: datetime, end: datetime
) -> list[Candidate]:
    """Every candidate whose start lies in [start, end), in time order."""
    found: dict[datetime, Candidate] = {}
    for day in schedule_dates(schedule, start, end):
        for candidate in candidates_on(day, schedule, duration, interval):
            if start <= candidate.start < end:
                found.setdefault(candidate.start, candidate)
    return [found[start] for start in sorted(found)]


def is_offered(schedule: Schedule, duration: timedelta, interval: timedelta, start: datetime) -> bool:
    """Whether `start` is one of the candidate starts the schedule offers."""
    return any(
        c.start == start for c in candidates_between(schedule, duration, interval, start, start + interval)
    )
