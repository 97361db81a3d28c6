"""What importing an availability document into a provider changes (pure: no I/O).

MERGE adds the document to what the provider has: services matched by name are updated
(rules, price and own schedule, as a whole), the others created; the weekly windows of each
weekday are the union of both sides; the document's exceptions and date windows replace the
provider's for the same date (and service). REPLACE makes the provider's zones, weekly
schedule, exceptions and date windows exactly the document's; services are matched by name
and updated or created, and a service the document lacks is removed only when it has no
bookings at all (it is kept as it stands otherwise, and the report says so).

A clash (overlapping or touching weekly windows, two zones in one union) is a conflict: the
plan still counts what it would do, but nothing may be applied. The document's provider name
is informative only: an import never renames the provider.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from domain.availability_document import (
    AvailabilityDocument,
    DateWindowSpec,
    ExceptionSpec,
    ServiceSpec,
    WeekSpec,
)
from domain.schedule import WEEKDAYS, DateException, Window


class ImportMode(enum.Enum):
    MERGE = "MERGE"
    REPLACE = "REPLACE"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    removed: int = 0

    @property
    def any(self) -> bool:
        return bool(self.created or self.updated or self.removed)


@dataclass(frozen=True)
class ExistingService:
    key: str  # the service's id, opaque here
    spec: ServiceSpec
    has_bookings: bool  # any booking or hold, of any status


@dataclass(frozen=True)
class ExistingException:
    service_key: str | None  # None: the provider's
    exception: DateException


@dataclass(frozen=True)
class CurrentSetup:
    """What the provider has now."""

    timezone: str
    week: WeekSpec
    services: tuple[ExistingService, ...]  # oldest first
    exceptions: tuple[ExistingException, ...]
    date_windows: tuple[DateWindowSpec, ...]


@dataclass(frozen=True)
class ImportPlan:
    mode: ImportMode
    timezone: str  # the provider's zone afterwards
    week: WeekSpec  # the provider's weekly schedule afterwards
    create_services: tuple[ServiceSpec, ...]
    update_services: tuple[tuple[str, ServiceSpec], ...]  # (key, new spec)
    remove_services: tuple[str, ...]
    service_keys: dict[str, str]  # the document's service name -> the existing service it updates
    remove_exceptions: tuple[tuple[str | None, date], ...]  # (service key or None, date)
    put_exceptions: tuple[ExceptionSpec, ...]  # service by its name in the document
    date_windows: dict[date, tuple[DateWindowSpec, ...]]  # dates to rewrite, with their windows after
    provider: Counts = field(default_factory=Counts)
    services: Counts = field(default_factory=Counts)
    weekly_windows: Counts = field(default_factory=Counts)
    exceptions: Counts = field(default_factory=Counts)
    date_window_counts: Counts = field(default_factory=Counts)
    conflicts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changes_anything(self) -> bool:
        counts = (self.provider, self.services, self.weekly_windows, self.exceptions, self.date_window_counts)
        return any(c.any for c in counts)

    @property
    def week_changed(self) -> bool:
        return self.provider.any or self.weekly_windows.any


def plan_import(current: CurrentSetup, document: AvailabilityDocument, mode: ImportMode) -> ImportPlan:
    conflicts: list[str] = []
    notes: list[str] = []
    replace = mode is ImportMode.REPLACE

    # The provider's zone and weekly schedule.
    timezone = document.timezone
    if not replace and current.timezone != document.timezone:
        conflicts.append(
            f"provider.timezone: the document's {document.timezone} differs from the provider's "
            f"{current.timezone}; MERGE keeps one zone (use REPLACE to take the document's)"
        )
        timezone = current.timezone
    week = document.week if replace else _merged_week(current.week, document.week, conflicts)
    provider = Counts(updated=int(timezone != current.timezone or week.timezone != current.week.timezone))
    weekly = _window_counts(_week_windows(current.week), _week_windows(week))

    # Services, matched by name (the oldest of a name when the provider has several).
    by_name: dict[str, ExistingService] = {}
    for existing in current.services:
        by_name.setdefault(existing.spec.name, existing)
    services = Counts()
    creates: list[ServiceSpec] = []
    updates: list[tuple[str, ServiceSpec]] = []
    keys: dict[str, str] = {}
    for spec in document.services:
        match = by_name.get(spec.name)
        if match is None:
            creates.append(spec)
            services.created += 1
            continue
        keys[spec.name] = match.key
        if match.spec != spec:
            updates.append((match.key, spec))
            services.updated += 1
    removes: list[str] = []
    kept: set[str] = set()
    if replace:
        matched = set(keys.values())
        for existing in current.services:
            if existing.key in matched:
                continue
            if existing.has_bookings:
                kept.add(existing.key)
                notes.append(
                    f"service '{existing.spec.name}' is not in the document but has bookings: "
                    "kept as it was, with its own schedule and exceptions"
                )
            else:
                removes.append(existing.key)
                services.removed += 1

    # Exceptions, by owner and date.
    now_by_key = {(e.service_key, e.exception.day): _normal(e.exception) for e in current.exceptions}
    exceptions = Counts()
    puts: list[ExceptionSpec] = []
    wanted: set[tuple[str | None, date]] = set()
    for given in document.exceptions:
        owner = None if given.service is None else keys.get(given.service, "+" + given.service)
        key = (owner, given.exception.day)
        wanted.add(key)
        before = now_by_key.get(key)
        if before is None:
            exceptions.created += 1
        elif before != _normal(given.exception):
            exceptions.updated += 1
        else:
            continue
        puts.append(given)
    drops: list[tuple[str | None, date]] = []
    if replace:
        for key in now_by_key:
            if key not in wanted and key[0] not in kept:
                drops.append(key)
                exceptions.removed += 1

    # Date windows, by date.
    now_by_day = _by_day(current.date_windows)
    new_by_day = _by_day(document.date_windows)
    days = set(new_by_day) | (set(now_by_day) if replace else set())
    rewrites: dict[date, tuple[DateWindowSpec, ...]] = {}
    date_windows = Counts()
    for day in sorted(days):
        before_day, after_day = now_by_day.get(day, {}), new_by_day.get(day, {})
        if before_day == after_day:
            continue
        date_windows.created += len(after_day.keys() - before_day.keys())
        date_windows.removed += len(before_day.keys() - after_day.keys())
        date_windows.updated += sum(
            1 for w in after_day.keys() & before_day.keys() if after_day[w] != before_day[w]
        )
        rewrites[day] = tuple(DateWindowSpec(day, w, after_day[w]) for w in sorted(after_day))

    return ImportPlan(
        mode,
        timezone,
        week,
        tuple(creates),
        tuple(updates),
        tuple(removes),
        keys,
        tuple(drops),
        tuple(puts),
        rewrites,
        provider,
        services,
        weekly,
        exceptions,
        date_windows,
        tuple(conflicts),
        tuple(notes),
    )


def _merged_week(current: WeekSpec, incoming: WeekSpec, conflicts: list[str]) -> WeekSpec:
    has_current = any(current.days.values())
    has_incoming = any(incoming.days.values())
    if has_current and has_incoming and current.timezone != incoming.timezone:
        conflicts.append(
            f"weeklySchedule.timezone: the document's windows are in {incoming.timezone}, "
            f"the provider's in {current.timezone}"
        )
    zone = current.timezone if has_current else incoming.timezone
    days: dict[int, tuple[Window, ...]] = {}
    for weekday in range(7):
        mine, theirs = set(current.days.get(weekday, ())), set(incoming.days.get(weekday, ()))
        for a in sorted(mine - theirs):
            for b in sorted(theirs - mine):
                if a.start_minute <= b.end_minute and b.start_minute <= a.end_minute:
                    verb = (
                        "touch"
                        if b.start_minute == a.end_minute or a.start_minute == b.end_minute
                        else "overlap"
                    )
                    conflicts.append(
                        f"weeklySchedule {WEEKDAYS[weekday]}: the provider's window {_span(a)} and "
                        f"the document's {_span(b)} {verb}"
                    )
        union = tuple(sorted(mine | theirs))
        if union:
            days[weekday] = union
    return WeekSpec(zone, days)


def _week_windows(week: WeekSpec) -> set[tuple[int, Window]]:
    return {(day, w) for day, windows in week.days.items() for w in windows}


def _window_counts(before: set[tuple[int, Window]], after: set[tuple[int, Window]]) -> Counts:
    return Counts(created=len(after - before), removed=len(before - after))


def _by_day(windows: Iterable[DateWindowSpec]) -> dict[date, dict[Window, str | None]]:
    found: dict[date, dict[Window, str | None]] = {}
    for w in windows:
        found.setdefault(w.day, {})[w.window] = w.reason
    return found


def _normal(exception: DateException) -> DateException:
    return DateException(exception.day, exception.closed, tuple(sorted(exception.windows)), exception.reason)


def _span(window: Window) -> str:
    return f"{window.start_text}-{window.end_text}"
