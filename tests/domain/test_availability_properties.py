"""Properties over random schedules, bookings, buffers, notice and `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.availability import day_view, month_view
from domain.local_time import local_date
from domain.occupancy import BusyInterval, Occupancy, Reservation, ReservationKind, micros, to_micros
from domain.reasons import SlotJudge
from domain.schedule import Schedule, Window
from domain.service_rules import ServiceRules
from domain.slots import schedule_dates, window_instants

ZONES = [
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "America/St_Johns",
    "UTC",
]


@dataclass(frozen=True)
class Scenario:
    schedule: Schedule
    judge: SlotJudge
    viewer: ZoneInfo
    reservations: list[Reservation]
    calendar: list[BusyInterval]


@st.composite
def day_windows(draw: st.DrawFn) -> tuple[Window, ...]:
    points = sorted(draw(st.sets(st.integers(0, 96).map(lambda q: q * 15), max_size=4)))
    return tuple(Window(a, b) for a, b in zip(points[::2], points[1::2], strict=False))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    schedule = Schedule(zone, {d: draw(day_windows()) for d in range(7)})
    duration = draw(st.sampled_from([15, 30, 45, 60, 90]))
    rules = ServiceRules(
        duration,
        draw(st.sampled_from([15, 20, 30, 60, duration])),
        draw(st.integers(0, 4)) * 15,
        draw(st.integers(0, 4)) * 15,
        draw(st.integers(0, 16)) * 15,
        draw(st.integers(1, 40)),
        10,
    )
    # Around the DST changes of 2027 in the northern and southern hemispheres, and plain days.
    anchor = draw(
        st.sampled_from(
            [
                datetime(2027, m, d, tzinfo=UTC)
                for m, d in [(3, 12), (3, 26), (4, 2), (10, 1), (11, 5), (6, 15), (2, 27)]
            ]
        )
    )
    now = anchor + timedelta(minutes=draw(st.integers(0, 4 * 24 * 4)) * 15)
    reservations = [
        Reservation(
            f"r{n}",
            draw(st.sampled_from(list(ReservationKind))),
            start := now + timedelta(minutes=draw(st.integers(-20, 6 * 24 * 4)) * 15),
            start + timedelta(minutes=draw(st.integers(1, 8)) * 15),
            timedelta(minutes=draw(st.integers(0, 4)) * 15),
            timedelta(minutes=draw(st.integers(0, 4)) * 15),
        )
        for n in range(draw(st.integers(0, 8)))
    ]
    calendar = [
        BusyInterval(
            f"c{n}",
            start := now + timedelta(minutes=draw(st.integers(0, 6 * 24 * 4)) * 15),
            start + timedelta(minutes=draw(st.integers(1, 12)) * 15),
        )
        for n in range(draw(st.integers(0, 4)))
    ]
    judge = SlotJudge(rules, zone, now, Occupancy.of(reservations, calendar))
    return Scenario(schedule, judge, ZoneInfo(draw(st.sampled_from(ZONES))), reservations, calendar)


def upcoming_dates(judge: SlotJudge, zone: ZoneInfo, count: int = 5) -> list[date]:
    today = local_date(judge.now, zone)
    return [today + timedelta(days=n) for n in range(-1, count)]


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_available_slots_respect_every_rule(scenario: Scenario) -> None:
    schedule, judge, viewer = scenario.schedule, scenario.judge, scenario.viewer
    rules = judge.rules
    for day in upcoming_dates(judge, viewer):
        for slot in (v for v in day_view(schedule, judge, day, viewer).verdicts if v.available):
            assert judge.now + rules.min_notice <= slot.start < judge.horizon_end
            assert slot.end - slot.start == rules.duration
            occupied = (slot.start - rules.buffer_before, slot.end + rules.buffer_after)
            for r in scenario.reservations:
                assert not overlaps(slot.start, slot.end, r.start, r.end)
                assert not overlaps(*occupied, r.occupied_start, r.occupied_end)
            for b in scenario.calendar:
                assert not overlaps(slot.start, slot.end, b.start, b.end)
            assert any(
                start <= slot.start and slot.end <= end
                for d in schedule_dates(schedule, slot.start, slot.end)
                for w in schedule.plan_for(d).windows
                for start, end in [window_instants(d, w, schedule)]
            )


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_month_counts_equal_day_view_counts(scenario: Scenario) -> None:
    schedule, judge, viewer = scenario.schedule, scenario.judge, scenario.viewer
    first = local_date(judge.now, viewer).replace(day=1)
    month = month_view(schedule, judge, first, viewer)
    for status in month.days:
        view = day_view(schedule, judge, status.day, viewer)
        assert status.available_slots == sum(v.available for v in view.verdicts)
        assert (status.reason is None) == (status.available_slots > 0)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.sampled_from(ZONES))
def test_available_instants_do_not_depend_on_the_viewer_zone(scenario: Scenario, other_name: str) -> None:
    schedule, judge, viewer = scenario.schedule, scenario.judge, scenario.viewer
    span = (judge.now + timedelta(days=1), judge.now + timedelta(days=4))

    def available_in(zone: ZoneInfo) -> set[datetime]:
        first, last = local_date(span[0], zone), local_date(span[1], zone)
        return {
            v.start
            for n in range((last - first).days + 1)
            for v in day_view(schedule, judge, first + timedelta(days=n), zone).verdicts
            if v.available and span[0] <= v.start < span[1]
        }

    assert available_in(viewer) == available_in(ZoneInfo(other_name))


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.floats(0, 1))
def test_a_view_holds_until_its_stable_until(scenario: Scenario, fraction: float) -> None:
    """What the cache relies on: before stable_until, the clock alone changes nothing in a view."""
    schedule, judge, viewer = scenario.schedule, scenario.judge, scenario.viewer
    occupancy = Occupancy.of(scenario.reservations, scenario.calendar)
    holds = [r for r in scenario.reservations if r.kind is ReservationKind.HOLD]
    expiring = Occupancy(
        **{
            **occupancy.__dict__,
            "hold_expires": micros(
                [
                    to_micros(judge.now + timedelta(minutes=7)) if r.kind is ReservationKind.HOLD else 0
                    for r in scenario.reservations
                ]
            ),
        }
    )
    judge = SlotJudge(judge.rules, schedule.zone, judge.now, expiring)
    day = local_date(judge.now, viewer) + timedelta(days=1)
    view = day_view(schedule, judge, day, viewer)
    later = judge.now + (view.stable_until - judge.now - timedelta(microseconds=1)) * fraction
    # at `later` the holds that expired by then are gone, as the database would load them
    alive = [r for r in scenario.reservations if r not in holds or judge.now + timedelta(minutes=7) > later]
    again = SlotJudge(judge.rules, schedule.zone, later, Occupancy.of(alive, scenario.calendar))
    assert [v.reason for v in day_view(schedule, again, day, viewer).verdicts] == [
        v.reason for v in view.verdicts
    ]
