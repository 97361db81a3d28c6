"""Reads and writes of availability notification requests, notifications, webhooks and their outbox,
and the PostgreSQL channel that announces each notification when its transaction commits."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import Row, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.tables import availability_notification_requests as requests
from db.tables import availability_notifications as notifications
from db.tables import webhook_outbox as outbox
from db.tables import webhooks

# NOTIFY on this channel carries a notification as JSON; PostgreSQL sends it only on commit.
OPENED_CHANNEL = "slotwise_availability_opened"
LISTENER_NAME = "slotwise-opened-listener"


@dataclass(frozen=True)
class RequestRecord:
    id: UUID
    service_id: UUID
    provider_id: UUID
    customer_id: str
    first_day: date
    last_day: date
    timezone: str
    status: str
    created_at: datetime
    checked_at: datetime
    checked_sequence: int
    fulfilled_at: datetime | None
    opened: tuple[datetime, datetime] | None


@dataclass(frozen=True)
class NotificationRecord:
    id: UUID
    request_id: UUID
    service_id: UUID
    provider_id: UUID
    customer_id: str
    first_day: date
    last_day: date
    timezone: str
    slot: tuple[datetime, datetime]
    cause: str | None  # the ChangeCause that opened the slot; None: open when asked, or found by a sweep
    change_sequence: int | None
    created_at: datetime


@dataclass(frozen=True)
class WebhookRecord:
    id: UUID
    url: str
    secret: str
    provider_id: UUID | None
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class ClaimedDelivery:
    id: UUID
    webhook_id: UUID
    notification_id: UUID
    url: str
    secret: str
    payload: dict[str, Any]
    attempts: int  # including the one just claimed


def _request(row: Row[Any]) -> RequestRecord:
    opened = (row.opened_start, row.opened_end) if row.opened_start is not None else None
    return RequestRecord(
        row.id,
        row.service_id,
        row.provider_id,
        row.customer_id,
        row.first_day,
        row.last_day,
        row.timezone,
        row.status,
        row.created_at,
        row.checked_at,
        row.checked_sequence,
        row.fulfilled_at,
        opened,
    )


def _webhook(row: Row[Any]) -> WebhookRecord:
    return WebhookRecord(row.id, row.url, row.secret, row.provider_id, row.active, row.created_at)


# --- requests -----------------------------------------------------------------------------------


async def insert_request(
    conn: AsyncConnection,
    service_id: UUID,
    provider_id: UUID,
    customer_id: str,
    first_day: date,
    last_day: date,
    timezone: str,
    now: datetime,
) -> tuple[RequestRecord, bool]:
    """A new ACTIVE request, or the customer's ACTIVE one for the same service and range (False)."""
    key = {
        "service_id": service_id,
        "customer_id": customer_id,
        "first_day": first_day,
        "last_day": last_day,
        "timezone": timezone,
    }
    for _ in range(3):
        row = (
            await conn.execute(
                pg_insert(requests)
                .values(**key, provider_id=provider_id, status="ACTIVE", created_at=now, checked_at=now)
                .on_conflict_do_nothing(
                    index_elements=list(key), index_where=requests.c.status == literal("ACTIVE")
                )
                .returning(requests)
            )
        ).first()
        if row is not None:
            return _request(row), True
        existing = (
            await conn.execute(
                select(requests).where(
                    *(requests.c[name] == value for name, value in key.items()), requests.c.status == "ACTIVE"
                )
            )
        ).first()
        if existing is not None:
            return _request(existing), False
    raise RuntimeError("could not insert or find the notification request")


async def get_request(conn: AsyncConnection, request_id: UUID) -> RequestRecord | None:
    row = (await conn.execute(select(requests).where(requests.c.id == request_id))).first()
    return _request(row) if row else None


async def cancel_request(
    conn: AsyncConnection, request_id: UUID, customer_id: str, now: datetime
) -> RequestRecord | None:
    row = (
        await conn.execute(
            update(requests)
            .where(
                requests.c.id == request_id,
                requests.c.customer_id == customer_id,
                requests.c.status == "ACTIVE",
            )
            .values(status="CANCELLED", closed_at=now)
            .returning(requests)
        )
    ).first()
    return _request(row) if row else None


