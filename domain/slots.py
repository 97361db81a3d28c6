"""Candidate slots: the start times a schedule offers, before anything blocks them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from domain.local_time import local_date, local_to_instant
from domain.occupancy import MICROSECOND, Micros, from_micros, micros, to_micros
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


def _day_spans(day: date, schedule: Schedule, duration: int, interval: int) -> tuple[Micros, Micros]:
    """Starts (µs) of a schedule date's candidates, and the end of each one's window.

    Starts run from each window's start in steps of real elapsed time while the slot fits,
    so a window across a DST change is as long as the real time it covers.
    """
    starts, window_ends = [], []
    for window in schedule.plan_for(day).windows:
        window_start, window_end = (to_micros(t) for t in window_instants(day, window, schedule))
        found = np.arange(window_start, window_end - duration + 1, interval, dtype=np.int64)
        starts.append(found)
        window_ends.append(np.full(len(found), window_end, dtype=np.int64))
    if not starts:
        return micros([]), micros([])
    return np.concatenate(starts), np.concatenate(window_ends)


def schedule_dates(schedule: Schedule, start: datetime, end: datetime) -> list[date]:
    """The schedule-zone dates whose windows can hold a slot starting in [start, end)."""
    first = local_date(start, schedule.zone) - timedelta(days=1)
    last = local_date(end, schedule.zone)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def candidate_spans(
    schedule: Schedule, duration: timedelta, interval: timedelta, start: datetime, end: datetime
) -> tuple[Micros, Micros]:
    """Every candidate starting in [start, end), in time order: starts (µs) and their windows' ends."""
    low, high = to_micros(start), to_micros(end)
    parts = [
        _day_spans(day, schedule, duration // MICROSECOND, interval // MICROSECOND)
        for day in schedule_dates(schedule, start, end)
    ]
    starts = np.concatenate([p[0] for p in parts])
    window_ends = np.concatenate([p[1] for p in parts])
    inside = (starts >= low) & (starts < high)
    starts, first = np.unique(starts[inside], return_index=True)
    return starts, window_ends[inside][first]


def candidates_between(
    schedule: Schedule, duration: timedelta, interval: timedelta, start: datetime, end: datetime
) -> list[Candidate]:
    starts, window_ends = candidate_spans(schedule, duration, interval, start, end)
    return [
        Candidate(from_micros(s), from_micros(s) + duration, from_micros(w))
        for s, w in zip(starts.tolist(), window_ends.tolist(), strict=True)
    ]


def candidates_on(day: date, schedule: Schedule, duration: timedelta, interval: timedelta) -> list[Candidate]:
    starts, window_ends = _day_spans(day, schedule, duration // MICROSECOND, interval // MICROSECOND)
    order = np.argsort(starts)
    return [
        Candidate(from_micros(s), from_micros(s) + duration, from_micros(w))
        for s, w in zip(starts[order].tolist(), window_ends[order].tolist(), strict=True)
    ]


def is_offered(schedule: Schedule, duration: timedelta, interval: timedelta, start: datetime) -> bool:
    """Whether `start` is one of the candidate starts the schedule offers."""
    starts, _ = candidate_spans(schedule, duration, interval, start, start + MICROSECOND)
    return len(starts) == 1
