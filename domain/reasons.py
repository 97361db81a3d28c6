"""Why a slot, or a whole date, is unavailable."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import numpy as np
import numpy.typing as npt

from domain.local_time import local_date, start_of_day
from domain.occupancy import (
    EPOCH,
    BusyInterval,
    Coverage,
    Micros,
    Occupancy,
    Reservation,
    from_micros,
    micros,
    to_micros,
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


REASON_ORDER = (
    SlotReason.PAST,
    SlotReason.NOTICE_PERIOD,
    SlotReason.BEYOND_HORIZON,
    SlotReason.BOOKED,
    SlotReason.HELD,
    SlotReason.BUFFER,
    SlotReason.CALENDAR_CONFLICT,
)
AVAILABLE = -1  # the code of an available slot in SlotJudge.codes


class SlotJudge:
    """Decides whether slots can be booked, and if not, why.

    One judge serves listing and booking, so a listed slot is always bookable. `codes`
    judges many slots at once (an index into REASON_ORDER, or AVAILABLE); `judge` one slot,
    with the booking, hold or calendar event in its way.
    """

    def __init__(
        self,
        rules: ServiceRules,
        provider_zone: tzinfo,
        now: datetime,
        occupancy: Occupancy | None = None,
    ) -> None:
        self.rules = rules
        self.zone = provider_zone
        self.now = now
        self.notice_end = now + rules.min_notice
        self.horizon_end = horizon_end(now, provider_zone, rules.horizon_days)
        self.occupancy = occupancy or Occupancy.of()
        o = self.occupancy
        self._bookings = Coverage(o.own_start[~o.is_hold], o.own_end[~o.is_hold])
        self._holds = Coverage(o.own_start[o.is_hold], o.own_end[o.is_hold])
        self._occupied = Coverage(o.occupied_start, o.occupied_end)
        self._busy = Coverage(o.busy_start, o.busy_end)
        self._next_occupied = np.sort(o.occupied_start)
        self._next_busy = np.sort(o.busy_start)
        self._clock = (to_micros(now), to_micros(self.notice_end), to_micros(self.horizon_end))
        self._buffers = (to_micros(EPOCH + rules.buffer_before), to_micros(EPOCH + rules.buffer_after))

    def codes(self, starts: Micros, ends: Micros) -> npt.NDArray[np.int8]:
        """The reason code of each slot [starts[i], ends[i]), in the precedence of REASON_ORDER."""
        now, notice_end, horizon = self._clock
        before, after = self._buffers
        conditions = [
            starts < now,
            starts < notice_end,
            starts >= horizon,
            self._bookings.meets(starts, ends),
            self._holds.meets(starts, ends),
            self._occupied.meets(starts - before, ends + after),
            self._busy.meets(starts, ends),
        ]
        return np.select(conditions, range(len(REASON_ORDER)), AVAILABLE).astype(np.int8)

    def judge(self, start: datetime, end: datetime) -> SlotVerdict:
        return self.verdict(
            start, end, int(self.codes(micros([to_micros(start)]), micros([to_micros(end)]))[0])
        )

    def verdict(self, start: datetime, end: datetime, code: int) -> SlotVerdict:
        """The verdict of a slot whose code `codes` gave, with what stands in its way."""
        if code == AVAILABLE:
            return SlotVerdict(start, end, None)
        reason = REASON_ORDER[code]
        return SlotVerdict(start, end, reason, self._blocker(reason, start, end))

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
        at = to_micros(start)
        limits = []
        index = int(np.searchsorted(self._next_occupied, at, side="left"))
        if index < len(self._next_occupied):
            limits.append(from_micros(self._next_occupied[index]) - self.rules.buffer_after)
        index = int(np.searchsorted(self._next_busy, at, side="left"))
        if index < len(self._next_busy):
            limits.append(from_micros(self._next_busy[index]))
        return min(limits, default=None)

    def _blocker(
        self, reason: SlotReason, start: datetime, end: datetime
    ) -> Reservation | BusyInterval | None:
        o = self.occupancy
        s, e = to_micros(start), to_micros(end)
        if reason is SlotReason.CALENDAR_CONFLICT:
            hits = np.flatnonzero((o.busy_start < e) & (o.busy_end > s))
            return o.busy_interval(int(hits[0])) if len(hits) else None
        if reason in (SlotReason.BOOKED, SlotReason.HELD):
            wanted = o.is_hold if reason is SlotReason.HELD else ~o.is_hold
            hits = np.flatnonzero(wanted & (o.own_start < e) & (o.own_end > s))
        elif reason is SlotReason.BUFFER:
            before, after = self._buffers
            hits = np.flatnonzero((o.occupied_start < e + after) & (o.occupied_end > s - before))
        else:
            return None
        return o.reservation(int(hits[0])) if len(hits) else None


_CLOCK_REASONS = {SlotReason.PAST, SlotReason.NOTICE_PERIOD, SlotReason.BEYOND_HORIZON}
_TAKEN = {SlotReason.BOOKED, SlotReason.HELD, SlotReason.BUFFER}


def day_reason(
    day_end: datetime, now: datetime, counts: Mapping[SlotReason | None, int], closed: bool
) -> DayReason | None:
    """The month view's reason for a date from how many of its slots have each reason
    (None: available); None when it has an available slot."""
    if counts.get(None, 0):
        return None
    total = sum(counts.values())
    upcoming = total - counts.get(SlotReason.PAST, 0)
    if day_end <= now or (total and not upcoming):
        return DayReason.PAST
    if not total:
        return DayReason.BLOCKED if closed else DayReason.NO_SERVICE_HOURS
    too_far = counts.get(SlotReason.BEYOND_HORIZON, 0)
    if too_far == upcoming:
        return DayReason.BEYOND_HORIZON
    if too_far + counts.get(SlotReason.NOTICE_PERIOD, 0) == upcoming:
        return DayReason.NOTICE_PERIOD
    taken = sum(counts.get(r, 0) for r in _TAKEN)
    conflicts = counts.get(SlotReason.CALENDAR_CONFLICT, 0)
    return DayReason.FULLY_BOOKED if taken >= conflicts else DayReason.CALENDAR_CONFLICTS


def dates_between(first: date, last: date) -> list[date]:
    """first .. last, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
