"""Google Calendar: connect, choose calendars, sync busy time (full, incremental, pushed), disconnect.

Availability never calls Google: views read the synced busy-time store. A failed sync keeps
the last synced busy time and says so in `calendarSync`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from db import calendar_queries as cq
from db import reservation_queries as rq
from db.calendar_queries import SelectionRecord
from db.setup_queries import get_provider
from domain.calendar_events import BusyEvent, busy_time
from domain.changes import ChangeCause
from domain.errors import ExternalServiceProblem, NotFoundProblem, ValidationProblem, checked_text
from integrations.google_calendar import (
    FullSyncRequired,
    GoogleError,
    ReauthorizationNeeded,
    TokenRejected,
    Tokens,
)
from resolvers.access import require_provider
from resolvers.changes import changing
from resolvers.context import AppContext, CalendarSetup, parse_id

log = logging.getLogger("slotwise.calendar")
REFRESH_AHEAD = timedelta(minutes=5)
HISTORY = timedelta(days=1)  # busy time from a day back is enough for any view still bookable
FREE_BUSY_AHEAD = timedelta(days=731)
RENEW_AHEAD = timedelta(days=1)
_pushed_syncs: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class CalendarStatus:
    provider_id: str
    status: str  # OK, STALE, ERROR, NEEDS_REAUTH, NOT_CONNECTED
    last_synced_at: datetime | None
    last_error: str | None
    calendars: list[SelectionRecord]


async def calendar_status(app: AppContext, provider_id: str) -> CalendarStatus:
    key = parse_id(provider_id, "providerId", "provider")
    async with app.engine.connect() as conn:
        connection = await cq.get_connection(conn, key)
        calendars = await cq.list_selections(conn, key) if connection else []
    if connection is None:
        return CalendarStatus(provider_id, "NOT_CONNECTED", None, None, [])
    status = connection.status
    stale_after = app.calendar.stale_after if app.calendar else timedelta(minutes=15)
    if status == "OK" and (
        connection.last_synced_at is None or connection.last_synced_at < app.clock() - stale_after
    ):
        status = "STALE"
    return CalendarStatus(provider_id, status, connection.last_synced_at, connection.last_error, calendars)


async def connect_google_calendar(
    app: AppContext, provider_id: str, code: str, redirect_uri: str
) -> CalendarStatus:
    setup = _setup(app)
    code = checked_text(code, "authorizationCode", 2048)
    redirect_uri = checked_text(redirect_uri, "redirectUri", 2048)
    key = await _provider(app, provider_id)
    try:
        tokens = await setup.google.exchange_code(code, redirect_uri)
        if not tokens.refresh_token:
            raise ValidationProblem(
                "authorizationCode", "Google gave no refresh token: ask for offline access"
            )
        calendars = await setup.google.calendars(tokens.access_token)
    except ReauthorizationNeeded as refused:
        raise ValidationProblem("authorizationCode", f"Google refused the code: {refused}") from None
    except GoogleError as error:
        raise ExternalServiceProblem(f"Google Calendar could not be reached: {error}") from None
    async with app.engine.begin() as conn:
        await cq.save_connection(
            conn, key, status="OK", last_error=None, **_sealed(setup, tokens), last_synced_at=None
        )
        for calendar in calendars:
            await cq.save_calendar(
                conn,
                key,
                calendar.id,
                summary=calendar.summary,
                time_zone=calendar.time_zone,
                access_role=calendar.access_role,
                selected=calendar.primary,
            )
    await sync_provider(app, key)
    return await calendar_status(app, provider_id)


async def disconnect_google_calendar(app: AppContext, provider_id: str) -> CalendarStatus:
    key = await _provider(app, provider_id)
    async with app.engine.connect() as conn:
        channels = [s for s in await cq.list_selections(conn, key) if s.channel_id]
    await _stop_channels(app, key, channels)
    async with changing(app) as changes:
        await rq.lock_provider_writes(changes.conn, key)
        await cq.delete_connection(changes.conn, key)
        spans = await cq.forget_busy(changes.conn, key)
        if spans:
            await changes.record(key, ChangeCause.CALENDAR_SYNCED, spans)
    return await calendar_status(app, provider_id)


async def set_calendar_selection(
    app: AppContext, provider_id: str, calendar_ids: list[str]
) -> CalendarStatus:
    key = await _provider(app, provider_id)
    async with app.engine.connect() as conn:
        if await cq.get_connection(conn, key) is None:
            raise ValidationProblem("providerId", "connect Google Calendar first")
        known = {s.calendar_id: s for s in await cq.list_selections(conn, key)}
    unknown = sorted(set(calendar_ids) - set(known))
    if unknown:
        raise ValidationProblem(
            "calendarIds", f"not among the provider's calendars: {', '.join(unknown)[:300]}"
        )
    dropped = [s for s in known.values() if s.selected and s.calendar_id not in calendar_ids]
    await _stop_channels(app, key, [s for s in dropped if s.channel_id])
    async with changing(app) as changes:
        await rq.lock_provider_writes(changes.conn, key)
        for calendar_id, selection in known.items():
            chosen = calendar_id in calendar_ids
            if chosen != selection.selected:
                await cq.update_selection(changes.conn, key, calendar_id, selected=chosen, sync_token=None)
        for selection in dropped:
            spans = await cq.forget_busy(changes.conn, key, selection.calendar_id)
            if spans:
                await changes.record(key, ChangeCause.CALENDAR_SYNCED, spans)
    await sync_provider(app, key)
    return await calendar_status(app, provider_id)


async def sync_calendars(app: AppContext, provider_id: str | None = None) -> list[CalendarStatus]:
    """Sync one provider's calendars, or every connected provider's."""
    if provider_id is not None:
        keys = [await _provider(app, provider_id)]
    else:
        async with app.engine.connect() as conn:
            keys = await cq.connected_providers(conn)
    for key in keys:
        try:
            await sync_provider(app, key)
        except Exception:  # one provider's trouble must not hold up the others
            log.exception("calendar sync of %s failed", key)
            await _mark(app, key, "ERROR", "unexpected failure; see the server log")
    return [await calendar_status(app, str(key)) for key in keys]


async def sync_provider(app: AppContext, provider_id: UUID, calendar_id: str | None = None) -> None:
    """Bring the provider's selected calendars (or one) into the busy-time store, and keep push
    channels open. Failures are recorded on the connection; the last synced busy time stays."""
    setup = _setup(app)
    try:
        access = await _access_token(app, setup, provider_id)
    except ReauthorizationNeeded:
        return
    except GoogleError as error:
        await _mark(app, provider_id, "ERROR", str(error))
        return
    async with app.engine.connect() as conn:
        chosen = [s for s in await cq.list_selections(conn, provider_id) if s.selected]
    failures = []
    for selection in chosen:
        if calendar_id is not None and selection.calendar_id != calendar_id:
            continue
        try:
            try:
                await _sync_calendar(app, setup, access, selection)
            except TokenRejected:  # revoked or expired early: a fresh token, once
                access = await _access_token(app, setup, provider_id, force_refresh=True)
                await _sync_calendar(app, setup, access, selection)
            if setup.webhook_url and selection.channel_id is None:
                await _open_channel(app, setup, access, selection)
        except ReauthorizationNeeded:
            return
        except GoogleError as error:  # includes a calendar Google could not read: never taken as free
            log.warning("sync of %s for %s failed: %s", selection.calendar_id, provider_id, error)
            failures.append(f"{selection.calendar_id}: {error}")
    if failures:
        await _mark(app, provider_id, "ERROR", "; ".join(failures)[:1000])
    else:
        await _mark(app, provider_id, "OK", None, synced=True)


async def handle_push(app: AppContext, channel_id: str, token: str, state: str) -> bool:
    """A Google push notification: act only on a known channel with its own token."""
    async with app.engine.connect() as conn:
        selection = await cq.selection_by_channel(conn, channel_id[:200])
    if selection is None or not selection.channel_token:
        return False
    if not hmac.compare_digest(token.encode(), selection.channel_token.encode()):
        return False
    if state != "sync":  # "sync" only confirms a new channel
        task = asyncio.create_task(sync_provider(app, selection.provider_id, selection.calendar_id))
        _pushed_syncs.add(task)
        task.add_done_callback(_pushed_syncs.discard)
    return True


async def renew_channels(app: AppContext) -> int:
    """Replace push channels that expire within a day: a new channel first, then stop the old."""
    setup = _setup(app)
    async with app.engine.connect() as conn:
        expiring = await cq.channels_expiring(conn, app.clock() + RENEW_AHEAD)
    renewed = 0
    for selection in expiring:
        try:
            access = await _access_token(app, setup, selection.provider_id)
            await _open_channel(app, setup, access, selection)
            await _stop_channels(app, selection.provider_id, [selection])
            renewed += 1
        except GoogleError as error:
            log.warning("could not renew the channel of %s: %s", selection.calendar_id, error)
    return renewed


# --- steps --------------------------------------------------------------------------------------


async def _sync_calendar(
    app: AppContext, setup: CalendarSetup, access: str, selection: SelectionRecord
) -> None:
    now = app.clock()
    token: str | None
    if selection.access_role == "freeBusyReader":  # no events to read, only busy spans
        spans = await setup.google.free_busy(
            access, selection.calendar_id, now - HISTORY, now + FREE_BUSY_AHEAD
        )
        found = [BusyEvent(f"busy:{a.isoformat()}/{b.isoformat()}", a, b, None) for a, b in spans]
        gone: list[str] = []
        token, full = None, True
    else:
        try:
            events, token = await setup.google.events(
                access, selection.calendar_id, selection.sync_token, now - HISTORY
            )
            full = selection.sync_token is None
        except FullSyncRequired:
            events, token = await setup.google.events(access, selection.calendar_id, None, now - HISTORY)
            full = True
        found, gone = [], []
        for event in events:
            blocking = busy_time(event, selection.time_zone)
            if blocking is None:
                gone.append(event["id"])
            else:
                found.append(blocking)
    async with changing(app) as changes:
        await rq.lock_provider_writes(changes.conn, selection.provider_id)
        spans = await cq.store_busy(
            changes.conn, selection.provider_id, selection.calendar_id, found, gone, full
        )
        await cq.update_selection(
            changes.conn, selection.provider_id, selection.calendar_id, sync_token=token, last_synced_at=now
        )
        if spans:
            await changes.record(selection.provider_id, ChangeCause.CALENDAR_SYNCED, spans)


async def _access_token(
    app: AppContext, setup: CalendarSetup, provider_id: UUID, force_refresh: bool = False
) -> str:
    """A valid access token, refreshed ahead of expiry; invalid_grant marks NEEDS_REAUTH."""
    async with app.engine.connect() as conn:
        connection = await cq.get_connection(conn, provider_id)
    if connection is None:
        raise ReauthorizationNeeded("not connected")
    if connection.status == "NEEDS_REAUTH":
        raise ReauthorizationNeeded(connection.last_error or "needs reauthorization")
    expires = connection.access_token_expires_at
    fresh = expires is not None and expires > app.clock() + REFRESH_AHEAD
    if connection.access_token_encrypted and fresh and not force_refresh:
        return setup.vault.open(connection.access_token_encrypted)
    try:
        tokens = await setup.google.refresh(setup.vault.open(connection.refresh_token_encrypted))
    except ReauthorizationNeeded as refused:
        await _mark(app, provider_id, "NEEDS_REAUTH", f"Google refused the refresh token: {refused}")
        raise
    async with app.engine.begin() as conn:
        await cq.update_connection(conn, provider_id, **_sealed(setup, tokens))
    return tokens.access_token


async def _open_channel(
    app: AppContext, setup: CalendarSetup, access: str, selection: SelectionRecord
) -> None:
    assert setup.webhook_url is not None
    channel_id, token = str(uuid.uuid4()), secrets.token_urlsafe(32)
    async with app.engine.begin() as conn:  # stored first: Google's first "sync" push can beat the answer
        await cq.update_selection(
            conn,
            selection.provider_id,
            selection.calendar_id,
            channel_id=channel_id,
            channel_token=token,
            channel_resource_id=None,
            channel_expires_at=None,
        )
    resource_id, expires = await setup.google.watch(
        access, selection.calendar_id, channel_id, token, setup.webhook_url, setup.channel_ttl
    )
    async with app.engine.begin() as conn:
        await cq.update_selection(
            conn,
            selection.provider_id,
            selection.calendar_id,
            channel_resource_id=resource_id,
            channel_expires_at=expires,
        )


async def _stop_channels(app: AppContext, provider_id: UUID, selections: list[SelectionRecord]) -> None:
    if app.calendar is None or not selections:
        return
    try:
        access = await _access_token(app, app.calendar, provider_id)
    except GoogleError:
        return  # the channels expire by themselves
    for selection in selections:
        if selection.channel_id and selection.channel_resource_id:
            try:
                await app.calendar.google.stop(access, selection.channel_id, selection.channel_resource_id)
            except GoogleError as error:
                log.info("could not stop channel %s: %s", selection.channel_id, error)


async def _mark(
    app: AppContext, provider_id: UUID, status: str, error: str | None, synced: bool = False
) -> None:
    values: dict[str, object] = {"status": status, "last_error": error}
    if synced:
        values["last_synced_at"] = app.clock()
    async with app.engine.begin() as conn:
        await cq.update_connection(conn, provider_id, **values)


def _sealed(setup: CalendarSetup, tokens: Tokens) -> dict[str, object]:
    values: dict[str, object] = {
        "access_token_encrypted": setup.vault.seal(tokens.access_token),
        "access_token_expires_at": tokens.expires_at,
    }
    if tokens.refresh_token:
        values["refresh_token_encrypted"] = setup.vault.seal(tokens.refresh_token)
    return values


def _setup(app: AppContext) -> CalendarSetup:
    if app.calendar is None:
        raise ValidationProblem(
            "providerId", "Google Calendar is not configured on this server (GOOGLE_CLIENT_ID)"
        )
    return app.calendar


async def _provider(app: AppContext, provider_id: str) -> UUID:
    key = parse_id(provider_id, "providerId", "provider")
    require_provider(key)
    async with app.engine.connect() as conn:
        if await get_provider(conn, key) is None:
            raise NotFoundProblem("providerId", "provider", provider_id)
    return key
