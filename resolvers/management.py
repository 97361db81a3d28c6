"""Providers managing availability: bulk weekly edits, single windows, blocked dates, manual date
windows, the change log, and conflicts between availability and reality."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from db import management_queries as mq
from db import setup_queries as q
from db.availability_queries import load_provider_and_service, load_schedule
from db.change_log import ChangeLogEntry, list_changes, record_change
from db.records import ProviderRecord, ScheduleRecord
from db.reservation_queries import lock_provider_writes
from domain.availability import check_view_distance
from domain.changes import ChangeCause, Span
from domain.conflicts import ConflictType, Strategy, WindowRow, overlapping_windows, resolve_windows
from domain.errors import NotFoundProblem, ValidationProblem, checked_text
from domain.local_time import local_date, start_of_day, zone_named
from domain.schedule import WEEKDAYS, Window, clashes, merge_windows, parse_windows
from domain.slots import is_offered
from resolvers.access import require_provider
from resolvers.changes import ChangeRecorder, changing
from resolvers.context import AppContext, parse_id
from resolvers.lookups import date_span, provider_or_404
from resolvers.setup import add_date_exception, remove_date_exception, schedule

MAX_CONFLICT_DAYS = 366
ALL_AHEAD = timedelta(days=2 * 366)


@dataclass(frozen=True)
class WindowEdit:
    weekday: int
    start: str
    end: str


@dataclass(frozen=True)
class WindowChange:
    id: str
    start: str
    end: str


@dataclass(frozen=True)
class Conflict:
    type: ConflictType
    description: str
    weekday: int | None = None
    window_ids: tuple[str, ...] = ()
    booking_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class Resolution:
    strategy: Strategy
    dry_run: bool
    applied: bool
    changes: list[str]
    remaining: list[Conflict]


async def set_recurring_schedules(
    app: AppContext,
    provider_id: str,
    add: Sequence[WindowEdit],
    update: Sequence[WindowChange],
    remove: Sequence[str],
    merge: bool,
    actor: str | None = None,
) -> ScheduleRecord:
    """Add, update and remove weekly windows in one transaction. Windows of a day that would
    overlap or touch are a conflict (nothing is applied), or are joined when `merge` is set."""
    added = [(e.weekday, parse_windows([(e.start, e.end)], f"add[{n}]")[0]) for n, e in enumerate(add)]
    updates = {
        _window_id(c.id, f"update[{n}].id"): parse_windows([(c.start, c.end)], f"update[{n}]")[0]
        for n, c in enumerate(update)
    }
    removals = {_window_id(i, f"remove[{n}]") for n, i in enumerate(remove)}
    async with changing(app) as changes:
        provider = await provider_or_404(changes.conn, provider_id)
        require_provider(provider.id)
        await lock_provider_writes(changes.conn, provider.id)
        rows = {r.id: r for r in await mq.weekly_rows(changes.conn, provider.id)}
        unknown = sorted((set(updates) | removals) - set(rows))
        if unknown:
            raise NotFoundProblem(
                "update" if set(updates) & set(unknown) else "remove", "window", str(unknown[0])
            )
        before = _week_json(rows.values())
        week: dict[int, list[Window]] = {}
        for row in rows.values():
            if row.id not in removals:
                week.setdefault(row.weekday, []).append(updates.get(row.id, row.window))
        for weekday, window in added:
            week.setdefault(weekday, []).append(window)
        for weekday, windows in sorted(week.items()):
            found = clashes(windows)
            if found and not merge:
                a, b = found[0]
                raise ValidationProblem(
                    f"days.{WEEKDAYS[weekday]}",
                    f"{a.start_text}-{a.end_text} and {b.start_text}-{b.end_text} overlap or touch "
                    "(pass merge: true to join them)",
                )
        await mq.remove_weekly_windows(changes.conn, list(rows))
        for weekday, windows in sorted(week.items()):
            for window in merge_windows(windows):
                await mq.add_weekly_window(changes.conn, provider.id, weekday, window)
        after = _week_json(await mq.weekly_rows(changes.conn, provider.id))
        await record_change(changes.conn, provider.id, "WEEKLY_SCHEDULE", "UPDATED", before, after, actor)
        await changes.record(provider.id, ChangeCause.SCHEDULE_CHANGED, [_ahead(changes)])
    return await schedule(app, provider_id, None)


async def add_availability_window(
    app: AppContext,
    provider_id: str,
    weekday: int | None,
    day: date | None,
    start: str,
    end: str,
    reason: str | None,
    actor: str | None = None,
) -> tuple[ScheduleRecord, str]:
    """A weekly window (weekday) or a manual window on one date (day), next to the others."""
    if (weekday is None) == (day is None):
        raise ValidationProblem("weekday", "give exactly one of weekday and date")
    window = parse_windows([(start, end)], "window")[0]
    note = checked_text(reason, "reason", 500, required=False) or None if reason else None
    async with changing(app) as changes:
        provider = await provider_or_404(changes.conn, provider_id)
        require_provider(provider.id)
        await lock_provider_writes(changes.conn, provider.id)
        zone = zone_named(provider.timezone)
        if day is not None:
            check_view_distance(day, local_date(app.clock(), zone), "date")
            same_day = [r.window for r in await mq.date_window_rows(changes.conn, provider.id, day, day)]
            _refuse_clash(same_day, window, "date")
            new_id = str(await mq.add_date_window(changes.conn, provider.id, day, window, note))
            entity, span = "DATE_WINDOW", date_span(day, zone)
            after: dict[str, object] = {
                "id": new_id,
                "date": day.isoformat(),
                "window": [window.start_text, window.end_text],
            }
        else:
            assert weekday is not None
            same_day = [
                r.window for r in await mq.weekly_rows(changes.conn, provider.id) if r.weekday == weekday
            ]
            _refuse_clash(same_day, window, "weekday")
            new_id = str(await mq.add_weekly_window(changes.conn, provider.id, weekday, window))
            entity, span = "WINDOW", _ahead(changes)
            after = {
                "id": new_id,
                "weekday": WEEKDAYS[weekday],
                "window": [window.start_text, window.end_text],
            }
        await record_change(changes.conn, provider.id, entity, "CREATED", None, after, actor)
        await changes.record(provider.id, ChangeCause.SCHEDULE_CHANGED, [span])
    return await schedule(app, provider_id, None), new_id


async def remove_availability_window(
    app: AppContext, window_id: str, actor: str | None = None
) -> ScheduleRecord:
    async with changing(app) as changes:
        if window_id.isdigit():
            owner = await mq.window_owner(changes.conn, int(window_id))
            if owner is None:
                raise NotFoundProblem("id", "window", window_id)
            row = next(r for r in await mq.weekly_rows(changes.conn, owner) if r.id == int(window_id))
            await mq.remove_weekly_windows(changes.conn, [row.id])
            before = {
                "id": window_id,
                "weekday": WEEKDAYS[row.weekday],
                "window": [row.window.start_text, row.window.end_text],
            }
            entity, span = "WINDOW", _ahead(changes)
        else:
            removed = await mq.remove_date_window(changes.conn, parse_id(window_id, "id", "window"))
            if removed is None:
                raise NotFoundProblem("id", "window", window_id)
            owner = removed.provider_id
            provider = await q.get_provider(changes.conn, owner)
            assert provider is not None
            before = {
                "id": window_id,
                "date": removed.day.isoformat(),
                "window": [removed.window.start_text, removed.window.end_text],
            }
            entity, span = "DATE_WINDOW", date_span(removed.day, zone_named(provider.timezone))
        require_provider(owner)
        await record_change(changes.conn, owner, entity, "REMOVED", before, None, actor)
        await changes.record(owner, ChangeCause.SCHEDULE_CHANGED, [span])
    return await schedule(app, str(owner), None)


async def block_date(
    app: AppContext,
    provider_id: str | None,
    service_id: str | None,
    day: date,
    reason: str | None,
    actor: str | None = None,
) -> ScheduleRecord:
    """Close a date (for the provider, or one service), with a reason; replaces that date's override."""
    record, _ = await add_date_exception(app, provider_id, service_id, day, True, [], reason, actor)
    return record


