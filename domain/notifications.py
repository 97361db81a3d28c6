"""Availability notifications: which requests are valid, when to look, where to look."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta, tzinfo

from domain.availability import check_view_distance
from domain.changes import ChangeCause
from domain.errors import ValidationProblem
from domain.local_time import start_of_day

MAX_REQUEST_DAYS = 90

# Changes that can free time; the others (a booking or a hold taken) only take it.
OPENING_CAUSES = frozenset(
    {
        ChangeCause.BOOKING_CANCELLED,
        ChangeCause.BOOKING_RESCHEDULED,
        ChangeCause.HOLD_RELEASED,
        ChangeCause.HOLD_EXPIRED,
        ChangeCause.SCHEDULE_CHANGED,
        ChangeCause.CALENDAR_SYNCED,
    }
)


class RequestStatus(enum.Enum):
    ACTIVE = "ACTIVE"  # waiting for a slot to open
    FULFILLED = "FULFILLED"  # a slot opened; its notification was created (once)
    CANCELLED = "CANCELLED"  # the customer withdrew it
    EXPIRED = "EXPIRED"  # its last date passed with nothing opening


def check_request_range(first: date, last: date, today: date) -> None:
    """A range of dates (in the request's zone) that can still hold a slot, at most 90 days long."""
    check_view_distance(first, today, "from")
    check_view_distance(last, today, "to")
    if last < first:
        raise ValidationProblem("to", f"{last} is before from ({first})")
    if first < today:
        raise ValidationProblem("from", f"{first} is in the past (today is {today})")
    if (last - first).days + 1 > MAX_REQUEST_DAYS:
        raise ValidationProblem("to", f"ask for at most {MAX_REQUEST_DAYS} days at once")


def search_window(first: date, last: date, zone: tzinfo, now: datetime) -> tuple[datetime, datetime] | None:
    """The instants whose slot starts a request covers from now on; None once its last date is over."""
    start = max(start_of_day(first, zone), now)
    end = start_of_day(last + timedelta(days=1), zone)
    return (start, end) if start < end else None
