"""Why a slot, or a whole date, is unavailable."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from domain.local_time import local_date, start_of_day
from domain.occupancy import (
    BusyInterval,
    IntervalIndex,
    Reservation,
    ReservationKind,
    occupied_range,
)
from domain.service_rules import ServiceRules


class SlotReason(enum.Enum):
    """In order of precedence: the first that applies is the slot's reason."""

    PAST = "PAST"
    NOTICE_PERIOD = "NOTICE_PERIOD"
    BEYOND_HORIZON = "BEYOND_HORIZON"
    BOOKED = "BOOKED"
    HELD = "HELD"
    BUFFER = "BUFFER"
    CALENDAR_CONFLICT = "CALENDAR_CONFLICT"
    # Only on writes: the start is not one the schedule offers for this service.
    OUTSIDE_SCHEDULE = "OUTSIDE_SCHEDULE"


class DayReason(enum.Enum):
    PAST = "PAST"
    BLOCKED = "BLOCKED"
    NO_SERVICE_HOURS = "NO_SERVICE_HOURS"
    BEYOND_HORIZON = "BEYOND_HORIZON"
    NOTICE_PERIOD = "NOTICE_PERIOD"
    FULLY_BOOKED = "FULLY_BOOKED"
    CALENDAR_CONFLICTS = "CALENDAR_CONFLICTS"


@dataclass(frozen=True)
class SlotVerdict:
    start: datetime
    end: datetime
    reason: SlotReason | None
    blocker: Reservation | BusyInterval | None = None

    @property
    def available(self) -> bool:
        return self.reason is None


def horizon_end(now: datetime, provider_zone: tzinfo, horizon_days: int) -> datetime:
    """The provider-zone midnight that starts date today + horizonDays."""
    today = local_date(now, provider_zone)
    return start_of_day(today + timedelta(days=horizon_days), provider_zone)


class SlotJudge:
    """Decides whether [start, end) can be booked, and if not, why.

    One judge serves listing and booking, so a listed slot is always bookable.
    """

    def __init__(
        self,
        rules: ServiceRules,
        provider_zone: tzinfo,
        now: datetime,
        reservations: Sequence[Reservation] = (),
        busy: Sequence[BusyInterval] = (),
    ) -> None:
        self.rules = rules
        self.now = now
        self.notice_end = now + rules.min_notice
        self.horizon_end = horizon_end(now, provider_zone, rules.horizon_days)
        self._own = IntervalIndex(reservations, lambda r: r.start, lambda r: r.end)
        self._occupied = IntervalIndex(reservations, lambda r: r.occupied_start, lambda r: r.occupied_end)
        self._busy = IntervalIndex(busy, lambda b: b.start, lambda b: b.end)

    def judge(self, start: datetime, end: datetime) -> SlotVerdict:
        reason, blocker = self._reason(start, end)
        return SlotVerdict(start, end, reason, blocker)

    def judge_write(self, start: datetime, offered: bool) -> SlotVerdict:
        """The verdict on taking [start, start + duration): as listed, and only for offered starts."""
        verdict = self.judge(start, start + self.rules.duration)
        if not offered and verdict.reason not in _CLOCK_REASONS:
            return SlotVerdict(verdict.start, verdict.end, SlotReason.OUTSIDE_SCHEDULE)
        return verdict

    def free_until(self, start: datetime) -> datetime | None:
        """How long a booking starting at `start` could last before it meets the next taken time.

        Our buffer after must end by the next booking's or hold's occupied range; a calendar
        event needs no buffer. None: nothing later is taken.
        """
        limits = []
        reservation = self._occupied.first_from(start)
        if reservation is not None:
            limits.append(reservation.occupied_start - self.rules.buffer_after)
        event = self._busy.first_from(start)
        if event is not None:
            limits.append(event.start)
        return min(limits, default=None)

    def _reason(
        self, start: datetime, end: datetime
    ) -> tuple[SlotReason | None, Reservation | BusyInterval | None]:
        if start < self.now:
            return SlotReason.PAST, None
        if start < self.notice_end:
            return SlotReason.NOTICE_PERIOD, None
        if start >= self.horizon_end:
            return SlotReason.BEYOND_HORIZON, None
        own = self._own.overlapping(start, end)
        for kind, reason in (
            (ReservationKind.BOOKING, SlotReason.BOOKED),
            (ReservationKind.HOLD, SlotReason.HELD),
        ):
            hit = next((r for r in own if r.kind is kind), None)
            if hit is not None:
                return reason, hit
        occupied_start, occupied_end = occupied_range(
            start, end, self.rules.buffer_before, self.rules.buffer_after
        )
        near = self._occupied.overlapping(occupied_start, occupied_end)
        if near:
            return SlotReason.BUFFER, near[0]
        busy = self._busy.overlapping(start, end)
        if busy:
            return SlotReason.CALENDAR_CONFLICT, busy[0]
        return None, None


_CLOCK_REASONS = {SlotReason.PAST, SlotReason.NOTICE_PERIOD, SlotReason.BEYOND_HORIZON}
_TAKEN = {SlotReason.BOOKED, SlotReason.HELD, SlotReason.BUFFER}
_TOO_SOON_OR_FAR = {SlotReason.NOTICE_PERIOD, SlotReason.BEYOND_HORIZON}


def day_reason(
    day_end: datetime, now: datetime, verdicts: Sequence[SlotVerdict], closed: bool
) -> DayReason | None:
    """The month view's reason for a date; None when it has an available slot."""
    if any(v.available for v in verdicts):
        return None
    upcoming = [v.reason for v in verdicts if v.reason is not SlotReason.PAST]
    if day_end <= now or (verdicts and not upcoming):
        return DayReason.PAST
    if not verdicts:
        return DayReason.BLOCKED if closed else DayReason.NO_SERVICE_HOURS
    if all(r is SlotReason.BEYOND_HORIZON for r in upcoming):
        return DayReason.BEYOND_HORIZON
    if all(r in _TOO_SOON_OR_FAR for r in upcoming):
        return DayReason.NOTICE_PERIOD
    taken = sum(r in _TAKEN for r in upcoming)
    conflicts = sum(r is SlotReason.CALENDAR_CONFLICT for r in upcoming)
    return DayReason.FULLY_BOOKED if taken >= conflicts else DayReason.CALENDAR_CONFLICTS


def dates_between(first: date, last: date) -> list[date]:
    """first .. last, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
