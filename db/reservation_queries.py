"""Reads and writes of bookings and holds, their audit trail and idempotency keys."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import idempotency_keys, reservation_audit, reservations
from domain.occupancy import ReservationKind, occupied_range
from domain.service_rules import ServiceRules

OVERLAP_CONSTRAINT = "reservations_no_overlap"


@dataclass(frozen=True)
class ReservationRecord:
    id: UUID
    kind: str
    provider_id: UUID
    service_id: UUID
    customer_id: str | None
    start: datetime
    end: datetime
    status: str
    expires_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    occupied: tuple[datetime, datetime]

    def as_json(self) -> dict[str, Any]:
        return {k: str(v) if v is not None else None for k, v in asdict(self).items()}


def _record(row: Row[Any]) -> ReservationRecord:
    return ReservationRecord(
        row.id,
        row.kind,
        row.provider_id,
        row.service_id,
        row.customer_id,
        row.start_at,
        row.end_at,
        row.status,
        row.expires_at,
        row.cancel_reason,
        row.created_at,
        (row.occupied.lower, row.occupied.upper),
    )


def is_overlap(error: IntegrityError) -> bool:
    """The exclusion constraint refused the write (SQLSTATE 23P01 on reservations_no_overlap)."""
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code == "23P01" and OVERLAP_CONSTRAINT in str(orig)


def is_retryable(error: DBAPIError) -> bool:
    """A deadlock (40P01) or serialization failure (40001): the transaction may simply run again.

    Concurrent inserts whose ranges overlap wait on each other's exclusion-constraint check,
    and PostgreSQL breaks such a cycle by aborting one of them.
    """
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return code in ("40P01", "40001")


def _occupied(rules: ServiceRules, start: datetime) -> Any:
    low, high = occupied_range(start, start + rules.duration, rules.buffer_before, rules.buffer_after)
    return func.tstzrange(low, high, literal("[)"))


async def insert_reservation(
    conn: AsyncConnection,
    *,
    provider_id: UUID,
    service_id: UUID,
    rules: ServiceRules,
    start: datetime,
    kind: ReservationKind = ReservationKind.BOOKING,
    status: str = "CONFIRMED",
    customer_id: str | None = None,
    expires_at: datetime | None = None,
) -> UUID:
    """Insert a booking or hold; the database refuses one whose occupied range meets another's."""
    return (
        await insert_reservation_record(
            conn,
            provider_id=provider_id,
            service_id=service_id,
            rules=rules,
            start=start,
            kind=kind,
            status=status,
            customer_id=customer_id,
            expires_at=expires_at,
        )
    ).id


async def insert_reservation_record(
    conn: AsyncConnection,
    *,
    provider_id: UUID,
    service_id: UUID,
    rules: ServiceRules,
    start: datetime,
    kind: ReservationKind,
    status: str,
    customer_id: str | None,
    expires_at: datetime | None,
) -> ReservationRecord:
    row = (
        await conn.execute(
            insert(reservations)
            .values(
                kind=kind.value,
                provider_id=provider_id,
                service_id=service_id,
                customer_id=customer_id,
                start_at=start,
                end_at=start + rules.duration,
                occupied=_occupied(rules, start),
                status=status,
                expires_at=expires_at,
            )
            .returning(reservations)
        )
    ).one()
    return _record(row)


async def lock_provider_writes(conn: AsyncConnection, provider_id: UUID) -> None:
    """Take this provider's write lock until the transaction ends.

    Concurrent inserts with overlapping ranges would wait on each other's exclusion check
    and deadlock (PostgreSQL then aborts one after deadlock_timeout); taking turns per
    provider avoids that, and the judge then sees every committed write. The exclusion
    constraint still guards anything that skips the lock.
    """
    await conn.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(literal(str(provider_id)), 0)))
    )


async def get_reservation(
    conn: AsyncConnection, reservation_id: UUID, for_update: bool = False
) -> ReservationRecord | None:
    query = select(reservations).where(reservations.c.id == reservation_id)
    row = (await conn.execute(query.with_for_update() if for_update else query)).first()
    return _record(row) if row else None


