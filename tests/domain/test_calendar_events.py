"""Which of a provider's own calendar events block slots."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.calendar_events import busy_time


def event(**fields: Any) -> dict[str, Any]:
    return {
        "id": "e1",
        "status": "confirmed",
        "summary": "Dentist",
        "start": {"dateTime": "2027-03-03T10:00:00-08:00"},
        "end": {"dateTime": "2027-03-03T11:00:00-08:00"},
    } | fields


def test_a_timed_event_blocks_its_time_with_its_title() -> None:
    busy = busy_time(event(), "America/Los_Angeles")
    assert busy is not None
    assert (busy.start, busy.end, busy.title) == (
        datetime(2027, 3, 3, 18, tzinfo=UTC),
        datetime(2027, 3, 3, 19, tzinfo=UTC),
        "Dentist",
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "cancelled"},
        {"transparency": "transparent"},
        {"attendees": [{"email": "me@example.com", "self": True, "responseStatus": "declined"}]},
        {"end": {"dateTime": "2027-03-03T10:00:00-08:00"}},  # empty
    ],
)
def test_events_that_take_no_time(fields: dict[str, Any]) -> None:
    assert busy_time(event(**fields), "UTC") is None


def test_declined_by_someone_else_still_blocks() -> None:
    attendees = [
        {"email": "guest@example.com", "responseStatus": "declined"},
        {"email": "me@example.com", "self": True, "responseStatus": "accepted"},
    ]
    assert busy_time(event(attendees=attendees), "UTC") is not None


def test_all_day_events_block_whole_days_in_the_calendar_zone() -> None:
    busy = busy_time(event(start={"date": "2027-03-14"}, end={"date": "2027-03-15"}), "America/Los_Angeles")
    assert busy is not None  # the spring-forward day is 23 hours long
    assert (busy.start, busy.end) == (
        datetime(2027, 3, 14, 8, tzinfo=UTC),
        datetime(2027, 3, 15, 7, tzinfo=UTC),
    )


def test_a_floating_time_is_read_in_its_own_zone() -> None:
    busy = busy_time(
        event(
            start={"dateTime": "2027-03-03T10:00:00", "timeZone": "Europe/London"},
            end={"dateTime": "2027-03-03T11:00:00", "timeZone": "Europe/London"},
        ),
        "UTC",
    )
    assert busy is not None and busy.start == datetime(2027, 3, 3, 10, tzinfo=UTC)