async def active_requests_of(conn: AsyncConnection, provider_id: UUID, limit: int) -> list[RequestRecord]:
    rows = await conn.execute(
        select(requests)
        .where(requests.c.provider_id == provider_id, requests.c.status == "ACTIVE")
        .order_by(requests.c.created_at)
        .limit(limit)
    )
    return [_request(row) for row in rows]


async def requests_checked_before(conn: AsyncConnection, cutoff: datetime, limit: int) -> list[UUID]:
    """ACTIVE requests not looked at since `cutoff`, longest waiting first."""
    rows = await conn.execute(
        select(requests.c.id)
        .where(requests.c.status == "ACTIVE", requests.c.checked_at < cutoff)
        .order_by(requests.c.checked_at)
        .limit(limit)
    )
    return [row.id for row in rows]


async def lock_active_request(
    conn: AsyncConnection, request_id: UUID, checked_before: datetime | None = None
) -> RequestRecord | None:
    """The request, locked for this transaction, if still ACTIVE.

    Without `checked_before` it waits for another transaction checking it (so a check for a
    later change runs after, on the later state); with it, a request another instance is
    checking, or has checked since, is skipped.
    """
    query = select(requests).where(requests.c.id == request_id, requests.c.status == "ACTIVE")
    if checked_before is None:
        query = query.with_for_update()
    else:
        query = query.where(requests.c.checked_at < checked_before).with_for_update(skip_locked=True)
    row = (await conn.execute(query)).first()
    return _request(row) if row else None


async def mark_checked(conn: AsyncConnection, request_id: UUID, now: datetime, sequence: int) -> None:
    await conn.execute(
        update(requests).where(requests.c.id == request_id).values(checked_at=now, checked_sequence=sequence)
    )


async def expire_request(conn: AsyncConnection, request_id: UUID, now: datetime) -> None:
    await conn.execute(
        update(requests)
        .where(requests.c.id == request_id, requests.c.status == "ACTIVE")
        .values(status="EXPIRED", closed_at=now, checked_at=now)
    )


async def fulfil_request(
    conn: AsyncConnection, request_id: UUID, now: datetime, sequence: int, slot: tuple[datetime, datetime]
) -> RequestRecord | None:
    """Mark the request FULFILLED with the slot that opened; None if it no longer is ACTIVE
    (another instance won), so exactly one transaction fulfils it."""
    row = (
        await conn.execute(
            update(requests)
            .where(requests.c.id == request_id, requests.c.status == "ACTIVE")
            .values(
                status="FULFILLED",
                fulfilled_at=now,
                checked_at=now,
                checked_sequence=sequence,
                opened_start=slot[0],
                opened_end=slot[1],
            )
            .returning(requests)
        )
    ).first()
    return _request(row) if row else None


# --- notifications ------------------------------------------------------------------------------


def _notification_query() -> Any:
    return select(notifications, requests.c.first_day, requests.c.last_day, requests.c.timezone).join(
        requests, requests.c.id == notifications.c.request_id
    )


def _notification(row: Row[Any]) -> NotificationRecord:
    return NotificationRecord(
        row.id,
        row.request_id,
        row.service_id,
        row.provider_id,
        row.customer_id,
        row.first_day,
        row.last_day,
        row.timezone,
        (row.slot_start, row.slot_end),
        row.cause,
        row.change_sequence,
        row.created_at,
    )


async def insert_notification(
    conn: AsyncConnection,
    request: RequestRecord,
    slot: tuple[datetime, datetime],
    cause: str | None,
    change_sequence: int | None,
    now: datetime,
) -> NotificationRecord:
    row = (
        await conn.execute(
            insert(notifications)
            .values(
                request_id=request.id,
                service_id=request.service_id,
                provider_id=request.provider_id,
                customer_id=request.customer_id,
                slot_start=slot[0],
                slot_end=slot[1],
                cause=cause,
                change_sequence=change_sequence,
                created_at=now,
            )
            .returning(notifications.c.id)
        )
    ).one()
    return NotificationRecord(
        row.id,
        request.id,
        request.service_id,
        request.provider_id,
        request.customer_id,
        request.first_day,
        request.last_day,
        request.timezone,
        slot,
        cause,
        change_sequence,
        now,
    )


async def notification_of_request(conn: AsyncConnection, request_id: UUID) -> NotificationRecord | None:
    row = (await conn.execute(_notification_query().where(notifications.c.request_id == request_id))).first()
    return _notification(row) if row else None


