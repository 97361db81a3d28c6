"""Where availability and reality disagree, and how window conflicts are resolved."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from domain.schedule import Window


class ConflictType(enum.Enum):
    OVERLAPPING_WINDOWS = "OVERLAPPING_WINDOWS"  # two windows of one weekday share time
    BOOKING_OUTSIDE_AVAILABILITY = "BOOKING_OUTSIDE_AVAILABILITY"  # its slot is no longer offered
    BOOKING_OVERLAPS_CALENDAR = "BOOKING_OVERLAPS_CALENDAR"  # the provider's own calendar is busy then


class Strategy(enum.Enum):
    ADJUST = "ADJUST"  # move the later window's start to where the earlier ends (drop it if nothing is left)
    REMOVE = "REMOVE"  # delete the later of two conflicting windows
    MERGE = "MERGE"  # join conflicting windows into one


@dataclass(frozen=True)
class WindowRow:
    id: int
    weekday: int
    window: Window


@dataclass(frozen=True)
class WindowPlan:
    """What a strategy does to a weekday's windows: rows to change and rows to remove."""

    changed: dict[int, Window]
    removed: list[int]

    @property
    def empty(self) -> bool:
        return not self.changed and not self.removed


def overlapping_windows(rows: Sequence[WindowRow]) -> list[tuple[WindowRow, WindowRow]]:
    """Pairs of windows of one weekday that share time (stored data can hold them: legacy
    schedules, imports, direct edits; the API refuses to create them)."""
    found = []
    for weekday in sorted({r.weekday for r in rows}):
        day = sorted((r for r in rows if r.weekday == weekday), key=lambda r: (r.window, r.id))
        for index, row in enumerate(day):
            for later in day[index + 1 :]:
                if later.window.start_minute >= row.window.end_minute:
                    break
                found.append((row, later))
    return found


def resolve_windows(rows: Sequence[WindowRow], strategy: Strategy) -> WindowPlan:
    """The changes that leave no overlapping or touching windows on any weekday."""
    changed: dict[int, Window] = {}
    removed: list[int] = []
    for weekday in sorted({r.weekday for r in rows}):
        kept: list[WindowRow] = []
        for row in sorted((r for r in rows if r.weekday == weekday), key=lambda r: (r.window, r.id)):
            previous = kept[-1] if kept else None
            if previous is None or row.window.start_minute >= previous.window.end_minute:
                kept.append(row)
                continue
            if strategy is Strategy.MERGE:
                joined = Window(
                    previous.window.start_minute, max(previous.window.end_minute, row.window.end_minute)
                )
                kept[-1] = WindowRow(previous.id, weekday, joined)
                changed[previous.id] = joined
                removed.append(row.id)
            elif strategy is Strategy.ADJUST and row.window.end_minute > previous.window.end_minute:
                shortened = Window(previous.window.end_minute, row.window.end_minute)
                kept.append(WindowRow(row.id, weekday, shortened))
                changed[row.id] = shortened
            else:
                removed.append(row.id)
    return WindowPlan(changed, removed)
