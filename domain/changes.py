"""Changes to availability, as live subscribers see them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from domain.local_time import local_date
from domain.service_rules import ServiceRules


class ChangeCause(enum.Enum):
    BOOKING_CREATED = "BOOKING_CREATED"
    BOOKING_CANCELLED = "BOOKING_CANCELLED"
    BOOKING_RESCHEDULED = "BOOKING_RESCHEDULED"
    HOLD_CREATED = "HOLD_CREATED"
    HOLD_RELEASED = "HOLD_RELEASED"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    SCHEDULE_CHANGED = "SCHEDULE_CHANGED"
    CALENDAR_SYNCED = "CALENDAR_SYNCED"
    # Not a change: the server may have missed some (a broken link to Redis, a slow client);
    # refetch everything in view.
    RESYNC = "RESYNC"


Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class AvailabilityChange:
    """One committed change of a provider's availability.

    `spans` are the instants whose occupancy changed (a booking's occupied range, a day
    of a schedule); `sequence` rises by one per change of the provider.
    """

    provider_id: str
    cause: ChangeCause
    sequence: int
    occurred_at: datetime
    spans: tuple[Span, ...]
    service_id: str | None = None


def affected_dates(
    spans: Sequence[Span], rules: ServiceRules, zone: tzinfo, first: date, last: date
) -> list[date]:
    """The dates (in `zone`, within first..last) holding a slot of this service that the spans touch.

    A slot starting at s occupies [s - before, s + duration + after), so it meets a span
    [a, b) when a - duration - after < s < b + before.
    """
    dates: set[date] = set()
    reach_back = rules.duration + rules.buffer_after
    for start, end in spans:
        low = local_date(start - reach_back, zone)
        high = local_date(end + rules.buffer_before, zone)
        day = max(low, first)
        while day <= min(high, last):
            dates.add(day)
            day += timedelta(days=1)
    return sorted(dates)