async def notifications_recorded_since(
    conn: AsyncConnection, since: datetime, limit: int = 1000
) -> list[NotificationRecord]:
    """Notifications committed with the database's clock at or after `since`, oldest first."""
    rows = await conn.execute(
        _notification_query()
        .where(notifications.c.recorded_at >= since)
        .order_by(notifications.c.recorded_at)
        .limit(limit)
    )
    return [_notification(row) for row in rows]


async def notifications_created_after(
    conn: AsyncConnection,
    after: datetime,
    service_id: UUID | None,
    customer_id: str | None,
    limit: int = 100,
) -> list[NotificationRecord]:
    query = _notification_query().where(notifications.c.created_at > after)
    if service_id is not None:
        query = query.where(notifications.c.service_id == service_id)
    if customer_id is not None:
        query = query.where(notifications.c.customer_id == customer_id)
    rows = await conn.execute(query.order_by(notifications.c.created_at, notifications.c.id).limit(limit))
    return [_notification(row) for row in rows]


def notification_to_json(record: NotificationRecord) -> str:
    return json.dumps(
        {
            "id": str(record.id),
            "request": str(record.request_id),
            "service": str(record.service_id),
            "provider": str(record.provider_id),
            "customer": record.customer_id,
            "first": record.first_day.isoformat(),
            "last": record.last_day.isoformat(),
            "timezone": record.timezone,
            "slot": [record.slot[0].isoformat(), record.slot[1].isoformat()],
            "cause": record.cause,
            "sequence": record.change_sequence,
            "created": record.created_at.isoformat(),
        }
    )


def notification_from_json(text: str) -> NotificationRecord:
    data = json.loads(text)
    return NotificationRecord(
        UUID(data["id"]),
        UUID(data["request"]),
        UUID(data["service"]),
        UUID(data["provider"]),
        data["customer"],
        date.fromisoformat(data["first"]),
        date.fromisoformat(data["last"]),
        data["timezone"],
        (datetime.fromisoformat(data["slot"][0]), datetime.fromisoformat(data["slot"][1])),
        data["cause"],
        data["sequence"],
        datetime.fromisoformat(data["created"]),
    )


async def announce(conn: AsyncConnection, record: NotificationRecord) -> None:
    """NOTIFY every listening instance, when (and only if) this transaction commits."""
    await conn.execute(select(func.pg_notify(OPENED_CHANNEL, notification_to_json(record))))


async def database_clock(conn: AsyncConnection) -> datetime:
    return (await conn.execute(select(func.clock_timestamp()))).scalar_one()  # type: ignore[no-any-return]


class Listener:
    """A connection of its own (not the pool's) LISTENing on the opened channel."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    @classmethod
    async def connect(
        cls, engine: AsyncEngine, on_payload: Callable[[str], None], on_lost: Callable[[], None]
    ) -> Listener:
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(
            dsn, timeout=5, server_settings={"application_name": LISTENER_NAME}
        )
        try:
            connection.add_termination_listener(lambda _: on_lost())
            await connection.add_listener(OPENED_CHANNEL, lambda _c, _pid, _ch, payload: on_payload(payload))
        except BaseException:
            await connection.close()
            raise
        return cls(connection)

    async def clock(self, timeout: float) -> datetime:
        """The database's clock, through this connection: it is alive and listening as of then."""
        return await self._connection.fetchval("SELECT clock_timestamp()", timeout=timeout)  # type: ignore[no-any-return]

    async def close(self) -> None:
        try:
            await self._connection.close(timeout=2)
        except Exception:
            self._connection.terminate()


# --- webhooks and their outbox -------------------------------------------------------------------


async def insert_webhook(
    conn: AsyncConnection, url: str, secret: str, provider_id: UUID | None, now: datetime
) -> WebhookRecord:
    row = (
        await conn.execute(
            insert(webhooks)
            .values(url=url, secret=secret, provider_id=provider_id, active=True, created_at=now)
            .returning(webhooks)
        )
    ).one()
    return _webhook(row)


async def get_webhook(conn: AsyncConnection, webhook_id: UUID) -> WebhookRecord | None:
    row = (await conn.execute(select(webhooks).where(webhooks.c.id == webhook_id))).first()
    return _webhook(row) if row else None