async def unblock_date(
    app: AppContext, provider_id: str | None, service_id: str | None, day: date, actor: str | None = None
) -> ScheduleRecord:
    current = await schedule(app, provider_id or "", service_id)
    closed = next((e for e in current.exceptions if e.exception.day == day and e.exception.closed), None)
    if closed is None:
        raise NotFoundProblem("date", "blocked date", day.isoformat())
    return await remove_date_exception(app, str(closed.id), actor)


async def availability_changes(
    app: AppContext, provider_id: str, since: datetime | None, until: datetime | None, limit: int
) -> list[ChangeLogEntry]:
    if not 1 <= limit <= 500:
        raise ValidationProblem("limit", "must be between 1 and 500")
    async with app.engine.connect() as conn:
        provider = await provider_or_404(conn, provider_id)
        require_provider(provider.id)
        return await list_changes(conn, provider.id, since, until, limit)


async def availability_conflicts(
    app: AppContext, provider_id: str, first: date, last: date
) -> list[Conflict]:
    async with app.engine.connect() as conn:
        provider = await provider_or_404(conn, provider_id)
        require_provider(provider.id)
        return await _conflicts(app, conn, provider, first, last)


async def resolve_availability_conflicts(
    app: AppContext,
    provider_id: str,
    first: date,
    last: date,
    strategy: Strategy,
    dry_run: bool,
    actor: str | None = None,
) -> Resolution:
    """Resolve overlapping weekly windows by one strategy, all or nothing; bookings are never
    touched (a booking left outside availability stays reported)."""
    async with changing(app) as changes:
        provider = await provider_or_404(changes.conn, provider_id)
        require_provider(provider.id)
        await lock_provider_writes(changes.conn, provider.id)
        rows = [WindowRow(r.id, r.weekday, r.window) for r in await mq.weekly_rows(changes.conn, provider.id)]
        plan = resolve_windows(rows, strategy)
        by_id = {r.id: r for r in rows}
        described = [
            f"{WEEKDAYS[by_id[i].weekday]} {by_id[i].window.start_text}-{by_id[i].window.end_text} -> "
            f"{w.start_text}-{w.end_text}"
            for i, w in sorted(plan.changed.items())
        ] + [
            f"{WEEKDAYS[by_id[i].weekday]} {by_id[i].window.start_text}-{by_id[i].window.end_text} removed"
            for i in sorted(plan.removed)
        ]
        if not dry_run and not plan.empty:
            before = _week_json(by_id.values())
            for window_id, window in plan.changed.items():
                await mq.change_weekly_window(changes.conn, window_id, window)
            await mq.remove_weekly_windows(changes.conn, plan.removed)
            after = _week_json(await mq.weekly_rows(changes.conn, provider.id))
            await record_change(
                changes.conn, provider.id, "WEEKLY_SCHEDULE", strategy.value, before, after, actor
            )
            await changes.record(provider.id, ChangeCause.SCHEDULE_CHANGED, [_ahead(changes)])
    async with app.engine.connect() as conn:
        remaining = await _conflicts(app, conn, provider, first, last)
    if dry_run:  # what would remain: the window conflicts go, the booking ones stay
        remaining = [c for c in remaining if c.type is not ConflictType.OVERLAPPING_WINDOWS or plan.empty]
    return Resolution(strategy, dry_run, not dry_run and not plan.empty, described, remaining)


