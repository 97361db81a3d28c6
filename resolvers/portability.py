"""Export and import of a provider's whole availability setup as one versioned JSON document.

An import is checked whole before anything is written, then applied in one transaction (under
the provider's write lock, so no booking slips in between the check and the write), or not at
all: a conflict applies nothing, and a dry run computes the same report and writes nothing.
Bookings and holds are never deleted or cancelled by an import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from db import portability_queries as pq
from db import setup_queries as q
from db.change_log import record_change
from db.records import ProviderRecord, WeeklyPlan
from db.reservation_queries import lock_provider_writes
from domain.availability_document import (
    AvailabilityDocument,
    ExceptionSpec,
    ServiceSpec,
    WeekSpec,
    document_json,
    parse_document,
)
from domain.availability_import import (
    Counts,
    CurrentSetup,
    ExistingException,
    ExistingService,
    ImportMode,
    ImportPlan,
    plan_import,
)
from domain.changes import ChangeCause
from domain.errors import NotFoundProblem, ValidationProblem
from resolvers.access import require_provider
from resolvers.changes import changing
from resolvers.context import AppContext, parse_id

WHOLE_SETUP_REACH_DAYS = 2 * 366  # an import may change every date a view may ask for


@dataclass(frozen=True)
class ImportReport:
    applied: bool
    dry_run: bool
    mode: ImportMode
    provider: Counts
    services: Counts
    weekly_windows: Counts
    exceptions: Counts
    date_windows: Counts
    conflicts: list[str]
    notes: list[str]


async def export_availability(app: AppContext, provider_id: str) -> dict[str, Any]:
    """The provider's services, weekly schedule, exceptions and date windows as one document."""
    key = parse_id(provider_id, "providerId", "provider")
    async with app.engine.connect() as conn:
        provider = await _provider(conn, key, provider_id)
        document, _ = await _load(conn, provider)
    return document_json(document)


async def import_availability(
    app: AppContext,
    provider_id: str,
    document: object,
    mode: ImportMode,
    dry_run: bool,
    actor: str | None = None,
) -> ImportReport:
    """Check the whole document, then apply it all in one transaction, or nothing."""
    key = parse_id(provider_id, "providerId", "provider")
    incoming = parse_document(document, app.clock())
    if dry_run:
        async with app.engine.connect() as conn:
            provider = await _provider(conn, key, provider_id)
            _, current = await _load(conn, provider)
        return _report(plan_import(current, incoming, mode), applied=False, dry_run=True)
    async with changing(app) as changes:
        conn = changes.conn
        await lock_provider_writes(conn, key)
        provider = await _provider(conn, key, provider_id)
        before, current = await _load(conn, provider)
        plan = plan_import(current, incoming, mode)
        if plan.conflicts:
            return _report(plan, applied=False, dry_run=False)
        if plan.changes_anything:
            await _apply(conn, provider.id, plan)
            updated = await q.get_provider(conn, provider.id)
            assert updated is not None
            after, _ = await _load(conn, updated)
            action = "MERGED" if mode is ImportMode.MERGE else "REPLACED"
            await record_change(
                conn, provider.id, "IMPORT", action, document_json(before), document_json(after), actor
            )
            span = (changes.now - timedelta(days=1), changes.now + timedelta(days=WHOLE_SETUP_REACH_DAYS))
            await changes.record(provider.id, ChangeCause.SCHEDULE_CHANGED, [span])
        return _report(plan, applied=True, dry_run=False)


async def _apply(conn: AsyncConnection, provider_id: UUID, plan: ImportPlan) -> None:
    if plan.provider.any:
        await pq.set_provider_timezone(conn, provider_id, plan.timezone)
    if plan.week_changed:
        stored_zone = None if plan.week.timezone == plan.timezone else plan.week.timezone
        await q.replace_provider_week(conn, provider_id, stored_zone, plan.week.days)
    for service_key, day in plan.remove_exceptions:
        await q.delete_exception_on(conn, provider_id, _uuid(service_key), day)
    for service_key in plan.remove_services:
        if not await pq.delete_unbooked_service(conn, UUID(service_key)):
            # Only a writer that skips the provider's lock can get here; roll everything back.
            raise ValidationProblem(
                "services", "a service to remove was booked meanwhile; nothing was imported"
            )
    ids = {name: UUID(service_key) for name, service_key in plan.service_keys.items()}
    for service_key, spec in plan.update_services:
        await pq.update_service(conn, UUID(service_key), spec.rules, spec.price, _weekly_plan(spec.schedule))
    for spec in plan.create_services:
        created = await q.insert_service(
            conn, provider_id, spec.name, spec.rules, spec.price, _weekly_plan(spec.schedule)
        )
        ids[spec.name] = created.id
    for put in plan.put_exceptions:
        await q.put_exception(conn, provider_id, ids[put.service] if put.service else None, put.exception)
    for day, windows in plan.date_windows.items():
        await pq.replace_date_windows(conn, provider_id, day, windows)


async def _load(conn: AsyncConnection, provider: ProviderRecord) -> tuple[AvailabilityDocument, CurrentSetup]:
    """The provider's setup as a document, and as what an import plans against."""
    plan = await q.provider_weekly_plan(conn, provider)
    week = _week_spec(plan)
    records = await q.list_services(conn, provider.id)
    booked = await pq.services_with_reservations(conn, provider.id)
    specs = [(r, ServiceSpec(r.name, r.rules, r.price, _own_week(r.own_schedule))) for r in records]
    names = {r.id: r.name for r in records}
    exceptions = await q.list_exceptions(conn, provider.id, [None, *names])
    windows = tuple(await pq.list_date_windows(conn, provider.id))
    document = AvailabilityDocument(
        provider.name,
        provider.timezone,
        week,
        tuple(spec for _, spec in specs),
        tuple(ExceptionSpec(names[e.service_id] if e.service_id else None, e.exception) for e in exceptions),
        windows,
    )
    current = CurrentSetup(
        provider.timezone,
        week,
        tuple(ExistingService(str(r.id), spec, r.id in booked) for r, spec in specs),
        tuple(
            ExistingException(str(e.service_id) if e.service_id else None, e.exception) for e in exceptions
        ),
        windows,
    )
    return document, current


async def _provider(conn: AsyncConnection, key: UUID, raw_id: str) -> ProviderRecord:
    require_provider(key)
    found = await q.get_provider(conn, key)
    if found is None:
        raise NotFoundProblem("providerId", "provider", raw_id)
    return found


def _report(plan: ImportPlan, applied: bool, dry_run: bool) -> ImportReport:
    return ImportReport(
        applied,
        dry_run,
        plan.mode,
        plan.provider,
        plan.services,
        plan.weekly_windows,
        plan.exceptions,
        plan.date_window_counts,
        list(plan.conflicts),
        list(plan.notes),
    )


def _week_spec(plan: WeeklyPlan) -> WeekSpec:
    return WeekSpec(plan.timezone, {day: windows for day, windows in plan.days.items() if windows})


def _own_week(plan: WeeklyPlan | None) -> WeekSpec | None:
    return None if plan is None else _week_spec(plan)


def _weekly_plan(week: WeekSpec | None) -> WeeklyPlan | None:
    return None if week is None else WeeklyPlan(week.timezone, dict(week.days))


def _uuid(key: str | None) -> UUID | None:
    return None if key is None else UUID(key)
