"""Google Calendar and Google's OAuth token endpoint, through google-api-python-client.

The client is synchronous and httplib2 is not thread-safe, so every call runs in a worker
thread (asyncio.to_thread) with that thread's own Http. Rate-limit answers (403
rateLimitExceeded/userRateLimitExceeded, 429), 5xx and broken connections are retried with
exponential backoff and jitter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import httplib2
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

log = logging.getLogger("slotwise.google")
T = TypeVar("T")
RATE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded"}


class GoogleError(Exception):
    """Google could not be reached or kept failing."""


class ReauthorizationNeeded(GoogleError):
    """The refresh token was refused (invalid_grant): the provider must connect again."""


class TokenRejected(GoogleError):
    """Google refused the access token (401): refresh it and try again."""


class FullSyncRequired(GoogleError):
    """The sync token expired (410): drop the calendar's stored state and sync in full."""


class CalendarUnreadable(GoogleError):
    """Google answered, but could not tell this calendar's busy time."""


@dataclass(frozen=True)
class GoogleSettings:
    client_id: str
    client_secret: str
    token_uri: str = "https://oauth2.googleapis.com/token"
    api_endpoint: str | None = None  # None: Google itself
    max_retries: int = 5
    retry_base_seconds: float = 0.5
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_at: datetime
    refresh_token: str | None


@dataclass(frozen=True)
class CalendarInfo:
    id: str
    summary: str | None
    time_zone: str
    primary: bool
    access_role: str