# --- steps --------------------------------------------------------------------------------------


async def _conflicts(
    app: AppContext, conn: AsyncConnection, provider: ProviderRecord, first: date, last: date
) -> list[Conflict]:
    if last < first:
        raise ValidationProblem("to", f"{last} is before from ({first})")
    if (last - first).days >= MAX_CONFLICT_DAYS:
        raise ValidationProblem("to", f"look at most {MAX_CONFLICT_DAYS} days at once")
    zone = zone_named(provider.timezone)
    start, end = start_of_day(first, zone), start_of_day(last + timedelta(days=1), zone)
    found: list[Conflict] = []
    rows = [WindowRow(r.id, r.weekday, r.window) for r in await mq.weekly_rows(conn, provider.id)]
    for a, b in overlapping_windows(rows):
        found.append(
            Conflict(
                ConflictType.OVERLAPPING_WINDOWS,
                f"{WEEKDAYS[a.weekday]}: {a.window.start_text}-{a.window.end_text} and "
                f"{b.window.start_text}-{b.window.end_text} overlap",
                a.weekday,
                (str(a.id), str(b.id)),
            )
        )
    bookings = await mq.active_between(conn, provider.id, start, end, app.clock())
    schedules = {}
    for booking in bookings:
        if booking.service_id not in schedules:
            loaded = await load_provider_and_service(conn, booking.service_id)
            assert loaded is not None
            _, service = loaded
            schedules[booking.service_id] = (
                service,
                await load_schedule(conn, provider, service, start, end),
            )
        service, plan = schedules[booking.service_id]
        if not is_offered(plan, service.rules.duration, service.rules.interval, booking.start):
            found.append(
                Conflict(
                    ConflictType.BOOKING_OUTSIDE_AVAILABILITY,
                    f"{booking.kind.lower()} at {booking.start.astimezone(zone):%Y-%m-%d %H:%M} is no longer "
                    "inside availability (kept; not cancelled)",
                    booking_id=str(booking.id),
                    start=booking.start,
                    end=booking.end,
                )
            )
    busy = await mq.busy_between(conn, provider.id, start, end)
    for booking in bookings:
        for busy_start, busy_end, _ in busy:
            if busy_start < booking.end and booking.start < busy_end:
                found.append(
                    Conflict(
                        ConflictType.BOOKING_OVERLAPS_CALENDAR,
                        f"{booking.kind.lower()} at {booking.start.astimezone(zone):%Y-%m-%d %H:%M} overlaps "
                        "the provider's own calendar",
                        booking_id=str(booking.id),
                        start=booking.start,
                        end=booking.end,
                    )
                )
                break
    return found


