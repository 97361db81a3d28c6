"""Availability statistics of a provider (or one of its services) over a period of dates.

Everything here is arithmetic on spans of time, given as instants; the caller passes `now`.

Definitions (the GraphQL descriptions say the same):

- **period**: the dates `first .. last`, both included, in the provider's zone: the instants
  `[first 00:00, last + 1 00:00)`. At most MAX_PERIOD_DAYS dates; `last >= first`.
- **available**: the schedule's windows (a closed date has none) within the period, as real
  elapsed time (a window across a DST change is as long as the time it covers).
- **booked**: the part of the available time covered by active bookings (PENDING, CONFIRMED,
  PAID, IN_PROGRESS; never holds) of the provider, or of the service when one is asked about.
- **open**: the part of the available time covered by no active booking of the provider (of
  any service), no live hold and no calendar busy time. Everything that takes time is unioned
  first, so nothing counts twice, and the counted bookings are part of that union: hence
  `booked + open <= available`, always.
- Minutes are whole minutes, rounded down from the exact durations (so the inequality above
  holds for the minutes too); `utilization = booked minutes / available minutes` (0 when
  nothing is available), rounded half up to 4 decimals, so it lies in [0, 1].
- **bookings**: bookings (any status) starting in the period; **cancellations**: those of them
  CANCELLED.
- **busiest weekday**: the weekday (provider zone, 0 = Monday) with the most booked time in the
  period; ties go to the earlier weekday (Monday first); None when nothing is booked.
- **revenue potential**: the sum over services of price x the number of candidate slots
  starting in the period that are available now (per SlotJudge); a service without a price
  counts 0.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from domain.availability import check_view_distance
from domain.errors import ValidationProblem
from domain.local_time import start_of_day
from domain.occupancy import MICROSECOND, to_micros
from domain.reasons import AVAILABLE, SlotJudge
from domain.schedule import Schedule
from domain.slots import candidate_spans, schedule_dates, window_instants

MAX_PERIOD_DAYS = 366
MICROS_PER_MINUTE = 60_000_000
RATE_STEP = Decimal("0.0001")
CENTS = Decimal("0.01")

Span = tuple[int, int]  # [start, end) in microseconds since the epoch


@dataclass(frozen=True)
class BookingSpan:
    """A booking as statistics see it: its own time and its status."""

    start: datetime
    end: datetime
    active: bool  # PENDING, CONFIRMED, PAID or IN_PROGRESS: it takes the provider's time
    cancelled: bool


@dataclass(frozen=True)
class TimeStatistics:
    available_minutes: int
    booked_minutes: int
    open_minutes: int
    utilization_rate: float
    bookings: int
    cancellations: int
    busiest_weekday: int | None  # 0 = Monday


# --- the period --------------------------------------------------------------------------


def check_period(first: date, last: date, today: date) -> None:
    """`last` on or after `first`, at most MAX_PERIOD_DAYS dates, neither too far from today."""
    if last < first:
        raise ValidationProblem("to", f"{last} is before from ({first})")
    days = (last - first).days + 1
    if days > MAX_PERIOD_DAYS:
        raise ValidationProblem("to", f"the period has {days} dates; at most {MAX_PERIOD_DAYS} are allowed")
    check_view_distance(first, today, "from")
    check_view_distance(last, today, "to")


def period_bounds(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants [first 00:00, last + 1 00:00) in `zone`."""
    return start_of_day(first, zone), start_of_day(last + timedelta(days=1), zone)


def day_edges(first: date, last: date, zone: tzinfo) -> list[int]:
    """The midnights (µs) that start each date first .. last, then the one that ends `last`."""
    return [to_micros(start_of_day(first + timedelta(days=n), zone)) for n in range((last - first).days + 2)]


# --- spans -------------------------------------------------------------------------------