class GoogleCalendar:
    def __init__(self, settings: GoogleSettings) -> None:
        self.settings = settings
        self._local = threading.local()

    # --- OAuth -------------------------------------------------------------------------------

    async def exchange_code(self, code: str, redirect_uri: str) -> Tokens:
        return await self._token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )

    async def refresh(self, refresh_token: str) -> Tokens:
        tokens = await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        return Tokens(tokens.access_token, tokens.expires_at, tokens.refresh_token or refresh_token)

    async def _token(self, form: dict[str, str]) -> Tokens:
        body = urlencode(
            form | {"client_id": self.settings.client_id, "client_secret": self.settings.client_secret}
        )

        def post() -> tuple[int, dict[str, Any]]:
            response, content = self._http().request(
                self.settings.token_uri,
                "POST",
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            return response.status, json.loads(content or b"{}")

        status, data = await self._in_thread(post)
        if status == 400 and data.get("error") == "invalid_grant":
            raise ReauthorizationNeeded(data.get("error_description", "invalid_grant"))
        if status != 200:
            raise GoogleError(f"token endpoint answered {status}: {data.get('error')}")
        expires_at = datetime.now(UTC) + timedelta(seconds=int(data.get("expires_in", 3600)))
        return Tokens(data["access_token"], expires_at, data.get("refresh_token"))

    # --- Calendar API ------------------------------------------------------------------------

    async def calendars(self, access_token: str) -> list[CalendarInfo]:
        def fetch() -> list[CalendarInfo]:
            items, page = [], None
            while True:
                data = self._execute(self._api(access_token).calendarList().list(pageToken=page))
                items += data.get("items", [])
                page = data.get("nextPageToken")
                if not page:
                    break
            return [
                CalendarInfo(
                    i["id"],
                    i.get("summary"),
                    i.get("timeZone", "UTC"),
                    bool(i.get("primary")),
                    i.get("accessRole", "owner"),
                )
                for i in items
            ]

        return await self._in_thread(fetch)

    async def events(
        self, access_token: str, calendar_id: str, sync_token: str | None, since: datetime
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Every event changed since `sync_token` (or all from `since` on, without one), recurring
        events expanded into instances, and the token for the next incremental sync."""

        def fetch() -> tuple[list[dict[str, Any]], str | None]:
            events: list[dict[str, Any]] = []
            page: str | None = None
            while True:
                query: dict[str, Any] = {
                    "calendarId": calendar_id,
                    "singleEvents": True,
                    "showDeleted": True,
                    "maxResults": 250,
                    "pageToken": page,
                }
                if sync_token:
                    query["syncToken"] = sync_token
                else:
                    query["timeMin"] = since.isoformat()
                try:
                    data = self._execute(self._api(access_token).events().list(**query))
                except HttpError as error:
                    if error.resp.status == 410:
                        raise FullSyncRequired(calendar_id) from None
                    raise
                events += data.get("items", [])
                page = data.get("nextPageToken")
                if not page:
                    return events, data.get("nextSyncToken")

        return await self._in_thread(fetch)

    async def free_busy(
        self, access_token: str, calendar_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Busy spans of a calendar we may only see as free/busy; errors inside the 200 raise."""

        def fetch() -> list[tuple[datetime, datetime]]:
            body = {"timeMin": start.isoformat(), "timeMax": end.isoformat(), "items": [{"id": calendar_id}]}
            data = self._execute(self._api(access_token).freebusy().query(body=body))
            found = data.get("calendars", {}).get(calendar_id)
            if found is None or found.get("errors"):
                reasons = [e.get("reason") for e in (found or {}).get("errors", [])] or ["missing"]
                raise CalendarUnreadable(f"{calendar_id}: {', '.join(map(str, reasons))}")
            return [(_instant(b["start"]), _instant(b["end"])) for b in found.get("busy", [])]

        return await self._in_thread(fetch)

    async def watch(
        self, access_token: str, calendar_id: str, channel_id: str, token: str, address: str, ttl: timedelta
    ) -> tuple[str, datetime]:
        """Open a push channel; returns its resource id and expiry."""

        def open_channel() -> tuple[str, datetime]:
            body = {
                "id": channel_id,
                "type": "web_hook",
                "address": address,
                "token": token,
                "params": {"ttl": str(int(ttl.total_seconds()))},
            }
            data = self._execute(self._api(access_token).events().watch(calendarId=calendar_id, body=body))
            expires = datetime.fromtimestamp(int(data["expiration"]) / 1000, UTC)
            return data["resourceId"], expires

        return await self._in_thread(open_channel)

    async def stop(self, access_token: str, channel_id: str, resource_id: str) -> None:
        def close_channel() -> None:
            body = {"id": channel_id, "resourceId": resource_id}
            self._execute(self._api(access_token).channels().stop(body=body))

        await self._in_thread(close_channel)

    # --- plumbing ----------------------------------------------------------------------------

    def _http(self) -> httplib2.Http:
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = httplib2.Http(timeout=self.settings.timeout_seconds)
        return http

    def _api(self, access_token: str) -> Any:
        options = {"api_endpoint": self.settings.api_endpoint} if self.settings.api_endpoint else None
        authorized = AuthorizedHttp(Credentials(token=access_token), http=self._http())
        return build(
            "calendar",
            "v3",
            http=authorized,
            static_discovery=True,
            client_options=options,
            cache_discovery=False,
        )

    def _execute(self, request: Any) -> dict[str, Any]:
        """request.execute(), retried with exponential backoff and jitter when Google says so."""
        for attempt in range(self.settings.max_retries + 1):
            try:
                return request.execute()  # type: ignore[no-any-return]
            except HttpError as error:
                if not _retryable(error) or attempt == self.settings.max_retries:
                    raise
                why = f"HTTP {error.resp.status}"
            except (OSError, httplib2.HttpLib2Error) as error:
                if attempt == self.settings.max_retries:
                    raise GoogleError(f"Google unreachable: {error}") from error
                why = str(error)
            pause = self.settings.retry_base_seconds * 2**attempt * random.uniform(0.5, 1.5)
            log.info("google call failed (%s); retry %d in %.2fs", why, attempt + 1, pause)
            time.sleep(pause)
        raise AssertionError("unreachable")

    async def _in_thread(self, call: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(call)
        except RefreshError as error:  # a 401: the credentials we hand the client cannot refresh
            raise TokenRejected(str(error)) from error
        except HttpError as error:
            raise GoogleError(f"Google answered {error.resp.status}: {error.reason}") from error
        except (OSError, httplib2.HttpLib2Error) as error:
            raise GoogleError(f"Google unreachable: {error}") from error


def _retryable(error: HttpError) -> bool:
    status = error.resp.status
    if status == 429 or status >= 500:
        return True
    if status == 403:
        try:
            reasons = {e.get("reason") for e in json.loads(error.content).get("error", {}).get("errors", [])}
        except (ValueError, AttributeError):
            return False
        return bool(reasons & RATE_LIMITS)
    return False


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