def _refuse_clash(existing: list[Window], window: Window, field: str) -> None:
    for a, b in clashes([*existing, window])[:1]:
        raise ValidationProblem(
            field, f"{a.start_text}-{a.end_text} and {b.start_text}-{b.end_text} overlap or touch"
        )


def _week_json(rows: object) -> dict[str, list[list[str]]]:
    week: dict[str, list[list[str]]] = {}
    for row in rows:  # type: ignore[attr-defined]
        week.setdefault(WEEKDAYS[row.weekday], []).append([row.window.start_text, row.window.end_text])
    return week


def _window_id(value: str, field: str) -> int:
    if not value.isdigit():
        raise NotFoundProblem(field, "weekly window", value[:64])
    return int(value)


def _ahead(changes: ChangeRecorder) -> Span:
    return changes.now - timedelta(days=1), changes.now + ALL_AHEAD


async def windows_of(
    app: AppContext, provider_id: str
) -> tuple[list[mq.WeeklyWindowRecord], list[mq.DateWindowRecord]]:
    """A provider's weekly windows and manual date windows, with their ids."""
    async with app.engine.connect() as conn:
        provider = await provider_or_404(conn, provider_id)
        return await mq.weekly_rows(conn, provider.id), await mq.date_window_rows(conn, provider.id)
