"""Day and month views: candidate slots judged, grouped by the viewer's dates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import numpy as np

from domain.errors import ValidationProblem
from domain.local_time import local_date, start_of_day
from domain.occupancy import MICROSECOND, Micros, from_micros, micros, to_micros
from domain.reasons import (
    AVAILABLE,
    REASON_ORDER,
    DayReason,
    SlotJudge,
    SlotReason,
    SlotVerdict,
    dates_between,
    day_reason,
)
from domain.schedule import Schedule, format_minutes
from domain.service_rules import ServiceRules
from domain.slots import candidate_spans, schedule_dates, window_instants

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# How far from today a view may look, either way: beyond it is a typo, not a question.
MAX_VIEW_DISTANCE = timedelta(days=3 * 366)


@dataclass(frozen=True)
class DayView:
    day: date
    verdicts: list[SlotVerdict]
    windows: list[tuple[str, str]]
    stable_until: datetime  # the clock alone changes nothing in this view before then


@dataclass(frozen=True)
class DayStatus:
    day: date
    available_slots: int
    reason: DayReason | None


@dataclass(frozen=True)
class MonthView:
    first_day: date
    days: list[DayStatus]
    stable_until: datetime  # the clock alone changes nothing in this view before then


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    return start_of_day(day, zone), start_of_day(day + timedelta(days=1), zone)


def month_days(first_day: date) -> list[date]:
    following = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return dates_between(first_day, following - timedelta(days=1))


def parse_month(text: str) -> date:
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ValidationProblem("month", f"'{text}' is not a month as YYYY-MM")
    return date(int(match.group(1)), int(match.group(2)), 1)


def check_view_distance(day: date, today: date, field: str) -> None:
    if abs(day - today) > MAX_VIEW_DISTANCE:
        raise ValidationProblem(
            field,
            f"{day} is too far from today ({today}); ask within {MAX_VIEW_DISTANCE.days} days",
        )


def load_span(rules: ServiceRules, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The span whose bookings, holds and busy time can affect slots starting in [start, end)."""
    return start - rules.buffer_before, end + rules.duration + rules.buffer_after


