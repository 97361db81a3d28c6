"""What takes a provider's time: bookings and holds (with their buffers) and calendar events."""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")


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


class IntervalIndex(Generic[T]):
    """Finds the items whose [lower, upper) overlaps a query span, by bisection."""

    def __init__(
        self,
        items: Iterable[T],
        lower: Callable[[T], datetime],
        upper: Callable[[T], datetime],
    ) -> None:
        self._items: Sequence[T] = sorted(items, key=lower)
        self._lowers = [lower(item) for item in self._items]
        self._upper = upper
        self._longest = max((upper(item) - lower(item) for item in self._items), default=timedelta(0))

    def overlapping(self, start: datetime, end: datetime) -> list[T]:
        if not self._items:
            return []
        first = bisect_left(self._lowers, start - self._longest)
        last = bisect_left(self._lowers, end)
        return [item for item in self._items[first:last] if self._upper(item) > start]

    def first_from(self, instant: datetime) -> T | None:
        """The item with the earliest lower bound at or after `instant`."""
        index = bisect_left(self._lowers, instant)
        return self._items[index] if index < len(self._items) else None