async def set_status(
    conn: AsyncConnection, reservation_id: UUID, status: str, cancel_reason: str | None = None
) -> ReservationRecord:
    values: dict[str, Any] = {"status": status, "updated_at": func.now()}
    if cancel_reason is not None:
        values["cancel_reason"] = cancel_reason
    row = (
        await conn.execute(
            update(reservations)
            .where(reservations.c.id == reservation_id)
            .values(**values)
            .returning(reservations)
        )
    ).one()
    return _record(row)


async def move_reservation(
    conn: AsyncConnection, reservation_id: UUID, rules: ServiceRules, start: datetime
) -> ReservationRecord:
    row = (
        await conn.execute(
            update(reservations)
            .where(reservations.c.id == reservation_id)
            .values(
                start_at=start,
                end_at=start + rules.duration,
                occupied=_occupied(rules, start),
                updated_at=func.now(),
            )
            .returning(reservations)
        )
    ).one()
    return _record(row)


async def expire_stale_holds(
    conn: AsyncConnection, provider_id: UUID, start: datetime, end: datetime, now: datetime
) -> list[ReservationRecord]:
    """Mark HELD rows past expiry whose occupied range meets [start, end) as EXPIRED.

    The exclusion constraint cannot look at the clock, so a stale hold still blocks in the
    database until its row changes; writers clear the ones in their way first.
    """
    rows = await conn.execute(
        update(reservations)
        .where(
            reservations.c.provider_id == provider_id,
            reservations.c.status == "HELD",
            reservations.c.expires_at <= now,
            reservations.c.occupied.op("&&")(func.tstzrange(start, end, literal("[)"))),
        )
        .values(status="EXPIRED", updated_at=func.now())
        .returning(reservations)
    )
    return [_record(row) for row in rows]


async def expire_due_holds(conn: AsyncConnection, now: datetime, limit: int) -> list[ReservationRecord]:
    """Mark up to `limit` holds past expiry EXPIRED; rows another instance is expiring are skipped,
    so each hold expires once however many instances sweep."""
    due = (
        select(reservations.c.id)
        .where(reservations.c.status == "HELD", reservations.c.expires_at <= now)
        .order_by(reservations.c.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = await conn.execute(
        update(reservations)
        .where(reservations.c.id.in_(due), reservations.c.status == "HELD")
        .values(status="EXPIRED", updated_at=func.now())
        .returning(reservations)
    )
    return [_record(row) for row in rows]


async def append_audit(
    conn: AsyncConnection,
    record: ReservationRecord,
    action: str,
    actor: str | None,
    before: ReservationRecord | None,
) -> None:
    await conn.execute(
        insert(reservation_audit).values(
            reservation_id=record.id,
            provider_id=record.provider_id,
            actor=actor,
            action=action,
            before=before.as_json() if before else None,
            after=record.as_json(),
        )
    )


async def audit_trail(conn: AsyncConnection, reservation_id: UUID) -> list[Row[Any]]:
    rows = await conn.execute(
        select(reservation_audit)
        .where(reservation_audit.c.reservation_id == reservation_id)
        .order_by(reservation_audit.c.id)
    )
    return list(rows)


@dataclass(frozen=True)
class KeyClaim:
    """What claiming an idempotency key found: nothing (go ahead), a stored outcome, or other input."""

    outcome: dict[str, Any] | None = None
    conflict: bool = False


async def claim_key(
    conn: AsyncConnection, caller: str, key: str, operation: str, request_hash: str
) -> KeyClaim:
    """Claim (caller, key) in this transaction; a concurrent claimer waits until it commits."""
    inserted = (
        await conn.execute(
            pg_insert(idempotency_keys)
            .values(caller=caller, key=key, operation=operation, request_hash=request_hash)
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
    ).first()
    if inserted is not None:
        return KeyClaim()
    row = (
        await conn.execute(
            select(idempotency_keys).where(idempotency_keys.c.caller == caller, idempotency_keys.c.key == key)
        )
    ).one()
    if row.operation != operation or row.request_hash != request_hash:
        return KeyClaim(conflict=True)
    return KeyClaim(outcome=row.outcome)


async def store_outcome(conn: AsyncConnection, caller: str, key: str, outcome: dict[str, Any]) -> None:
    await conn.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.caller == caller, idempotency_keys.c.key == key)
        .values(outcome=outcome)
    )
