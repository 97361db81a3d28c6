"""Candidate starts on ordinary days, DST days, half-hour zones and leap days."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.local_time import local_to_instant
from domain.schedule import DateException
from domain.slots import candidates_on
from tests.domain.helpers import every_day, local_times, utc, windows

HALF_HOUR = timedelta(minutes=30)


def starts(zone: str, day: date, *spans: str, minutes: int = 30) -> list[str]:
    step = timedelta(minutes=minutes)
    found = candidates_on(day, every_day(zone, *spans), step, step)
    return local_times([c.start for c in found], zone)


def test_los_angeles_spring_forward_window_across_the_gap_is_one_real_hour() -> None:
    # 2027-03-14: 02:00 PST jumps to 03:00 PDT, so 01:00-03:00 covers one hour.
    assert starts("America/Los_Angeles", date(2027, 3, 14), "01:00-03:00") == ["01:00-0800", "01:30-0800"]


def test_los_angeles_fall_back_window_across_the_repeat_is_three_real_hours() -> None:
    # 2027-11-07: 02:00 PDT falls back to 01:00 PST; 01:00 is its first occurrence.
    assert starts("America/Los_Angeles", date(2027, 11, 7), "01:00-03:00") == [
        "01:00-0700",
        "01:30-0700",
        "01:00-0800",
        "01:30-0800",
        "02:00-0800",
        "02:30-0800",
    ]


@pytest.mark.parametrize("day", [date(2027, 3, 14), date(2027, 11, 7)])
def test_los_angeles_normal_hours_on_dst_days_are_unchanged(day: date) -> None:
    found = starts("America/Los_Angeles", day, "09:00-17:00")
    assert len(found) == 16
    assert found[0].startswith("09:00") and found[-1].startswith("16:30")


def test_a_start_inside_the_gap_moves_to_the_first_instant_that_exists() -> None:
    la = ZoneInfo("America/Los_Angeles")
    assert local_to_instant(date(2027, 3, 14), 2 * 60 + 15, la) == utc(2027, 3, 14, 10, 0)
    assert starts("America/Los_Angeles", date(2027, 3, 14), "02:15-04:00") == ["03:00-0700", "03:30-0700"]


def test_lord_howe_half_hour_shift_forward() -> None:
    # 2027-10-03: 02:00 +10:30 jumps to 02:30 +11; 01:00-04:00 covers 2.5 hours.
    found = starts("Australia/Lord_Howe", date(2027, 10, 3), "01:00-04:00")
    assert found == ["01:00+1030", "01:30+1030", "02:30+1100", "03:00+1100", "03:30+1100"]


def test_lord_howe_half_hour_shift_back() -> None:
    # 2027-04-04: 02:00 +11 falls back to 01:30 +10:30; 01:00-03:00 covers 2.5 hours.
    found = starts("Australia/Lord_Howe", date(2027, 4, 4), "01:00-03:00")
    assert found == ["01:00+1100", "01:30+1100", "01:30+1030", "02:00+1030", "02:30+1030"]


def test_kolkata_half_hour_offset() -> None:
    found = candidates_on(date(2027, 3, 2), every_day("Asia/Kolkata", "09:00-10:00"), HALF_HOUR, HALF_HOUR)
    assert [c.start for c in found] == [utc(2027, 3, 2, 3, 30), utc(2027, 3, 2, 4, 0)]


def test_leap_day_has_its_slots() -> None:
    assert starts("Europe/London", date(2028, 2, 29), "09:00-10:00") == ["09:00+0000", "09:30+0000"]


def test_london_spring_forward() -> None:
    # 2027-03-28: 01:00 GMT jumps to 02:00 BST.
    assert starts("Europe/London", date(2027, 3, 28), "00:30-02:30") == ["00:30+0000", "02:00+0100"]


def test_slot_must_fit_inside_the_window_and_interval_steps_in_real_time() -> None:
    step = timedelta(minutes=20)
    found = candidates_on(date(2027, 3, 2), every_day("UTC", "09:00-10:00"), timedelta(minutes=45), step)
    assert [c.start for c in found] == [utc(2027, 3, 2, 9, 0)]
    found = candidates_on(date(2027, 3, 2), every_day("UTC", "09:00-10:00"), step, step)
    assert len(found) == 3


def test_midnight_end_window() -> None:
    assert starts("UTC", date(2027, 3, 2), "23:00-24:00") == ["23:00+0000", "23:30+0000"]


def test_exception_replaces_or_closes_the_weekly_windows() -> None:
    day = date(2027, 3, 2)
    override = every_day(
        "UTC", "09:00-10:00", exceptions={day: DateException(day, False, windows("14:00-15:00"))}
    )
    closed = every_day("UTC", "09:00-10:00", exceptions={day: DateException(day, True)})
    assert [c.start for c in candidates_on(day, override, HALF_HOUR, HALF_HOUR)] == [
        utc(2027, 3, 2, 14, 0),
        utc(2027, 3, 2, 14, 30),
    ]
    assert candidates_on(day, closed, HALF_HOUR, HALF_HOUR) == []
    assert len(candidates_on(day + timedelta(days=1), closed, HALF_HOUR, HALF_HOUR)) == 2