def union(spans: Iterable[Span]) -> list[Span]:
    """The union of some [start, end) spans, as sorted, disjoint, non-touching spans."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """The intersection of two unions, each sorted and disjoint (as `union` gives them)."""
    found: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            found.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return found


def total(spans: Iterable[Span]) -> int:
    return sum(end - start for start, end in spans)


def span_of(start: datetime, end: datetime) -> Span:
    return to_micros(start), to_micros(end)


def window_spans(schedule: Schedule, start: datetime, end: datetime) -> list[Span]:
    """The schedule's windows within [start, end), clipped to it, as a union.

    The windows of every schedule-zone date that can reach the span are taken, so a schedule
    in another zone than the period's is cut at the period's edges.
    """
    low, high = to_micros(start), to_micros(end)
    spans = []
    for day in schedule_dates(schedule, start, end):
        for window in schedule.plan_for(day).windows:
            window_start, window_end = span_of(*window_instants(day, window, schedule))
            spans.append((max(window_start, low), min(window_end, high)))
    return union(spans)


def minutes(micros: int) -> int:
    """Whole minutes, rounded down."""
    return micros // MICROS_PER_MINUTE


def utilization(booked_minutes: int, available_minutes: int) -> float:
    """booked / available, rounded half up to 4 decimals; 0 when nothing is available."""
    if available_minutes <= 0:
        return 0.0
    rate = (Decimal(booked_minutes) / Decimal(available_minutes)).quantize(RATE_STEP, ROUND_HALF_UP)
    return float(rate)


# --- the figures -------------------------------------------------------------------------


def time_statistics(
    windows: Iterable[Span],
    bookings: Sequence[BookingSpan],
    taken: Iterable[Span],
    first: date,
    last: date,
    zone: tzinfo,
) -> TimeStatistics:
    """The time figures of the period first .. last in `zone` (see the module's definitions).

    windows: the schedule's windows (`window_spans`); only their part in the period counts.
    bookings: the bookings counted (the provider's, or the service's), any status.
    taken: other time that is not open: every active booking of the provider, live holds and
        calendar busy time (own time, without buffers).
    """
    edges = day_edges(first, last, zone)
    available = intersect(union(windows), [(edges[0], edges[-1])])
    counted = union(span_of(b.start, b.end) for b in bookings if b.active)
    booked = intersect(available, counted)
    blocked = intersect(available, union([*counted, *taken]))
    available_minutes = minutes(total(available))
    booked_minutes = minutes(total(booked))
    open_minutes = minutes(total(available) - total(blocked))
    starting = [b for b in bookings if edges[0] <= to_micros(b.start) < edges[-1]]
    return TimeStatistics(
        available_minutes=available_minutes,
        booked_minutes=booked_minutes,
        open_minutes=open_minutes,
        utilization_rate=utilization(booked_minutes, available_minutes),
        bookings=len(starting),
        cancellations=sum(1 for b in starting if b.cancelled),
        busiest_weekday=busiest_weekday(booked, edges, first.weekday()),
    )


def busiest_weekday(booked: Iterable[Span], edges: Sequence[int], first_weekday: int) -> int | None:
    """The weekday (0 = Monday) whose dates hold the most booked time; ties: the earlier weekday.

    `edges` are the midnights of consecutive dates (`day_edges`), the first of them starting a
    date of weekday `first_weekday`; booked time outside them counts for no weekday.
    """
    per_weekday = [0] * 7
    for start, end in booked:
        at = max(start, edges[0])
        index = bisect.bisect_right(edges, at) - 1
        while at < end and index < len(edges) - 1:
            cut = min(end, edges[index + 1])
            per_weekday[(first_weekday + index) % 7] += cut - at
            at, index = cut, index + 1
    most = max(per_weekday)
    return per_weekday.index(most) if most > 0 else None


def count_available(schedule: Schedule, judge: SlotJudge, start: datetime, end: datetime) -> int:
    """How many candidate slots starting in [start, end) the judge finds available now."""
    rules = judge.rules
    starts, _ = candidate_spans(schedule, rules.duration, rules.interval, start, end)
    codes = judge.codes(starts, starts + rules.duration // MICROSECOND)
    return int(np.count_nonzero(codes == AVAILABLE))


def revenue_potential(priced_counts: Iterable[tuple[Decimal | None, int]]) -> Decimal:
    """Sum of price x available slots, per service; a service without a price counts 0."""
    found = sum(
        (price * count for price, count in priced_counts if price is not None),
        Decimal(0),
    )
    return found.quantize(CENTS)