def judged_between(schedule: Schedule, judge: SlotJudge, start: datetime, end: datetime) -> list[SlotVerdict]:
    """A verdict, with what stands in the way, for every candidate starting in [start, end)."""
    rules = judge.rules
    starts, _ = candidate_spans(schedule, rules.duration, rules.interval, start, end)
    codes = judge.codes(starts, starts + rules.duration // MICROSECOND)
    return [
        judge.verdict(from_micros(begin), from_micros(begin) + rules.duration, code)
        for begin, code in zip(starts.tolist(), codes.tolist(), strict=True)
    ]


def day_view(schedule: Schedule, judge: SlotJudge, day: date, zone: tzinfo) -> DayView:
    start, end = day_bounds(day, zone)
    verdicts = judged_between(schedule, judge, start, end)
    starts = micros([to_micros(v.start) for v in verdicts])
    return DayView(
        day, verdicts, _windows_seen(schedule, start, end, zone), stable_until(judge, starts, [start, end])
    )


def stable_until(judge: SlotJudge, starts: Micros, edges: Sequence[datetime]) -> datetime:
    """The next moment the clock alone could change a view of these candidate starts.

    Then a slot enters its notice period or the past, a hold runs out, the horizon moves on
    (the provider's midnight), or one of the view's dates ends. A cached view is good until then.
    """
    now = to_micros(judge.now)
    holds = judge.occupancy.hold_expires
    tomorrow = start_of_day(local_date(judge.now, judge.zone) + timedelta(days=1), judge.zone)
    # a hold stops blocking at expiry, a date is past at its end, the horizon moves at midnight
    moments = np.concatenate(
        [
            # a slot turns NOTICE_PERIOD once now > start - notice, and PAST once now > start
            starts - judge.rules.min_notice // MICROSECOND + 1,
            starts + 1,
            holds[holds > 0] if holds is not None else micros([]),
            micros([to_micros(t) for t in (*edges, tomorrow)]),
        ]
    )
    later = moments[moments > now]
    return from_micros(int(later.min())) if len(later) else tomorrow


def month_view(schedule: Schedule, judge: SlotJudge, first_day: date, zone: tzinfo) -> MonthView:
    """Every date of the month (in `zone`) with its available slots, or the reason it has none."""
    days = month_days(first_day)
    bounds = [day_bounds(day, zone)[0] for day in days] + [day_bounds(days[-1], zone)[1]]
    edges = micros([to_micros(b) for b in bounds])
    rules = judge.rules
    starts, _ = candidate_spans(schedule, rules.duration, rules.interval, bounds[0], bounds[-1])
    codes = judge.codes(starts, starts + rules.duration // MICROSECOND)
    day_index = np.searchsorted(edges, starts, side="right") - 1
    columns = len(REASON_ORDER) + 1  # column 0: available; column k + 1: REASON_ORDER[k]
    table = np.bincount(day_index * columns + codes + 1, minlength=len(days) * columns).reshape(
        len(days), columns
    )
    statuses = []
    for n, day in enumerate(days):
        row = table[n].tolist()
        counts: dict[SlotReason | None, int] = {None: row[0]}
        counts.update(zip(REASON_ORDER, row[1:], strict=True))
        closed = _closed(schedule, bounds[n], bounds[n + 1])
        statuses.append(DayStatus(day, row[0], day_reason(bounds[n + 1], judge.now, counts, closed)))
    return MonthView(first_day, statuses, stable_until(judge, starts, bounds))


def first_available(schedule: Schedule, judge: SlotJudge, start: datetime, end: datetime) -> datetime | None:
    """The first available slot starting in [start, end)."""
    rules = judge.rules
    starts, _ = candidate_spans(schedule, rules.duration, rules.interval, start, end)
    available = np.flatnonzero(judge.codes(starts, starts + rules.duration // MICROSECOND) == AVAILABLE)
    return from_micros(starts[available[0]]) if len(available) else None


def next_available_search(
    month: MonthView, judge: SlotJudge, zone: tzinfo
) -> tuple[date | None, tuple[datetime, datetime] | None]:
    """nextAvailableDate from the month itself, or the span still to search up to the horizon.

    The search starts at max(today, the month's first day) in the viewer's zone.
    """
    today = local_date(judge.now, zone)
    since = max(today, month.first_day)
    for status in month.days:
        if status.day >= since and status.available_slots:
            return status.day, None
    search_start = start_of_day(max(since, month.days[-1].day + timedelta(days=1)), zone)
    if search_start >= judge.horizon_end:
        return None, None
    return None, (search_start, judge.horizon_end)


def _closed(schedule: Schedule, start: datetime, end: datetime) -> bool:
    return any(
        schedule.plan_for(day).closed
        for day in dates_between(
            local_date(start, schedule.zone),
            local_date(end - timedelta(microseconds=1), schedule.zone),
        )
    )


def _windows_seen(schedule: Schedule, start: datetime, end: datetime, zone: tzinfo) -> list[tuple[str, str]]:
    """The schedule's windows as they fall on the viewer's date, in the viewer's wall time."""
    seen = []
    for day in schedule_dates(schedule, start, end):
        for window in schedule.plan_for(day).windows:
            window_start, window_end = window_instants(day, window, schedule)
            clipped_start, clipped_end = max(window_start, start), min(window_end, end)
            if clipped_start < clipped_end:
                seen.append((_wall(clipped_start, start, zone), _wall(clipped_end, start, zone)))
    return seen


def _wall(instant: datetime, day_start: datetime, zone: tzinfo) -> str:
    local = instant.astimezone(zone)
    if local.date() > day_start.astimezone(zone).date():
        return "24:00"
    return format_minutes(local.hour * 60 + local.minute)
