"""What takes a provider's time: bookings and holds (with their buffers) and calendar events.

Times are kept as int64 microseconds since the epoch in numpy arrays, so that thousands of
candidate slots are judged against hundreds of bookings in a few array operations.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

Micros = npt.NDArray[np.int64]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def to_micros(instant: datetime) -> int:
    return (instant - EPOCH) // MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


def micros(values: Sequence[int] | Sequence[float]) -> Micros:
    return np.asarray(values, dtype=np.int64)


class ReservationKind(enum.Enum):
    BOOKING = "BOOKING"
    HOLD = "HOLD"


@dataclass(frozen=True)
class Reservation:
    """An active booking or unexpired hold: its own [start, end) and its service's buffers."""

    id: str
    kind: ReservationKind
    start: datetime
    end: datetime
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)

    @property
    def occupied_start(self) -> datetime:
        return self.start - self.buffer_before

    @property
    def occupied_end(self) -> datetime:
        return self.end + self.buffer_after


@dataclass(frozen=True)
class BusyInterval:
    """Busy time from a provider's external calendar; the title is for the provider's eyes."""

    id: str
    start: datetime
    end: datetime
    title: str | None = None


def occupied_range(
    start: datetime, end: datetime, buffer_before: timedelta, buffer_after: timedelta
) -> tuple[datetime, datetime]:
    return start - buffer_before, end + buffer_after


@dataclass(frozen=True)
class Occupancy:
    """Bookings, holds and busy time as columns; a row becomes an object only when asked for."""

    ids: Sequence[str]
    is_hold: npt.NDArray[np.bool_]
    own_start: Micros
    own_end: Micros
    occupied_start: Micros
    occupied_end: Micros
    busy_ids: Sequence[str]
    busy_titles: Sequence[str | None]
    busy_start: Micros
    busy_end: Micros
    hold_expires: Micros | None = None  # when each hold stops blocking (0 for bookings)

    @classmethod
    def of(cls, reservations: Sequence[Reservation] = (), busy: Sequence[BusyInterval] = ()) -> Occupancy:
        return cls(
            [r.id for r in reservations],
            np.asarray([r.kind is ReservationKind.HOLD for r in reservations], dtype=np.bool_),
            micros([to_micros(r.start) for r in reservations]),
            micros([to_micros(r.end) for r in reservations]),
            micros([to_micros(r.occupied_start) for r in reservations]),
            micros([to_micros(r.occupied_end) for r in reservations]),
            [b.id for b in busy],
            [b.title for b in busy],
            micros([to_micros(b.start) for b in busy]),
            micros([to_micros(b.end) for b in busy]),
        )

    def without(self, reservation_id: str) -> Occupancy:
        """The same occupancy less one reservation (a booking being moved)."""
        keep = np.asarray([i != reservation_id for i in self.ids], dtype=np.bool_)
        return Occupancy(
            [i for i in self.ids if i != reservation_id],
            self.is_hold[keep],
            self.own_start[keep],
            self.own_end[keep],
            self.occupied_start[keep],
            self.occupied_end[keep],
            self.busy_ids,
            self.busy_titles,
            self.busy_start,
            self.busy_end,
            None if self.hold_expires is None else self.hold_expires[keep],
        )

    def reservation(self, index: int) -> Reservation:
        start, end = from_micros(self.own_start[index]), from_micros(self.own_end[index])
        return Reservation(
            self.ids[index],
            ReservationKind.HOLD if self.is_hold[index] else ReservationKind.BOOKING,
            start,
            end,
            start - from_micros(self.occupied_start[index]),
            from_micros(self.occupied_end[index]) - end,
        )

    def busy_interval(self, index: int) -> BusyInterval:
        return BusyInterval(
            self.busy_ids[index],
            from_micros(self.busy_start[index]),
            from_micros(self.busy_end[index]),
            self.busy_titles[index],
        )


class Coverage:
    """The union of some [start, end) spans, kept as sorted disjoint spans.

    `meets` answers "does [a, b) overlap the union?" for many spans at once.
    """

    def __init__(self, starts: Micros, ends: Micros) -> None:
        real = ends > starts
        order = np.argsort(starts[real], kind="stable")
        starts, ends = starts[real][order], ends[real][order]
        if not len(starts):
            self.starts, self.ends = starts, ends
            return
        reach = np.maximum.accumulate(ends)
        first = np.ones(len(starts), dtype=np.bool_)
        first[1:] = starts[1:] > reach[:-1]
        self.starts = starts[first]
        self.ends = np.maximum.reduceat(ends, np.flatnonzero(first))

    def meets(self, a: Micros, b: Micros) -> npt.NDArray[np.bool_]:
        if not len(self.starts):
            return np.zeros(len(a), dtype=np.bool_)
        last_before = np.searchsorted(self.starts, b, side="left") - 1
        return (last_before >= 0) & (self.ends[np.maximum(last_before, 0)] > a)
