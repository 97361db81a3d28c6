"""Properties of the statistics over random windows, bookings, holds and busy time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.occupancy import from_micros, to_micros
from domain.schedule import Schedule, Window
from domain.slots import window_instants
from domain.statistics import (
    BookingSpan,
    Span,
    busiest_weekday,
    day_edges,
    intersect,
    time_statistics,
    total,
    union,
    window_spans,
)

ZONES = ["America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
FIRST = date(2027, 3, 8)  # the period runs over the 2027 DST changes of both hemispheres
DAYS = 10


def instant(minutes: int) -> datetime:
    """A moment around the period, at some minute or second offset from 2027-03-07 00:00Z."""
    return datetime(2027, 3, 7, tzinfo=UTC) + timedelta(seconds=minutes)


spans = st.tuples(st.integers(0, 13 * 24 * 3600), st.integers(1, 30 * 3600)).map(
    lambda p: (to_micros(instant(p[0])), to_micros(instant(p[0] + p[1])))
)
bookings = st.builds(
    lambda span, active, cancelled: BookingSpan(
        from_micros(span[0]), from_micros(span[1]), active, cancelled and not active
    ),
    spans,
    st.booleans(),
    st.booleans(),
)


@st.composite
def day_windows(draw: st.DrawFn) -> tuple[Window, ...]:
    points = sorted(draw(st.sets(st.integers(0, 96).map(lambda q: q * 15), max_size=6)))
    return tuple(Window(a, b) for a, b in zip(points[::2], points[1::2], strict=False))


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    windows=st.lists(spans, max_size=12),
    counted=st.lists(bookings, max_size=12),
    taken=st.lists(spans, max_size=12),
    days=st.integers(1, DAYS),
)
def test_booked_plus_open_never_exceeds_available(
    zone: str, windows: list[Span], counted: list[BookingSpan], taken: list[Span], days: int
) -> None:
    last = FIRST + timedelta(days=days - 1)
    figures = time_statistics(windows, counted, taken, FIRST, last, ZoneInfo(zone))
    assert figures.booked_minutes + figures.open_minutes <= figures.available_minutes
    assert min(figures.booked_minutes, figures.open_minutes) >= 0
    assert 0.0 <= figures.utilization_rate <= 1.0
    assert figures.cancellations <= figures.bookings <= len(counted)
    assert (figures.busiest_weekday is None) == (
        figures.booked_minutes == 0 and not _any_booked(windows, counted, FIRST, last, zone)
    )


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    week=st.fixed_dictionaries({d: day_windows() for d in range(7)}),
    counted=st.lists(bookings, max_size=10),
    taken=st.lists(spans, max_size=10),
    days=st.integers(1, DAYS),
)
def test_schedule_windows_hold_the_invariant_and_count_real_time(
    zone: str, week: dict[int, tuple[Window, ...]], counted: list[BookingSpan], taken: list[Span], days: int
) -> None:
    tz = ZoneInfo(zone)
    last = FIRST + timedelta(days=days - 1)
    edges = day_edges(FIRST, last, tz)
    start, end = from_micros(edges[0]), from_micros(edges[-1])
    windows = window_spans(Schedule(tz, week), start, end)
    figures = time_statistics(windows, counted, taken, FIRST, last, tz)
    assert figures.booked_minutes + figures.open_minutes <= figures.available_minutes
    assert 0.0 <= figures.utilization_rate <= 1.0
    # available time is each window's real elapsed time (DST dates as long as they are)
    schedule = Schedule(tz, week)
    elapsed = sum(
        (end - start for day in dates(FIRST, last) for start, end in _instants(schedule, day)),
        timedelta(0),
    )
    assert figures.available_minutes == elapsed // timedelta(minutes=1)
    # nothing booked, held or busy: every available minute is open
    free = time_statistics(windows, [], [], FIRST, last, tz)
    assert free.open_minutes == free.available_minutes == figures.available_minutes
    assert free.booked_minutes == 0 and free.busiest_weekday is None and free.utilization_rate == 0.0


@given(booked=st.lists(spans, max_size=8), first_weekday=st.integers(0, 6))
def test_busiest_weekday_is_a_weekday_with_the_most_booked_time(
    booked: list[Span], first_weekday: int
) -> None:
    edges = [to_micros(instant(0)) + n * 24 * 3600 * 1_000_000 for n in range(DAYS + 1)]
    merged = union(booked)
    found = busiest_weekday(merged, edges, first_weekday)
    inside = intersect(merged, [(edges[0], edges[-1])])
    assert (found is None) == (total(inside) == 0)
    if found is not None:
        per_weekday = [0] * 7
        for n in range(DAYS):
            per_weekday[(first_weekday + n) % 7] += total(intersect(merged, [(edges[n], edges[n + 1])]))
        assert per_weekday[found] == max(per_weekday)
        assert all(per_weekday[w] < per_weekday[found] for w in range(found))  # ties: the earlier


def dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _instants(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    return [window_instants(day, w, schedule) for w in schedule.plan_for(day).windows]


def _any_booked(windows: list[Span], counted: list[BookingSpan], first: date, last: date, zone: str) -> bool:
    edges = day_edges(first, last, ZoneInfo(zone))
    active = union((to_micros(b.start), to_micros(b.end)) for b in counted if b.active)
    return total(intersect(intersect(union(windows), [(edges[0], edges[-1])]), active)) > 0