async def deactivate_webhook(conn: AsyncConnection, webhook_id: UUID, now: datetime) -> WebhookRecord | None:
    """Stop a webhook; its deliveries not yet made are given up. None if it was not active."""
    row = (
        await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.active)
            .values(active=False, removed_at=now)
            .returning(webhooks)
        )
    ).first()
    if row is None:
        return None
    await conn.execute(
        update(outbox)
        .where(
            outbox.c.webhook_id == webhook_id, outbox.c.delivered_at.is_(None), outbox.c.failed_at.is_(None)
        )
        .values(failed_at=now, last_error="webhook removed")
    )
    return _webhook(row)


async def webhooks_for(conn: AsyncConnection, provider_id: UUID) -> list[WebhookRecord]:
    """Active webhooks for every provider, and those for this one."""
    rows = await conn.execute(
        select(webhooks).where(
            webhooks.c.active, (webhooks.c.provider_id.is_(None)) | (webhooks.c.provider_id == provider_id)
        )
    )
    return [_webhook(row) for row in rows]


async def insert_delivery(
    conn: AsyncConnection, webhook_id: UUID, notification_id: UUID, payload: dict[str, Any], now: datetime
) -> None:
    await conn.execute(
        pg_insert(outbox)
        .values(
            webhook_id=webhook_id,
            notification_id=notification_id,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[outbox.c.webhook_id, outbox.c.notification_id])
    )


async def claim_due_deliveries(
    conn: AsyncConnection, now: datetime, lease_until: datetime, max_attempts: int, limit: int
) -> list[ClaimedDelivery]:
    """Take up to `limit` due deliveries (skipping rows another instance is taking), count the
    attempt and lease them until `lease_until`: if this process dies mid-attempt, the row is due
    again then. Deliveries whose attempts ran out while leased are given up."""
    await conn.execute(
        update(outbox)
        .where(
            outbox.c.delivered_at.is_(None),
            outbox.c.failed_at.is_(None),
            outbox.c.attempts >= max_attempts,
            outbox.c.next_attempt_at <= now,
        )
        .values(failed_at=now, last_error=func.coalesce(outbox.c.last_error, "no answer"))
    )
    due = (
        select(outbox.c.id)
        .join(webhooks, webhooks.c.id == outbox.c.webhook_id)
        .where(
            outbox.c.delivered_at.is_(None),
            outbox.c.failed_at.is_(None),
            outbox.c.next_attempt_at <= now,
            outbox.c.attempts < max_attempts,
            webhooks.c.active,
        )
        .order_by(outbox.c.next_attempt_at)
        .limit(limit)
        .with_for_update(of=outbox, skip_locked=True)
        .scalar_subquery()
    )
    rows = await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(due), outbox.c.webhook_id == webhooks.c.id)
        .values(attempts=outbox.c.attempts + 1, next_attempt_at=lease_until)
        .returning(
            outbox.c.id,
            outbox.c.webhook_id,
            outbox.c.notification_id,
            webhooks.c.url,
            webhooks.c.secret,
            outbox.c.payload,
            outbox.c.attempts,
        )
    )
    return [
        ClaimedDelivery(r.id, r.webhook_id, r.notification_id, r.url, r.secret, r.payload, r.attempts)
        for r in rows
    ]


async def record_attempt(
    conn: AsyncConnection,
    delivery_id: UUID,
    now: datetime,
    accepted: bool,
    status: int | None,
    error: str | None,
    retry_at: datetime | None,
) -> None:
    """Delivered; or failed, to be tried again at `retry_at`, or given up (None)."""
    if accepted:
        values: dict[str, Any] = {"delivered_at": now, "last_status": status, "last_error": None}
    elif retry_at is None:
        values = {"failed_at": now, "last_status": status, "last_error": error}
    else:
        values = {"next_attempt_at": retry_at, "last_status": status, "last_error": error}
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == delivery_id, outbox.c.delivered_at.is_(None), outbox.c.failed_at.is_(None))
        .values(**values)
    )


async def release_deliveries(conn: AsyncConnection, delivery_ids: list[UUID], now: datetime) -> None:
    """Attempts cut short (the sender is stopping): not counted, and due again at once."""
    await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(delivery_ids), outbox.c.delivered_at.is_(None), outbox.c.failed_at.is_(None))
        .values(
            attempts=outbox.c.attempts - 1,
            next_attempt_at=now,
            last_error="interrupted: the sender stopped",
        )
    )
