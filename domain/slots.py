"""Candidate slots: the start times a schedule offers, before anything blocks them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.local_time import local_date, local_to_instant
from domain.schedule import Schedule, Window


@dataclass(frozen=True, order=True)
class Candidate:
    start: datetime
    end: datetime


def window_instants(day: date, window: Window, schedule: Schedule) -> tuple[datetime, datetime]:
    return (
        local_to_instant(day, window.start_minute, schedule.zone),
        local_to_instant(day, window.end_minute, schedule.zone),
    )


def candidates_on(day: date, schedule: Schedule, duration: timedelta, interval: timedelta) -> list[Candidate]:
    """Starts from each window's start in steps of real elapsed time while the slot fits."""
    starts: set[datetime] = set()
    for window in schedule.plan_for(day).windows:
        window_start, window_end = window_instants(day, window, schedule)
        start = window_start
        while start + duration <= window_end:
            starts.add(start)
            start += interval
    return [Candidate(start, start + duration) for start in sorted(starts)]


def schedule_dates(schedule: Schedule, start: datetime, end: datetime) -> list[date]:
    """The schedule-zone dates whose windows can hold a slot starting in [start, end)."""
    first = local_date(start, schedule.zone) - timedelta(days=1)
    last = local_date(end, schedule.zone)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def candidates_between(
    schedule: Schedule, duration: timedelta, interval: timedelta, start: datetime, end: datetime
) -> list[Candidate]:
    """Every candidate whose start lies in [start, end), in time order."""
    found: list[Candidate] = []
    for day in schedule_dates(schedule, start, end):
        found.extend(c for c in candidates_on(day, schedule, duration, interval) if start <= c.start < end)
    return sorted(set(found))
