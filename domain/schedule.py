"""Weekly schedules, date exceptions, and which windows a date has."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from domain.errors import ValidationProblem
from domain.local_time import MINUTES_PER_DAY

_HH_MM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, order=True)
class Window:
    """A span of local wall-clock time, in minutes since midnight: [start, end)."""

    start_minute: int
    end_minute: int

    @property
    def start_text(self) -> str:
        return format_minutes(self.start_minute)

    @property
    def end_text(self) -> str:
        return format_minutes(self.end_minute)


@dataclass(frozen=True)
class DateException:
    """A date that is closed, or that has its own windows instead of the weekly ones."""

    day: date
    closed: bool
    windows: tuple[Window, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class DayPlan:
    windows: tuple[Window, ...]
    closed: bool


@dataclass(frozen=True)
class Schedule:
    """Windows per weekday (0 = Monday) in `zone`, with date exceptions on top."""

    zone: ZoneInfo
    weekly: Mapping[int, tuple[Window, ...]]
    exceptions: Mapping[date, DateException] = field(default_factory=dict)
    extra: Mapping[date, tuple[Window, ...]] = field(default_factory=dict)  # manual windows on dates

    def plan_for(self, day: date) -> DayPlan:
        """The date's windows: its exception's (or the weekday's), plus its extra windows;
        a closed date has none."""
        exception = self.exceptions.get(day)
        if exception is not None and exception.closed:
            return DayPlan((), True)
        base = exception.windows if exception is not None else self.weekly.get(day.weekday(), ())
        extra = self.extra.get(day, ())
        return DayPlan(merge_windows(base + extra) if extra else base, False)


def merge_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Windows joined where they overlap or touch."""
    merged: list[Window] = []
    for window in sorted(windows):
        if merged and window.start_minute <= merged[-1].end_minute:
            last = merged[-1]
            merged[-1] = Window(last.start_minute, max(last.end_minute, window.end_minute))
        else:
            merged.append(window)
    return tuple(merged)


def clashes(windows: Iterable[Window]) -> list[tuple[Window, Window]]:
    """Pairs of one day's windows that overlap or touch (they should be one window)."""
    ordered = sorted(windows)
    found = []
    for index, window in enumerate(ordered):
        for later in ordered[index + 1 :]:
            if later.start_minute > window.end_minute:
                break
            found.append((window, later))
    return found


def effective_schedule(
    provider: Schedule,
    service: Schedule | None,
    service_exceptions: Iterable[DateException],
) -> Schedule:
    """The schedule a service is booked by.

    A service with its own weekly schedule uses it, otherwise the provider's.
    A date the provider closed is closed for every service; a service's own
    exception for a date beats the provider's window override for that date;
    the provider's window overrides apply to services that use its weekly schedule.
    """
    base = service or provider
    exceptions: dict[date, DateException] = {}
    for day, exception in provider.exceptions.items():
        if exception.closed or service is None:
            exceptions[day] = exception
    for exception in service_exceptions:
        current = exceptions.get(exception.day)
        if current is None or not current.closed:
            exceptions[exception.day] = exception
    return Schedule(base.zone, base.weekly, exceptions, provider.extra if service is None else {})


def parse_minutes(text: str, field_name: str) -> int:
    """'HH:MM' (00:00 to 24:00) to minutes since midnight."""
    match = _HH_MM.match(text)
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not match or minutes > MINUTES_PER_DAY:
        raise ValidationProblem(field_name, f"'{text}' is not a time of day as HH:MM (00:00-24:00)")
    return minutes


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_windows(spans: Iterable[tuple[str, str]], field_name: str) -> tuple[Window, ...]:
    """Parse and check one day's windows: each starts before it ends, none overlap."""
    windows = []
    for index, (start, end) in enumerate(spans):
        where = f"{field_name}[{index}]"
        window = Window(parse_minutes(start, f"{where}.start"), parse_minutes(end, f"{where}.end"))
        if window.end_minute <= window.start_minute:
            raise ValidationProblem(where, f"window {start}-{end} must end after it starts")
        windows.append(window)
    for before, after in clashes(windows)[:1]:
        verb = "touch" if after.start_minute == before.end_minute else "overlap"
        raise ValidationProblem(
            field_name,
            f"windows {before.start_text}-{before.end_text} and {after.start_text}-{after.end_text} {verb}"
            " (make them one window)",
        )
    return tuple(sorted(windows))


WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def parse_week(
    days: Iterable[tuple[int, Iterable[tuple[str, str]]]], field_name: str = "days"
) -> dict[int, tuple[Window, ...]]:
    """A whole week from (weekday 0-6, windows) pairs; each weekday at most once."""
    week: dict[int, tuple[Window, ...]] = {}
    for index, (weekday, spans) in enumerate(days):
        if weekday in week:
            raise ValidationProblem(f"{field_name}[{index}].weekday", f"{WEEKDAYS[weekday]} is given twice")
        windows = parse_windows(spans, f"{field_name}[{index}].windows")
        if windows:
            week[weekday] = windows
    return week
