"""Holds and bookings: every write decided by the same judge as the day view, kept by the database."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db import reservation_queries as rq
from db.availability_queries import load_occupancy, load_provider_and_service, load_schedule
from db.records import ProviderRecord, ServiceRecord
from db.reservation_queries import ReservationRecord
from domain.availability import load_span
from domain.changes import ChangeCause
from domain.errors import (
    HoldExpiredProblem,
    IdempotencyConflictProblem,
    NotFoundProblem,
    Problem,
    SlotUnavailableProblem,
    ValidationProblem,
    checked_text,
)
from domain.occupancy import ReservationKind
from domain.reasons import SlotJudge, SlotReason
from domain.slots import is_offered
from domain.suggestions import Suggestion, suggest
from resolvers.access import current_caller
from resolvers.changes import ChangeRecorder, changing
from resolvers.context import AppContext, parse_id
from resolvers.lookups import judged, service_or_404

ACTIVE = ("PENDING", "CONFIRMED", "PAID", "IN_PROGRESS")
MAX_SEARCH = timedelta(days=62)
MAX_SUGGESTIONS = 50
WRITE_ATTEMPTS = 4


@dataclass(frozen=True)
class SmartBooking:
    booking: ReservationRecord
    score: int
    time_difference: timedelta


Outcome = ReservationRecord | SmartBooking
Done = TypeVar("Done", ReservationRecord, SmartBooking)


async def booking(app: AppContext, booking_id: str) -> ReservationRecord | None:
    try:
        key = parse_id(booking_id, "id", "booking")
    except NotFoundProblem:
        return None
    async with app.engine.connect() as conn:
        return await rq.get_reservation(conn, key)


async def hold_slot(
    app: AppContext, service_id: str, start: datetime, customer_id: str, idempotency_key: str | None
) -> ReservationRecord | Problem:
    customer = _customer(customer_id)
    instant = _aware(start, "start")

    async def work(changes: ChangeRecorder) -> ReservationRecord:
        conn, now = changes.conn, changes.now
        provider, service = await service_or_404(conn, service_id)
        await _take(changes, provider, service, instant, customer)
        expires = now + timedelta(minutes=service.rules.hold_minutes)
        hold = await _insert(
            conn, provider, service, instant, now, customer, ReservationKind.HOLD, "HELD", expires
        )
        await rq.append_audit(conn, hold, "HOLD_CREATED", customer, None)
        await changes.record(provider.id, ChangeCause.HOLD_CREATED, [hold.occupied], service.id)
        return hold

    request = {"serviceId": service_id, "start": instant.isoformat()}
    return await _once(app, customer, idempotency_key, "holdSlot", request, work)


async def create_booking(
    app: AppContext, service_id: str, start: datetime, customer_id: str, idempotency_key: str | None
) -> ReservationRecord | Problem:
    customer = _customer(customer_id)
    instant = _aware(start, "start")

    async def work(changes: ChangeRecorder) -> ReservationRecord:
        conn, now = changes.conn, changes.now
        provider, service = await service_or_404(conn, service_id)
        await _take(changes, provider, service, instant, customer)
        created = await _insert(
            conn, provider, service, instant, now, customer, ReservationKind.BOOKING, "CONFIRMED"
        )
        await rq.append_audit(conn, created, "BOOKING_CREATED", customer, None)
        await changes.record(provider.id, ChangeCause.BOOKING_CREATED, [created.occupied], service.id)
        return created

    request = {"serviceId": service_id, "start": instant.isoformat()}
    return await _once(app, customer, idempotency_key, "createBooking", request, work)


async def confirm_hold(
    app: AppContext, hold_id: str, customer_id: str, idempotency_key: str | None
) -> ReservationRecord | Problem:
    customer = _customer(customer_id)

    async def work(changes: ChangeRecorder) -> ReservationRecord:
        conn, now = changes.conn, changes.now
        hold = await _own_hold(conn, hold_id, customer)
        await rq.lock_provider_writes(conn, hold.provider_id)
        if hold.status == "HELD" and hold.expires_at is not None and hold.expires_at <= now:
            expired = await rq.set_status(conn, hold.id, "EXPIRED")
            await rq.append_audit(conn, expired, "HOLD_EXPIRED", "system", hold)
            await changes.record(hold.provider_id, ChangeCause.HOLD_EXPIRED, [hold.occupied], hold.service_id)
            hold = expired
        if hold.status == "EXPIRED":
            raise HoldExpiredProblem(str(hold.id), hold.expires_at)
        if hold.status != "HELD":
            raise NotFoundProblem("holdId", "active hold", hold_id)
        found = await load_provider_and_service(conn, hold.service_id)
        assert found is not None
        converted = await rq.set_status(conn, hold.id, "CONVERTED")
        await rq.append_audit(conn, converted, "HOLD_CONVERTED", customer, hold)
        created = await _insert(conn, *found, hold.start, now, customer, ReservationKind.BOOKING, "CONFIRMED")
        await rq.append_audit(conn, created, "BOOKING_CREATED", customer, None)
        await changes.record(
            hold.provider_id, ChangeCause.BOOKING_CREATED, [created.occupied], hold.service_id
        )
        return created

    return await _once(app, customer, idempotency_key, "confirmHold", {"holdId": hold_id}, work)


async def release_hold(app: AppContext, hold_id: str, customer_id: str) -> ReservationRecord | Problem:
    if not customer_id:
        raise ValidationProblem("customerId", "give the customer who made the hold: only they may release it")
    customer = _customer(customer_id)

    async def work(changes: ChangeRecorder) -> ReservationRecord:
        conn = changes.conn
        hold = await _own_hold(conn, hold_id, customer)
        if hold.status != "HELD":
            return hold  # already released, expired or confirmed: nothing left to free
        released = await rq.set_status(conn, hold.id, "RELEASED")
        await rq.append_audit(conn, released, "HOLD_RELEASED", customer, hold)
        await changes.record(hold.provider_id, ChangeCause.HOLD_RELEASED, [hold.occupied], hold.service_id)
        return released

    return await _once(app, customer, None, "releaseHold", {}, work)


async def cancel_booking(
    app: AppContext, booking_id: str, customer_id: str | None, reason: str | None
) -> ReservationRecord | Problem:
    note = checked_text(reason, "reason", 500, required=False) or None if reason else None
    customer_id = _customer(customer_id) if customer_id else None

    async def work(changes: ChangeRecorder) -> ReservationRecord:
        conn = changes.conn
        current = await _own_booking(conn, booking_id, customer_id)
        if current.status not in ACTIVE:
            return current
        cancelled = await rq.set_status(conn, current.id, "CANCELLED", note)
        await rq.append_audit(conn, cancelled, "BOOKING_CANCELLED", customer_id, current)
        await changes.record(
            current.provider_id, ChangeCause.BOOKING_CANCELLED, [current.occupied], current.service_id
        )
        return cancelled

    return await _once(app, customer_id or "", None, "cancelBooking", {}, work)


async def reschedule_booking(
    app: AppContext,
    booking_id: str,
    new_start: datetime,
    customer_id: str | None,
    idempotency_key: str | None,
) -> ReservationRecord | Problem:
    instant = _aware(new_start, "newStart")
    customer_id = _customer(customer_id) if customer_id else None

    async def work(changes: ChangeRecorder) -> ReservationRecord:
        conn, now = changes.conn, changes.now
        current = await _own_booking(conn, booking_id, customer_id)
        if current.status not in ACTIVE:
            raise ValidationProblem("bookingId", f"a {current.status.lower()} booking cannot be moved")
        found = await load_provider_and_service(conn, current.service_id)
        assert found is not None
        provider, service = found
        await _take(changes, provider, service, instant, customer_id, moving=current.id)
        try:
            async with conn.begin_nested():
                moved = await rq.move_reservation(conn, current.id, service.rules, instant)
        except IntegrityError as error:
            raise await _refusal(conn, error, provider, service, instant, now, current.id) from None
        await rq.append_audit(conn, moved, "BOOKING_RESCHEDULED", customer_id, current)
        spans = [current.occupied, moved.occupied]
        await changes.record(current.provider_id, ChangeCause.BOOKING_RESCHEDULED, spans, current.service_id)
        return moved

    request = {"bookingId": booking_id, "newStart": instant.isoformat()}
    return await _once(app, customer_id or "", idempotency_key, "rescheduleBooking", request, work)


async def suggest_slots(
    app: AppContext,
    service_id: str,
    preferred: datetime,
    search_from: datetime | None,
    search_to: datetime | None,
    duration_minutes: int | None,
    limit: int = 5,
) -> list[Suggestion]:
    now = app.clock()
    async with app.engine.connect() as conn:
        provider, service = await service_or_404(conn, service_id)
        return await _suggestions(
            conn, provider, service, preferred, search_from, search_to, duration_minutes, limit, now
        )


async def smart_book(
    app: AppContext,
    service_id: str,
    preferred: datetime,
    search_from: datetime | None,
    search_to: datetime | None,
    customer_id: str,
    idempotency_key: str | None,
) -> SmartBooking | Problem:
    """Hold and book the best-scored slot in one transaction; on a lost race, the next best."""
    customer = _customer(customer_id)

    async def work(changes: ChangeRecorder) -> SmartBooking:
        conn, now = changes.conn, changes.now
        provider, service = await service_or_404(conn, service_id)
        ranked = await _suggestions(
            conn, provider, service, preferred, search_from, search_to, None, MAX_SUGGESTIONS, now
        )
        for choice in ranked:
            try:
                await _take(changes, provider, service, choice.start, customer)
                created = await _insert(
                    conn, provider, service, choice.start, now, customer, ReservationKind.BOOKING, "CONFIRMED"
                )
            except SlotUnavailableProblem:
                continue  # taken since it was scored: the next best
            await rq.append_audit(conn, created, "BOOKING_CREATED", customer, None)
            await changes.record(provider.id, ChangeCause.BOOKING_CREATED, [created.occupied], service.id)
            return SmartBooking(created, choice.score, choice.time_difference)
        raise NotFoundProblem(
            "searchTo", "available slot", "", message="no available slot between searchFrom and searchTo"
        )

    request = {
        "serviceId": service_id,
        "preferredStart": _aware(preferred, "preferredStart").isoformat(),
        "searchFrom": search_from.isoformat() if search_from else None,
        "searchTo": search_to.isoformat() if search_to else None,
    }
    return await _once(app, customer, idempotency_key, "smartBook", request, work)


async def expire_due_holds(app: AppContext, limit: int = 500) -> int:
    """The background sweep: expire holds past their time and tell live subscribers, once per hold."""
    async with changing(app) as changes:
        expired = await rq.expire_due_holds(changes.conn, changes.now, limit)
        for hold in expired:
            await rq.append_audit(changes.conn, hold, "HOLD_EXPIRED", "system", None)
            await changes.record(hold.provider_id, ChangeCause.HOLD_EXPIRED, [hold.occupied], hold.service_id)
    return len(expired)


# --- shared steps -------------------------------------------------------------------------------


async def _once(
    app: AppContext,
    caller: str,
    key: str | None,
    operation: str,
    request: dict[str, Any],
    work: Callable[[ChangeRecorder], Awaitable[Done]],
) -> Done | Problem:
    """Run `work` in one transaction; with a key, at most once per (caller, key), its outcome kept.

    The key row commits with the write (or with the typed failure), so a retry replays the
    first outcome; a concurrent retry waits on the key row and then replays it. A transaction
    PostgreSQL aborted to break a deadlock runs again, whole.
    """
    if key is not None:
        checked_text(key, "idempotencyKey", 200)
    digest = hashlib.sha256(json.dumps([operation, request], sort_keys=True).encode()).hexdigest()
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return await _once_in_transaction(app, caller, key, operation, digest, work)
        except DBAPIError as error:
            if not rq.is_retryable(error) or attempt == WRITE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


async def _once_in_transaction(
    app: AppContext,
    caller: str,
    key: str | None,
    operation: str,
    digest: str,
    work: Callable[[ChangeRecorder], Awaitable[Done]],
) -> Done | Problem:
    async with changing(app) as changes:
        conn = changes.conn
        if key is not None:
            claim = await rq.claim_key(conn, caller, key, operation, digest)
            if claim.conflict:
                return IdempotencyConflictProblem(key)
            if claim.outcome is not None:
                return cast(Done | Problem, await _revive(conn, claim.outcome))
        outcome: Done | Problem
        try:
            outcome = await work(changes)
        except (ValidationProblem, NotFoundProblem, SlotUnavailableProblem, HoldExpiredProblem) as problem:
            outcome = problem
        if key is not None:
            await rq.store_outcome(conn, caller, key, _encode(outcome))
    return outcome


def _encode(outcome: Outcome | Problem) -> dict[str, Any]:
    if isinstance(outcome, SmartBooking):
        return {
            "reservation": str(outcome.booking.id),
            "score": outcome.score,
            "seconds": outcome.time_difference.total_seconds(),
        }
    if isinstance(outcome, ReservationRecord):
        return {"reservation": str(outcome.id)}
    fields = {k: str(v) for k, v in vars(outcome).items() if not k.startswith("_")}
    return {"problem": type(outcome).__name__, "fields": fields}


async def _revive(conn: AsyncConnection, stored: dict[str, Any]) -> Outcome | Problem:
    if "reservation" in stored:
        record = await rq.get_reservation(conn, UUID(stored["reservation"]))
        assert record is not None
        if "score" in stored:
            return SmartBooking(record, stored["score"], timedelta(seconds=stored["seconds"]))
        return record
    fields = stored["fields"]
    kind = stored["problem"]
    if kind == "SlotUnavailableProblem":
        return SlotUnavailableProblem(fields["reason"])
    if kind == "HoldExpiredProblem":
        return HoldExpiredProblem(fields["hold_id"], fields["expired_at"])
    if kind == "NotFoundProblem":
        return NotFoundProblem(fields["field"], fields["kind"], fields["id"], fields.get("message"))
    return ValidationProblem(fields["field"], fields["message"])


async def _judge_at(
    conn: AsyncConnection,
    provider: ProviderRecord,
    service: ServiceRecord,
    start: datetime,
    now: datetime,
    moving: UUID | None = None,
) -> tuple[SlotJudge, bool]:
    """A judge for the slot starting at `start`, and whether the schedule offers that start."""
    rules = service.rules
    schedule, judge = await judged(
        conn, provider, service, start, start, now, str(moving) if moving else None
    )
    return judge, is_offered(schedule, rules.duration, rules.interval, start)


async def _take(
    changes: ChangeRecorder,
    provider: ProviderRecord,
    service: ServiceRecord,
    start: datetime,
    actor: str | None,
    moving: UUID | None = None,
) -> None:
    """Take the provider's write lock, clear stale holds in the way, then refuse a start the day
    view would not list."""
    conn, now = changes.conn, changes.now
    await rq.lock_provider_writes(conn, provider.id)
    for expired in await rq.expire_stale_holds(
        conn, provider.id, *load_span(service.rules, start, start), now
    ):
        await rq.append_audit(conn, expired, "HOLD_EXPIRED", "system", None)
        await changes.record(provider.id, ChangeCause.HOLD_EXPIRED, [expired.occupied], expired.service_id)
    judge, offered = await _judge_at(conn, provider, service, start, now, moving)
    verdict = judge.judge_write(start, offered)
    if verdict.reason is not None:
        raise SlotUnavailableProblem(verdict.reason.value, start)


async def _insert(
    conn: AsyncConnection,
    provider: ProviderRecord,
    service: ServiceRecord,
    start: datetime,
    now: datetime,
    customer: str | None,
    kind: ReservationKind,
    status: str,
    expires_at: datetime | None = None,
) -> ReservationRecord:
    try:
        async with conn.begin_nested():
            return await rq.insert_reservation_record(
                conn,
                provider_id=provider.id,
                service_id=service.id,
                rules=service.rules,
                start=start,
                kind=kind,
                status=status,
                customer_id=customer,
                expires_at=expires_at,
            )
    except IntegrityError as error:
        raise await _refusal(conn, error, provider, service, start, now) from None


async def _refusal(
    conn: AsyncConnection,
    error: IntegrityError,
    provider: ProviderRecord,
    service: ServiceRecord,
    start: datetime,
    now: datetime,
    moving: UUID | None = None,
) -> SlotUnavailableProblem:
    """A write the constraint refused lost a race: say what now stands in the way."""
    if not rq.is_overlap(error):
        raise error
    judge, _ = await _judge_at(conn, provider, service, start, now, moving)
    reason = judge.judge(start, start + service.rules.duration).reason or SlotReason.BOOKED
    return SlotUnavailableProblem(reason.value, start)


async def _suggestions(
    conn: AsyncConnection,
    provider: ProviderRecord,
    service: ServiceRecord,
    preferred: datetime,
    search_from: datetime | None,
    search_to: datetime | None,
    duration_minutes: int | None,
    limit: int,
    now: datetime,
) -> list[Suggestion]:
    preferred = _aware(preferred, "preferredStart")
    start = _aware(search_from, "searchFrom") if search_from else max(now, preferred - timedelta(days=3))
    end = _aware(search_to, "searchTo") if search_to else preferred + timedelta(days=7)
    if end <= start:
        raise ValidationProblem("searchTo", "must be after searchFrom")
    if end - start > MAX_SEARCH:
        raise ValidationProblem("searchTo", f"search at most {MAX_SEARCH.days} days at once")
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise ValidationProblem("limit", f"must be between 1 and {MAX_SUGGESTIONS}")
    rules = service.rules
    requested = timedelta(minutes=duration_minutes) if duration_minutes is not None else rules.duration
    if not rules.duration <= requested <= timedelta(days=1):
        raise ValidationProblem(
            "durationMinutes", f"must be between the service's {rules.duration_minutes} and 1440 minutes"
        )
    schedule = await load_schedule(conn, provider, service, start, end)
    occupancy = await load_occupancy(
        conn, provider.id, start - rules.buffer_before, end + timedelta(days=1), now
    )
    judge = SlotJudge(rules, ZoneInfo(provider.timezone), now, occupancy)
    return suggest(schedule, judge, preferred, start, end, requested, ZoneInfo(provider.timezone), limit)


async def _own_hold(conn: AsyncConnection, hold_id: str, customer: str) -> ReservationRecord:
    found = await rq.get_reservation(conn, parse_id(hold_id, "holdId", "hold"), for_update=True)
    if found is None or found.kind != "HOLD" or found.customer_id != customer:
        raise NotFoundProblem("holdId", "hold of this customer", hold_id)
    return found


async def _own_booking(conn: AsyncConnection, booking_id: str, customer: str | None) -> ReservationRecord:
    found = await rq.get_reservation(conn, parse_id(booking_id, "bookingId", "booking"), for_update=True)
    if found is None or found.kind != "BOOKING":
        raise NotFoundProblem("bookingId", "booking", booking_id)
    caller = current_caller()
    managed = caller is None or caller.acts_for(str(found.provider_id))  # the provider's keys, admins
    if not managed and (customer is None or found.customer_id != customer):
        raise NotFoundProblem("bookingId", "booking of this customer", booking_id)
    return found


def _customer(customer_id: str) -> str:
    return checked_text(customer_id, "customerId", 200)


EARLIEST_YEAR, LATEST_YEAR = 1900, 9000  # outside: a typo, and arithmetic near year 1 or 9999 overflows


def _aware(instant: datetime, field: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValidationProblem(field, "give the time with its UTC offset, e.g. 2027-03-14T09:00:00-07:00")
    if not EARLIEST_YEAR <= instant.year <= LATEST_YEAR:
        raise ValidationProblem(field, f"{instant.isoformat()} is not a plausible time to book")
    return instant
