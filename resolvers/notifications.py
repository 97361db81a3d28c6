"""Availability notifications: a customer asks to hear when a slot of a service opens between two
dates; a change that frees time fulfils the request once; the notification goes live to
subscribers and, through a database outbox, to partners' webhooks.

Exactly once, however many instances: a request is checked under its row lock and fulfilled by
`UPDATE ... WHERE status = 'ACTIVE' RETURNING`; the notification (UNIQUE per request), its outbox
rows and a NOTIFY are written in that same transaction, so all or none of them commit.

Live delivery: PostgreSQL delivers the NOTIFY to every instance's listener only on commit. Each
process keeps one listening connection while it has `availabilityOpened` subscribers (`OpenedHub`)
and fans notifications out to them; after losing that connection it catches up from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import notification_queries as nq
from db.availability_queries import load_occupancy, load_provider_and_service, load_schedule
from db.change_queries import current_sequence
from db.notification_queries import NotificationRecord, RequestRecord, WebhookRecord
from db.records import ProviderRecord, ServiceRecord
from db.setup_queries import get_provider
from domain.availability import first_available, load_span
from domain.changes import AvailabilityChange, affected_dates
from domain.errors import NotFoundProblem, ValidationProblem, checked_text
from domain.local_time import local_date, zone_named
from domain.notifications import OPENING_CAUSES, check_request_range, search_window
from domain.reasons import SlotJudge
from domain.webhooks import checked_secret, checked_url, retry_delay
from integrations.webhooks import DeliveryAttempt, post_signed
from resolvers.access import require_admin, require_provider
from resolvers.context import AppContext, parse_id

log = logging.getLogger("slotwise.notifications")

EVENT = "availability.opened"
MAX_CANDIDATES = 1000  # requests of one provider looked at per change
SWEEP_BATCH = 200


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: WebhookRecord
    secret: str  # shown once, in the answer to registerWebhook


@dataclass(frozen=True)
class DeliverySettings:
    retry_base_seconds: float = 2.0
    max_attempts: int = 12
    retry_cap_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    batch: int = 50


# --- requests -----------------------------------------------------------------------------------


async def request_availability_notification(
    app: AppContext, service_id: str, customer_id: str, first: date, last: date, timezone: str | None
) -> RequestRecord:
    """A request to hear of a slot opening between `first` and `last` (dates in `timezone`, by
    default the provider's). Asking again for the same service and range gives the same request.
    A slot already open is reported at once: the request comes back FULFILLED."""
    customer = checked_text(customer_id, "customerId", 200)
    key = parse_id(service_id, "serviceId", "service")
    async with app.engine.begin() as conn:
        found = await load_provider_and_service(conn, key)
        if found is None:
            raise NotFoundProblem("serviceId", "service", service_id)
        provider, service = found
        zone = zone_named(timezone or provider.timezone)
        now = app.clock()
        check_request_range(first, last, local_date(now, zone))
        request, created = await nq.insert_request(
            conn, service.id, provider.id, customer, first, last, zone.key, now
        )
        if created:
            request = await _check(conn, request, provider, service, now, None, None)
    if request.status == "ACTIVE":
        # A change committed while this transaction judged might have been looked up by the
        # change worker before this request was visible: look once more, now that it is.
        async with app.engine.begin() as conn:
            if await current_sequence(conn, provider.id) > request.checked_sequence:
                locked = await nq.lock_active_request(conn, request.id)
                if locked is not None:
                    request = await _check(conn, locked, provider, service, app.clock(), None, None)
    return request


async def cancel_availability_notification(
    app: AppContext, request_id: str, customer_id: str
) -> RequestRecord:
    customer = checked_text(customer_id, "customerId", 200)
    key = parse_id(request_id, "id", "availability notification request")
    async with app.engine.begin() as conn:
        cancelled = await nq.cancel_request(conn, key, customer, app.clock())
        if cancelled is not None:
            return cancelled
        current = await nq.get_request(conn, key)
    if current is None or current.customer_id != customer:
        raise NotFoundProblem("id", "availability notification request of this customer", request_id)
    return current  # fulfilled or closed already: nothing to cancel


# --- fulfilment ---------------------------------------------------------------------------------


async def fulfil(app: AppContext, change: AvailabilityChange) -> list[NotificationRecord]:
    """Check the provider's waiting requests whose dates the change touches; fulfil each that now
    has an available slot. Safe to run on every instance for every change."""
    if change.cause not in OPENING_CAUSES:
        return []
    try:
        provider_id = UUID(change.provider_id)
    except ValueError:
        return []
    async with app.engine.connect() as conn:
        candidates = await nq.active_requests_of(conn, provider_id, MAX_CANDIDATES)
        services: dict[UUID, tuple[ProviderRecord, ServiceRecord] | None] = {}
        for request in candidates:
            if request.service_id not in services:
                services[request.service_id] = await load_provider_and_service(conn, request.service_id)
    notified = []
    for request in candidates:
        found = services[request.service_id]
        if found is None:
            continue
        if change.spans and not affected_dates(
            change.spans, found[1].rules, ZoneInfo(request.timezone), request.first_day, request.last_day
        ):
            continue
        notification = await _check_one(app, request.id, change)
        if notification is not None:
            notified.append(notification)
    return notified


async def sweep_requests(app: AppContext, checked_before: datetime, limit: int = SWEEP_BATCH) -> int:
    """Check requests not looked at since `checked_before` (changes lost to a crash or a broken
    link, the horizon moving on) and expire those whose dates are over. Another instance's
    rows are skipped. Returns how many were looked at."""
    looked: set[UUID] = set()
    while True:
        async with app.engine.connect() as conn:
            due = [
                i for i in await nq.requests_checked_before(conn, checked_before, limit) if i not in looked
            ]
        if not due:
            return len(looked)
        for request_id in due:
            looked.add(request_id)
            try:
                await _check_one(app, request_id, None, checked_before)
            except Exception:
                log.exception("could not check notification request %s", request_id)


async def _check_one(
    app: AppContext,
    request_id: UUID,
    change: AvailabilityChange | None,
    checked_before: datetime | None = None,
) -> NotificationRecord | None:
    async with app.engine.begin() as conn:
        request = await nq.lock_active_request(conn, request_id, checked_before)
        if request is None:
            return None  # fulfilled, cancelled or expired meanwhile, or another instance has it
        if change is not None and request.checked_sequence >= change.sequence:
            return None  # a check since this change committed saw it already
        found = await load_provider_and_service(conn, request.service_id)
        if found is None:
            return None
        cause = change.cause.value if change is not None else None
        sequence = change.sequence if change is not None else None
        checked = await _check(conn, request, *found, app.clock(), cause, sequence)
        if checked.status != "FULFILLED":
            return None
        return await nq.notification_of_request(conn, request.id)


async def _check(
    conn: AsyncConnection,
    request: RequestRecord,
    provider: ProviderRecord,
    service: ServiceRecord,
    now: datetime,
    cause: str | None,
    change_sequence: int | None,
) -> RequestRecord:
    """Judge a request its transaction holds: fulfil it if a slot is available in its range now,
    with its notification, outbox rows and NOTIFY; expire it once its dates are over."""
    # Every change up to this sequence has committed (a provider's changes commit in sequence
    # order), and the reads below see them.
    seen = await current_sequence(conn, provider.id)
    window = search_window(request.first_day, request.last_day, ZoneInfo(request.timezone), now)
    if window is None:
        await nq.expire_request(conn, request.id, now)
        return await _reread(conn, request)
    start = await _first_open(conn, provider, service, *window, now)
    if start is None:
        await nq.mark_checked(conn, request.id, now, seen)
        return await _reread(conn, request)
    slot = (start, start + service.rules.duration)
    fulfilled = await nq.fulfil_request(conn, request.id, now, seen, slot)
    if fulfilled is None:
        return await _reread(conn, request)  # another transaction fulfilled it first
    notification = await nq.insert_notification(conn, fulfilled, slot, cause, change_sequence, now)
    payload = webhook_payload(notification)
    for hook in await nq.webhooks_for(conn, provider.id):
        await nq.insert_delivery(conn, hook.id, notification.id, payload, now)
    await nq.announce(conn, notification)
    log.info("availability opened for request %s: %s", request.id, start.isoformat())
    return fulfilled


async def _reread(conn: AsyncConnection, request: RequestRecord) -> RequestRecord:
    return await nq.get_request(conn, request.id) or request


async def _first_open(
    conn: AsyncConnection,
    provider: ProviderRecord,
    service: ServiceRecord,
    start: datetime,
    end: datetime,
    now: datetime,
) -> datetime | None:
    """The first slot starting in [start, end) the day view would list as available."""
    rules = service.rules
    schedule = await load_schedule(conn, provider, service, start, end)
    occupancy = await load_occupancy(conn, provider.id, *load_span(rules, start, end), now)
    judge = SlotJudge(rules, ZoneInfo(provider.timezone), now, occupancy)
    return first_available(schedule, judge, start, end)


def local_slot(start: datetime, timezone: str) -> tuple[date, str]:
    """A slot's date and HH:MM in the request's zone."""
    local = start.astimezone(ZoneInfo(timezone))
    return local.date(), f"{local:%H:%M}"


def webhook_payload(record: NotificationRecord) -> dict[str, object]:
    day, clock = local_slot(record.slot[0], record.timezone)
    return {
        "type": EVENT,
        "notification": {
            "id": str(record.id),
            "requestId": str(record.request_id),
            "serviceId": str(record.service_id),
            "providerId": str(record.provider_id),
            "customerId": record.customer_id,
            "from": record.first_day.isoformat(),
            "to": record.last_day.isoformat(),
            "timezone": record.timezone,
            "slot": {
                "start": record.slot[0].isoformat(),
                "end": record.slot[1].isoformat(),
                "date": day.isoformat(),
                "time": clock,
            },
            "cause": record.cause,
            "createdAt": record.created_at.isoformat(),
        },
    }


# --- webhooks -----------------------------------------------------------------------------------


async def register_webhook(
    app: AppContext, url: str, secret: str | None, provider_id: str | None
) -> CreatedWebhook:
    """A webhook for every provider's notifications, or for one provider's. Without a secret,
    one is made; either way it is shown only in this answer."""
    checked = checked_url(url)
    key = checked_secret(secret) if secret is not None else secrets.token_urlsafe(32)
    async with app.engine.begin() as conn:
        provider_key = None
        if provider_id is None:
            require_admin()  # every provider's notifications (with customer ids) are for operators
        else:
            provider_key = parse_id(provider_id, "providerId", "provider")
            require_provider(provider_key)
            if await get_provider(conn, provider_key) is None:
                raise NotFoundProblem("providerId", "provider", provider_id)
        hook = await nq.insert_webhook(conn, checked, key, provider_key, app.clock())
    return CreatedWebhook(hook, key)


async def remove_webhook(app: AppContext, webhook_id: str) -> WebhookRecord:
    """Stop a webhook (deliveries not yet made are given up); removing it again changes nothing."""
    key = parse_id(webhook_id, "id", "webhook")
    async with app.engine.begin() as conn:
        found = await nq.get_webhook(conn, key)
        if found is None:
            raise NotFoundProblem("id", "webhook", webhook_id)
        if found.provider_id is None:
            require_admin()
        else:
            require_provider(found.provider_id)
        removed = await nq.deactivate_webhook(conn, key, app.clock()) or found
    return removed


async def deliver_due_webhooks(app: AppContext, http: httpx.AsyncClient, settings: DeliverySettings) -> int:
    """Send the due deliveries (a batch, taken with FOR UPDATE SKIP LOCKED and leased), record
    each outcome: delivered on 2xx, else retried with exponential backoff and jitter, given up
    after `max_attempts`. Returns how many were attempted."""
    now = app.clock()
    lease = now + timedelta(seconds=settings.timeout_seconds + 10)  # a sender that dies mid-attempt
    async with app.engine.begin() as conn:
        claimed = await nq.claim_due_deliveries(conn, now, lease, settings.max_attempts, settings.batch)
    if not claimed:
        return 0
    try:
        outcomes = await asyncio.gather(
            *(_send(app, http, delivery, settings.timeout_seconds) for delivery in claimed)
        )
    except asyncio.CancelledError:  # shutting down: these are due again at once, not after the lease
        with contextlib.suppress(Exception):
            async with app.engine.begin() as conn:
                await nq.release_deliveries(conn, [d.id for d in claimed], app.clock())
        raise
    async with app.engine.begin() as conn:
        done = app.clock()
        for delivery, outcome in zip(claimed, outcomes, strict=True):
            retry_at = None
            if not outcome.accepted and delivery.attempts < settings.max_attempts:
                delay = retry_delay(
                    delivery.attempts,
                    settings.retry_base_seconds,
                    settings.retry_cap_seconds,
                    random.random(),
                )
                retry_at = done + delay
            if not outcome.accepted:
                log.warning(
                    "webhook delivery %s to %s failed (attempt %s): %s%s",
                    delivery.id,
                    delivery.url,
                    delivery.attempts,
                    outcome.error,
                    "" if retry_at else "; giving up",
                )
            await nq.record_attempt(
                conn, delivery.id, done, outcome.accepted, outcome.status, outcome.error, retry_at
            )
    return len(claimed)


async def _send(
    app: AppContext, http: httpx.AsyncClient, delivery: nq.ClaimedDelivery, timeout: float
) -> DeliveryAttempt:
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    stamp = int(app.clock().timestamp())
    try:
        return await asyncio.wait_for(
            post_signed(http, delivery.url, delivery.secret, str(delivery.id), EVENT, body, stamp), timeout
        )
    except TimeoutError:
        return DeliveryAttempt(False, None, f"no answer within {timeout:g} s")
    except Exception as error:  # a bug or a malformed stored URL must not stop the batch
        return DeliveryAttempt(False, None, f"{type(error).__name__}: {error}"[:500])


# --- live delivery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedFilter:
    service_id: UUID | None
    customer_id: str | None
    since: datetime | None = None  # first replay those created after this

    def wants(self, record: NotificationRecord) -> bool:
        return (self.service_id is None or record.service_id == self.service_id) and (
            self.customer_id is None or record.customer_id == self.customer_id
        )


async def opened_filter(
    app: AppContext, service_id: str | None, customer_id: str | None, since: datetime | None = None
) -> OpenedFilter:
    """What an `availabilityOpened` subscriber watches: a service's notifications, a customer's,
    or a customer's for one service."""
    if service_id is None and customer_id is None:
        raise ValidationProblem("serviceId", "give a serviceId, a customerId, or both")
    if since is not None and (since.tzinfo is None or since.utcoffset() is None):
        raise ValidationProblem("since", "give the time with its UTC offset")
    service_key = None
    if service_id is not None:
        service_key = parse_id(service_id, "serviceId", "service")
        async with app.engine.connect() as conn:
            found = await load_provider_and_service(conn, service_key)
        if found is None:
            raise NotFoundProblem("serviceId", "service", service_id)
        if customer_id is None:  # every customer's notifications: the provider's business
            require_provider(found[0].id)
    customer = checked_text(customer_id, "customerId", 200) if customer_id is not None else None
    return OpenedFilter(service_key, customer, since)


class _Mailbox:
    """One subscriber's notifications not yet sent; bounded (a stuck reader loses the oldest)."""

    def __init__(self, wanted: OpenedFilter, size: int = 1000) -> None:
        self.wanted = wanted
        self._items: deque[NotificationRecord] = deque()
        self._size = size
        self._ready = asyncio.Event()

    def offer(self, record: NotificationRecord) -> None:
        if not self.wanted.wants(record):
            return
        if len(self._items) >= self._size:
            dropped = self._items.popleft()
            log.warning("a live subscriber is not reading; dropped notification %s", dropped.id)
        self._items.append(record)
        self._ready.set()

    async def records(self, first: list[NotificationRecord]) -> AsyncIterator[NotificationRecord]:
        sent = {record.id for record in first}
        for record in first:
            yield record
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._items:
                record = self._items.popleft()
                if record.id not in sent:
                    yield record


class OpenedHub:
    """This process's one LISTEN on the opened channel, fanned out to its live subscribers.

    The listening connection is checked every `ping_seconds`; when it is lost, the hub connects
    again with backoff and then reads from the table what was recorded since it last knew it
    was listening (less a margin for transactions still open then), so nothing is missed, and
    nothing is sent twice (ids seen lately are remembered).
    """

    def __init__(self, engine: AsyncEngine, ping_seconds: float = 10.0) -> None:
        self._engine = engine
        self._ping = ping_seconds
        self._boxes: set[_Mailbox] = set()
        self._seen: dict[UUID, float] = {}
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.users = 0
        self.reconnects = 0

    CATCH_UP_MARGIN = timedelta(seconds=60)
    REMEMBER_SECONDS = 600.0

    @property
    def subscribers(self) -> int:
        return len(self._boxes)

    async def start(self, timeout: float = 10.0) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="opened-listener")
        await asyncio.wait_for(asyncio.shield(self._ready.wait()), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def add(self, box: _Mailbox) -> None:
        self._boxes.add(box)

    def discard(self, box: _Mailbox) -> None:
        self._boxes.discard(box)

    def offer(self, record: NotificationRecord) -> None:
        if record.id in self._seen:
            return
        now = time.monotonic()
        self._seen[record.id] = now
        if len(self._seen) > 1000:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self.REMEMBER_SECONDS}
        for box in list(self._boxes):
            box.offer(record)

    def _on_payload(self, payload: str) -> None:
        try:
            self.offer(nq.notification_from_json(payload))
        except Exception:
            log.exception("unreadable notification payload")

    async def _run(self) -> None:
        alive_at: datetime | None = None  # the database's clock when we last knew we listened
        backoff = 0.05
        while True:
            listener: nq.Listener | None = None
            try:
                self._lost.clear()
                listener = await nq.Listener.connect(self._engine, self._on_payload, self._lost.set)
                listening_at = await listener.clock(5)
                if alive_at is not None:
                    async with self._engine.connect() as conn:
                        missed = await nq.notifications_recorded_since(conn, alive_at - self.CATCH_UP_MARGIN)
                    for record in missed:
                        self.offer(record)
                alive_at = listening_at
                self._ready.set()
                backoff = 0.05
                while not self._lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._lost.wait(), self._ping)
                    if not self._lost.is_set():
                        alive_at = await listener.clock(5)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("lost the notification listener: %s", error)
            finally:
                if listener is not None:
                    with contextlib.suppress(Exception):
                        await listener.close()
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)


_hubs: dict[int, OpenedHub] = {}


def opened_hub(app: AppContext) -> OpenedHub | None:
    """The process's live hub for this database, while it has subscribers."""
    return _hubs.get(id(app.engine))


@contextlib.asynccontextmanager
async def opened(app: AppContext, wanted: OpenedFilter) -> AsyncIterator[AsyncIterator[NotificationRecord]]:
    """Notifications matching `wanted` from the moment of subscribing (with `since`, first those
    created after it), each once."""
    key = id(app.engine)
    hub = _hubs.get(key)
    if hub is None:
        hub = _hubs[key] = OpenedHub(app.engine)
    hub.users += 1
    box = _Mailbox(wanted)
    try:
        await hub.start()
        hub.add(box)
        replay: list[NotificationRecord] = []
        if wanted.since is not None:
            async with app.engine.connect() as conn:
                replay = await nq.notifications_created_after(
                    conn, wanted.since, wanted.service_id, wanted.customer_id
                )
        yield box.records(replay)
    finally:
        hub.discard(box)
        hub.users -= 1
        if hub.users == 0 and _hubs.get(key) is hub:
            del _hubs[key]
            await hub.stop()
