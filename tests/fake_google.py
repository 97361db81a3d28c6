"""A fake Google for tests: the OAuth 2.0 token endpoint and the parts of Calendar API v3 we use.

It is a real HTTP server on 127.0.0.1 (standard library only) that the real google-auth and
google-api-python-client talk to, so tests exercise the same URLs, query strings, JSON shapes,
status codes and retry behaviour as production:

    with FakeGoogle() as google:
        google.add_calendar("alice@example.com", "Alice", time_zone="Europe/Berlin", primary=True)
        access, refresh = google.issue_tokens()
        creds = Credentials(token=access, refresh_token=refresh, token_uri=google.token_uri,
                            client_id=google.client_id, client_secret=google.client_secret)
        service = build("calendar", "v3", credentials=creds, static_discovery=True,
                        client_options={"api_endpoint": google.calendar_endpoint})

Wire behaviour copied from Google (tests/test_fake_google.py checks it with the real clients):
- /token: form-encoded (JSON also accepted) authorization_code and refresh_token grants; errors are
  {"error": ..., "error_description": ...} with 400 (invalid_grant, invalid_request, ...) or 401
  (invalid_client). Refresh grants don't return a new refresh_token, as at Google.
- API errors are {"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}.
- Deleted events stay visible as {"kind", "etag", "id", "status": "cancelled"} (plus recurringEventId
  and originalStartTime for instances) to incremental sync and showDeleted, like Google; the rest of
  a deleted event's fields are not sent.
- "transparency" is omitted when it is "opaque" (Google's default), as Google does.
- Timed start/end are rendered in the response time zone (the timeZone query parameter, else the
  calendar's), e.g. "2024-05-06T11:00:00+02:00"; UTC is rendered with "Z".
- Push notifications carry X-Goog-Channel-Expiration in RFC 1123 form ("Tue, 19 Nov 2013 01:13:52 GMT"),
  while the watch response's "expiration" is milliseconds since the epoch as a string.
- nextSyncToken comes on the last page only, and not when the query used orderBy, q, updatedMin,
  iCalUID or extended-property filters (timeMin/timeMax still get one). A page of results is a
  snapshot taken at the first page; its nextSyncToken covers changes after that moment.
- `down = True` closes each connection without a response; httplib2 raises RemoteDisconnected (a
  ConnectionResetError) after silently retrying once, so every client attempt shows up twice in
  `requests`.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import http.client
import json
import secrets
import socket
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dtime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

JSON = dict[str, Any]

DEFAULT_CLIENT_ID = "fake-client-id.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "fake-client-secret"
DEFAULT_ACCOUNT = "user@example.com"
SCOPE_PREFIX = "https://www.googleapis.com/auth/"
CALENDAR_SCOPE = SCOPE_PREFIX + "calendar"
CALENDAR_READONLY_SCOPE = SCOPE_PREFIX + "calendar.readonly"
DEFAULT_SCOPE = CALENDAR_READONLY_SCOPE

# Scopes that allow each method, from the discovery document shipped with google-api-python-client.
_EVENTS_SCOPES = frozenset(
    SCOPE_PREFIX + s
    for s in (
        "calendar",
        "calendar.app.created",
        "calendar.events",
        "calendar.events.freebusy",
        "calendar.events.owned",
        "calendar.events.owned.readonly",
        "calendar.events.public.readonly",
        "calendar.events.readonly",
        "calendar.readonly",
    )
)
_CALENDAR_LIST_SCOPES = frozenset(
    SCOPE_PREFIX + s
    for s in ("calendar", "calendar.calendarlist", "calendar.calendarlist.readonly", "calendar.readonly")
)
_CALENDARS_SCOPES = frozenset(
    SCOPE_PREFIX + s
    for s in (
        "calendar",
        "calendar.app.created",
        "calendar.calendars",
        "calendar.calendars.readonly",
        "calendar.readonly",
    )
)
_FREEBUSY_SCOPES = frozenset(
    SCOPE_PREFIX + s
    for s in ("calendar", "calendar.events.freebusy", "calendar.freebusy", "calendar.readonly")
)
_ANY_CALENDAR_SCOPE = _EVENTS_SCOPES | _CALENDAR_LIST_SCOPES | _CALENDARS_SCOPES | _FREEBUSY_SCOPES

_MAX_RESULTS_DEFAULT = 250
_MAX_RESULTS_LIMIT = 2500
_RECURRENCE_HORIZON = timedelta(days=366)  # how far open-ended series are expanded without timeMax
_MAX_INSTANCES = 5000
_SYNC_INCOMPATIBLE = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty")
_SYNC_INCOMPATIBLE_ALL = (*_SYNC_INCOMPATIBLE, "timeMin", "timeMax", "updatedMin")
_RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
_REASON_MESSAGES = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
    "dailyLimitExceeded": "Daily Limit Exceeded",
    "backendError": "Backend Error",
    "internalError": "Internal Error",
    "notFound": "Not Found",
    "forbidden": "Forbidden",
}
_PUSH_USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
_AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


# ----------------------------------------------------------------------------------------------
# Records visible to tests


@dataclass
class Channel:
    """A push notification channel created by events.watch."""

    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str | None
    expiration_ms: int
    params: dict[str, str]
    message_number: int = 0
    stopped: bool = False


@dataclass(frozen=True)
class Delivery:
    """One push notification POST the fake sent; status 0 means no HTTP response (see error)."""

    channel_id: str
    state: str
    message_number: int
    status: int
    error: str | None = None


@dataclass(frozen=True)
class TokenGrant:
    """One request to the token endpoint, as the fake parsed it."""

    grant_type: str
    params: dict[str, str]
    status: int


# ----------------------------------------------------------------------------------------------
# Internal state


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        headers: dict[str, str] | None = None,
        extra: JSON | None = None,
        item: JSON | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.headers = headers or {}
        self.extra = extra or {}  # added to "error"
        self.item = item or {}  # added to (or overriding) "error.errors[0]"

    def body(self) -> JSON:
        item: JSON = {"domain": self.domain, "reason": self.reason, "message": self.message, **self.item}
        return {"error": {"code": self.status, "message": self.message, "errors": [item], **self.extra}}


@dataclass
class _Response:
    status: int
    body: JSON | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without any response
    after: Callable[[], None] | None = None  # run after the response was written


@dataclass
class _AccessToken:
    account: str
    scope: str
    expires_at: float
    refresh_token: str | None


@dataclass
class _RefreshToken:
    account: str
    scope: str
    client_id: str
    revoked: bool = False


@dataclass
class _AuthCode:
    redirect_uri: str
    scope: str
    account: str
    refresh_token: str | None
    issue_refresh_token: bool
    used: bool = False


@dataclass
class _Stored:
    data: JSON
    seq: int
    order: int


@dataclass
class _Calendar:
    id: str
    summary: str
    time_zone: str
    primary: bool
    account: str
    resource_id: str
    events: dict[str, _Stored] = field(default_factory=dict)
    sync_epoch: int = 0
    updated_ms: int = 0
    freebusy_failure: str | None = None


@dataclass
class _Row:
    """One item a list could return: a stored event, or an instance of a recurring event."""

    data: JSON
    seq: int
    order: tuple[int, float]
    cancelled: bool
    exception_of_live_series: bool
    spans: list[tuple[datetime, datetime]]

    @property
    def start(self) -> datetime:
        return self.spans[0][0] if self.spans else datetime.min.replace(tzinfo=UTC)


@dataclass
class _Cursor:
    calendar_id: str
    query_key: str
    items: list[JSON]
    offset: int
    next_sync_token: str | None


@dataclass(frozen=True)
class _When:
    instant: datetime  # aware; an all-day date is midnight in the calendar's zone
    day: date | None  # set for all-day events
    tz: str  # zone the event's wall clock runs in (recurrence is expanded in it)


@dataclass(frozen=True)
class _Rule:
    freq: str
    interval: int
    count: int | None
    until: str | None
    byday: tuple[int, ...]
    exdates: tuple[tuple[str, str | None], ...]


_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


# ----------------------------------------------------------------------------------------------
# Time helpers


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _fmt_instant(dt: datetime, tz: tzinfo) -> str:
    local = dt.astimezone(tz)
    text = local.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _fmt_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _parse_query_time(value: str) -> datetime:
    """timeMin/timeMax/updatedMin: RFC 3339 with a mandatory offset, as Google requires."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _ApiError(400, "badRequest", "Bad Request") from None
    if parsed.tzinfo is None or "T" not in value.upper():
        raise _ApiError(400, "badRequest", "Bad Request")
    return parsed


def _when(part: Any, default_tz: str) -> _When:
    if not isinstance(part, dict):
        raise ValueError(f"start/end must be an object, got {part!r}")
    tz_name = part.get("timeZone") or default_tz
    tz = _zone(tz_name)
    if "dateTime" in part:
        parsed = datetime.fromisoformat(part["dateTime"])
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return _When(parsed, None, tz_name)
    if "date" in part:
        day = date.fromisoformat(part["date"])
        return _When(datetime.combine(day, dtime(), _zone(default_tz)), day, default_tz)
    raise ValueError(f"start/end needs dateTime or date, got {part!r}")


def _parse_ical_value(value: str, tzid: str | None, tz: ZoneInfo) -> datetime | date:
    value = value.strip()
    if "T" not in value:
        return datetime.strptime(value, "%Y%m%d").date()
    if value.endswith("Z"):
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    naive = datetime.strptime(value, "%Y%m%dT%H%M%S")
    return naive.replace(tzinfo=_zone(tzid) if tzid else tz)


def _parse_recurrence(lines: Any) -> _Rule | None:
    if not lines:
        return None
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise ValueError("recurrence must be a list of strings")
    rule: dict[str, str] | None = None
    exdates: list[tuple[str, str | None]] = []
    for line in lines:
        name, _, value = line.partition(":")
        head, *props = name.split(";")
        head = head.upper()
        if head == "RRULE":
            if rule is not None:
                raise ValueError("the fake supports one RRULE per event")
            rule = dict(part.split("=", 1) for part in value.split(";") if part)
        elif head == "EXDATE":
            tzid = next((p.split("=", 1)[1] for p in props if p.upper().startswith("TZID=")), None)
            exdates.extend((v, tzid) for v in value.split(","))
        else:
            raise ValueError(f"the fake does not support recurrence line {line!r}")
    if rule is None:
        raise ValueError("recurrence without RRULE")
    freq = rule.pop("FREQ", "")
    interval = int(rule.pop("INTERVAL", "1"))
    count = int(rule["COUNT"]) if "COUNT" in rule else None
    rule.pop("COUNT", None)
    until = rule.pop("UNTIL", None)
    rule.pop("WKST", None)
    byday_text = rule.pop("BYDAY", "")
    if freq not in ("DAILY", "WEEKLY", "MONTHLY"):
        raise ValueError(f"the fake supports FREQ=DAILY/WEEKLY/MONTHLY, not {freq!r}")
    if byday_text and freq != "WEEKLY":
        raise ValueError("the fake supports BYDAY only with FREQ=WEEKLY")
    if rule:
        raise ValueError(f"the fake does not support RRULE parts {sorted(rule)}")
    if count is not None and until is not None:
        raise ValueError("RRULE may not have both COUNT and UNTIL")
    if interval < 1 or (count is not None and count < 1):
        raise ValueError("INTERVAL and COUNT must be positive")
    byday = tuple(sorted(_WEEKDAYS[d.strip().upper()] for d in byday_text.split(",") if d.strip()))
    return _Rule(freq, interval, count, until, byday, tuple(exdates))


def _candidate_days(base: date, rule: _Rule) -> Iterator[date]:
    step = 0
    while True:
        if rule.freq == "DAILY":
            yield base + timedelta(days=step * rule.interval)
        elif rule.freq == "WEEKLY":
            week = base - timedelta(days=base.weekday()) + timedelta(weeks=step * rule.interval)
            for weekday in rule.byday or (base.weekday(),):
                day = week + timedelta(days=weekday)
                if day >= base:
                    yield day
        else:  # MONTHLY on the start's day of month; months without that day are skipped (RFC 5545)
            months = base.month - 1 + step * rule.interval
            try:
                day = base.replace(year=base.year + months // 12, month=months % 12 + 1)
            except ValueError:
                day = None
            if day is not None:
                yield day
        step += 1


def _occurrences(start: _When, rule: _Rule, limit: datetime) -> list[datetime | date]:
    """Start of each occurrence (aware datetimes, or dates for all-day), stopping before `limit`."""
    tz = _zone(start.tz)
    until: datetime | date | None = None
    if rule.until is not None:
        parsed = _parse_ical_value(rule.until, None, tz)
        if start.day is not None:
            until = parsed.astimezone(tz).date() if isinstance(parsed, datetime) else parsed
        else:
            until = parsed if isinstance(parsed, datetime) else datetime.combine(parsed, dtime.max, tz)
    excluded: set[datetime | date] = set()
    for value, tzid in rule.exdates:
        parsed = _parse_ical_value(value, tzid, tz)
        if start.day is not None and isinstance(parsed, datetime):
            parsed = parsed.astimezone(tz).date()
        excluded.add(parsed)
    if start.day is not None:
        base_day, wall = start.day, None
    else:
        local = start.instant.astimezone(tz)
        base_day, wall = local.date(), local.time()
    out: list[datetime | date] = []
    for generated, day in enumerate(_candidate_days(base_day, rule)):
        if rule.count is not None and generated >= rule.count:
            break
        if wall is None:
            occurrence: datetime | date = day
            instant = datetime.combine(day, dtime(), start.instant.tzinfo)
            if until is not None and day > until:
                break
        else:
            occurrence = instant = datetime.combine(day, wall, tz)
            if until is not None and instant > cast(datetime, until):
                break
        if instant >= limit or generated >= _MAX_INSTANCES:
            break
        if occurrence not in excluded:
            out.append(occurrence)
    return out


def _stamp(occurrence: datetime | date) -> str:
    if isinstance(occurrence, datetime):
        return occurrence.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return occurrence.strftime("%Y%m%d")


def _bool_param(query: dict[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None:
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise _ApiError(400, "invalidParameter", f"Invalid boolean value: '{value}'.")


def _b64(data: JSON) -> str:
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _unb64(token: str) -> JSON:
    data = json.loads(base64.b64decode(token.encode(), validate=True))
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


# ----------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeGoogle) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httplib2 expects
    server_version = "FakeGoogle/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this

    def setup(self) -> None:
        super().setup()
        self._fake()._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._fake()._track(self.connection, add=False)

    def _fake(self) -> FakeGoogle:
        return cast(_Server, self.server).fake

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            response = self._fake()._handle(self.command, self.path, headers, body)
        except Exception as exc:  # a bug in the fake: say so loudly instead of dropping the connection
            traceback.print_exc()
            response = _Response(500, {"error": {"code": 500, "message": f"FakeGoogle bug: {exc!r}"}})
        if response.drop:
            self.close_connection = True
            return
        payload = b"" if response.body is None else json.dumps(response.body, indent=1).encode()
        self.send_response(response.status)
        if response.status != 204:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if response.status != 204:
            self.wfile.write(payload)
        self.wfile.flush()
        if response.after is not None:
            threading.Thread(target=response.after, daemon=True).start()


# ----------------------------------------------------------------------------------------------
# The fake


class FakeGoogle:
    """In-memory Google OAuth token endpoint + Calendar API v3 on 127.0.0.1, thread-safe."""

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        account: str = DEFAULT_ACCOUNT,
        expires_in: int = 3600,
        channel_ttl_seconds: int = 7 * 24 * 3600,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.account = account  # default account for codes, tokens and calendars
        self.expires_in = expires_in  # lifetime of access tokens issued from now on
        self.channel_ttl_seconds = channel_ttl_seconds  # lifetime of watch channels created from now on
        self.down = False  # True: every request's connection is closed without a response
        self.auto_notify = False  # True: put_event/delete_event call notify() themselves
        self.send_sync_on_watch = True  # the "sync" notification right after a watch
        # How a deleted recurring series shows up with singleEvents=true (incremental sync or
        # showDeleted): "instances" = a cancelled stub per instance, as Google's docs describe;
        # "master" = one cancelled stub with the series' id. Apps should cope with both.
        self.deleted_series_style: Literal["instances", "master"] = "instances"
        self.clock: Callable[[], float] = time.time  # seconds since the epoch; tests may replace it
        self._lock = threading.RLock()
        self._delivered = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._codes: dict[str, _AuthCode] = {}
        self._refresh_tokens: dict[str, _RefreshToken] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        self._calendars: dict[str, _Calendar] = {}
        self._seq = 0
        self._order = 0
        self._last_updated_ms = 0
        self._cursors: dict[str, _Cursor] = {}
        self._failures: list[tuple[int, str, str | None]] = []
        self._token_failures: list[tuple[int, str]] = []
        self._channels: dict[str, Channel] = {}
        self._stopped: list[Channel] = []
        self._deliveries: list[Delivery] = []
        self._requests: list[tuple[str, str, dict[str, str]]] = []
        self._token_grants: list[TokenGrant] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeGoogle:
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeGoogle", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # end idle keep-alive connections so their threads finish
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeGoogle is not running; use it as a context manager or call start()")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def calendar_endpoint(self) -> str:
        return self.base_url + "/calendar/v3/"

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    @property
    def revoke_uri(self) -> str:
        return self.base_url + "/revoke"

    # -- OAuth set-up ---------------------------------------------------------------------------

    def add_auth_code(
        self,
        code: str,
        redirect_uri: str,
        *,
        scope: str = DEFAULT_SCOPE,
        account: str | None = None,
        refresh_token: str | None = None,
        issue_refresh_token: bool = True,
    ) -> None:
        """Make `code` exchangeable once at /token, by a request carrying the same redirect_uri."""
        with self._lock:
            self._codes[code] = _AuthCode(
                redirect_uri, scope, account or self.account, refresh_token, issue_refresh_token
            )

    def issue_tokens(self, *, scope: str = DEFAULT_SCOPE, account: str | None = None) -> tuple[str, str]:
        """A valid (access_token, refresh_token) pair, as if a code had been exchanged."""
        with self._lock:
            refresh = self._new_refresh_token(account or self.account, scope, self.client_id, None)
            access = self._new_access_token(refresh)
            return access, refresh

    def add_refresh_token(
        self, refresh_token: str, *, scope: str = DEFAULT_SCOPE, account: str | None = None
    ) -> None:
        """Accept `refresh_token` (chosen by the test) at /token."""
        with self._lock:
            self._new_refresh_token(account or self.account, scope, self.client_id, refresh_token)

    def revoke(self, token: str) -> None:
        """Revoke a refresh token (and the access tokens minted from it), or a single access token."""
        with self._lock:
            if token in self._refresh_tokens:
                self._refresh_tokens[token].revoked = True
                for access in [a for a, t in self._access_tokens.items() if t.refresh_token == token]:
                    del self._access_tokens[access]
            elif token in self._access_tokens:
                del self._access_tokens[token]
            else:
                raise KeyError(token)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now gets 401 (the client still thinks it is valid)."""
        with self._lock:
            for token in self._access_tokens.values():
                token.expires_at = 0.0

    def is_valid_access_token(self, token: str) -> bool:
        with self._lock:
            found = self._access_tokens.get(token)
            return found is not None and found.expires_at > self.clock()

    def fail_token_next(self, n: int, status: int = 500, error: str = "internal_failure") -> None:
        """The next n requests to /token answer `status` with {"error": error}."""
        with self._lock:
            self._token_failures.extend([(status, error)] * n)

    @property
    def token_requests(self) -> int:
        with self._lock:
            return len(self._token_grants)

    @property
    def token_grants(self) -> list[TokenGrant]:
        with self._lock:
            return list(self._token_grants)

    # -- calendar set-up ------------------------------------------------------------------------

    def add_calendar(
        self,
        calendar_id: str,
        summary: str,
        time_zone: str = "UTC",
        primary: bool = False,
        *,
        account: str | None = None,
    ) -> None:
        _zone(time_zone)
        digest = hashlib.sha1(calendar_id.encode()).digest()
        with self._lock:
            self._calendars[calendar_id] = _Calendar(
                id=calendar_id,
                summary=summary,
                time_zone=time_zone,
                primary=primary,
                account=account or self.account,
                resource_id=base64.b32encode(digest).decode().lower()[:26],
                updated_ms=self._next_updated_ms(),
            )

    def put_event(self, calendar_id: str, event: JSON) -> JSON:
        """Add or replace an event (by id; one is generated when missing). Returns the stored copy.

        An event with recurringEventId (and an id "<master>_<stamp>") overrides that instance.
        """
        with self._lock:
            cal = self._calendar(calendar_id)
            data = copy.deepcopy(event)
            event_id = str(data.get("id") or secrets.token_hex(13))
            data["id"] = event_id
            data.setdefault("status", "confirmed")
            if data["status"] not in ("confirmed", "tentative", "cancelled"):
                raise ValueError(f"bad status {data['status']!r}")
            master_id = data.get("recurringEventId")
            if master_id is not None:
                master = cal.events.get(master_id)
                if master is None:
                    raise KeyError(f"recurring event {master_id!r} not found")
                if "originalStartTime" not in data:
                    instance = self._generated_instance(cal, master, event_id)
                    if instance is None:
                        raise ValueError(f"{event_id!r} is not an instance of {master_id!r}")
                    data["originalStartTime"] = instance["originalStartTime"]
            if data["status"] != "cancelled" or "start" in data:
                start = _when(data.get("start"), cal.time_zone)
                end = _when(data.get("end"), cal.time_zone)
                if (start.day is None) != (end.day is None):
                    raise ValueError("start and end must both be dateTime or both be date")
                if end.instant < start.instant:
                    raise ValueError("end before start")
                if data.get("recurrence") and start.day is None and "timeZone" not in data["start"]:
                    raise ValueError("recurring events need start.timeZone (Google requires it)")
            _parse_recurrence(data.get("recurrence"))
            previous = cal.events.get(event_id)
            data["kind"] = "calendar#event"
            data.setdefault("iCalUID", f"{master_id or event_id}@google.com")
            data.setdefault("sequence", 0)
            updated = self._next_updated_ms()
            data["created"] = previous.data["created"] if previous else _fmt_ms(updated)
            data["updated"] = _fmt_ms(updated)
            self._store(cal, data, previous)
            stored = copy.deepcopy(data)
        if self.auto_notify:
            self.notify(calendar_id)
        return stored

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """Mark an event (or one instance of a recurring event) cancelled, as Google's delete does."""
        with self._lock:
            cal = self._calendar(calendar_id)
            stored = cal.events.get(event_id)
            if stored is not None:
                self._cancel(cal, stored)
                if stored.data.get("recurrence"):  # deleting a series deletes its exceptions too
                    for other in list(cal.events.values()):
                        if other.data.get("recurringEventId") == event_id:
                            self._cancel(cal, other)
            else:
                master_id = event_id.rsplit("_", 1)[0]
                master = cal.events.get(master_id)
                instance = self._generated_instance(cal, master, event_id) if master else None
                if instance is None:
                    raise KeyError(event_id)
                instance["status"] = "cancelled"
                instance["updated"] = _fmt_ms(self._next_updated_ms())
                self._store(cal, instance, None)
        if self.auto_notify:
            self.notify(calendar_id)

    def get_event(self, calendar_id: str, event_id: str) -> JSON:
        """The stored event as the fake keeps it (all fields, even when cancelled)."""
        with self._lock:
            return copy.deepcopy(self._calendar(calendar_id).events[event_id].data)

    def expire_sync_tokens(self, calendar_id: str) -> None:
        """Sync tokens issued so far for this calendar now get 410 fullSyncRequired."""
        with self._lock:
            self._calendar(calendar_id).sync_epoch += 1

    def fail_freebusy(self, calendar_id: str, reason: str | None = "backendError") -> None:
        """freeBusy answers this calendar with {"errors": [{"domain": "global", "reason": reason}], "busy": []}.

        reason=None clears it.
        """
        with self._lock:
            self._calendar(calendar_id).freebusy_failure = reason

    # -- faults and records ---------------------------------------------------------------------

    def fail_next(self, n: int, status: int, reason: str, message: str | None = None) -> None:
        """The next n Calendar API requests (not /token) fail with Google's error JSON."""
        with self._lock:
            self._failures.extend([(status, reason, message)] * n)

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """(method, percent-decoded path, query) of each Calendar API request, including failed ones."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def channels(self) -> list[Channel]:
        with self._lock:
            return [copy.copy(c) for c in self._channels.values()]

    @property
    def stopped_channels(self) -> list[Channel]:
        with self._lock:
            return [copy.copy(c) for c in self._stopped]

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Block until at least `count` push notifications were sent (e.g. the automatic "sync")."""
        with self._delivered:
            if not self._delivered.wait_for(lambda: len(self._deliveries) >= count, timeout):
                raise TimeoutError(f"{len(self._deliveries)} of {count} push notifications sent")
            return list(self._deliveries)

    # -- push notifications ---------------------------------------------------------------------

    def notify(self, calendar_id: str, state: str = "exists") -> list[int]:
        """POST a push notification to every active channel watching the calendar; their statuses."""
        with self._lock:
            now_ms = int(self.clock() * 1000)
            targets = [
                c
                for c in self._channels.values()
                if c.calendar_id == calendar_id and not c.stopped and c.expiration_ms > now_ms
            ]
        return [self._deliver(channel, state) for channel in targets]

    def _deliver(self, channel: Channel, state: str) -> int:
        with self._lock:
            channel.message_number += 1
            number = channel.message_number
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": formatdate(channel.expiration_ms / 1000, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(number),
            "User-Agent": _PUSH_USER_AGENT,
            "Content-Length": "0",
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        url = urllib.parse.urlsplit(channel.address)
        conn_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(url.hostname or "127.0.0.1", url.port, timeout=10)
        status, error = 0, None
        try:
            conn.request("POST", (url.path or "/") + (f"?{url.query}" if url.query else ""), b"", headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError as exc:
            error = repr(exc)
        finally:
            conn.close()
        with self._delivered:
            self._deliveries.append(Delivery(channel.id, state, number, status, error))
            self._delivered.notify_all()
        return status

    # -- internals: state -----------------------------------------------------------------------

    def _next_updated_ms(self) -> int:
        self._last_updated_ms = max(int(self.clock() * 1000), self._last_updated_ms + 1)
        return self._last_updated_ms

    def _store(self, cal: _Calendar, data: JSON, previous: _Stored | None) -> None:
        self._seq += 1
        data["etag"] = f'"{3_000_000_000_000_000 + self._seq}"'
        if previous is None:
            self._order += 1
        cal.events[data["id"]] = _Stored(data, self._seq, previous.order if previous else self._order)
        cal.updated_ms = self._last_updated_ms

    def _cancel(self, cal: _Calendar, stored: _Stored) -> None:
        data = copy.deepcopy(stored.data)
        data["status"] = "cancelled"
        data["updated"] = _fmt_ms(self._next_updated_ms())
        self._store(cal, data, stored)

    def _calendar(self, calendar_id: str) -> _Calendar:
        try:
            return self._calendars[calendar_id]
        except KeyError:
            raise KeyError(f"no calendar {calendar_id!r}; add_calendar() it first") from None

    def _new_refresh_token(self, account: str, scope: str, client_id: str, token: str | None) -> str:
        token = token or "1//fake-" + secrets.token_urlsafe(24)
        self._refresh_tokens[token] = _RefreshToken(account, scope, client_id)
        return token

    def _new_access_token(self, refresh_token: str, scope: str | None = None) -> str:
        granted = self._refresh_tokens[refresh_token]
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        self._access_tokens[token] = _AccessToken(
            granted.account, scope or granted.scope, self.clock() + self.expires_in, refresh_token
        )
        return token

    # -- internals: HTTP ------------------------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Response:
        url = urllib.parse.urlsplit(raw_path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        segments = [urllib.parse.unquote(s) for s in url.path.split("/")[1:]]
        is_api = segments[:2] == ["calendar", "v3"]
        if is_api:
            with self._lock:
                self._requests.append((method, urllib.parse.unquote(url.path), query))
        if self.down:
            return _Response(0, drop=True)
        try:
            if url.path == "/token" and method == "POST":
                return self._token_endpoint(headers, body)
            if url.path == "/revoke" and method == "POST":
                return self._revoke_endpoint(query, headers, body)
            if is_api:
                return self._api(method, segments[2:], query, headers, body)
            raise _ApiError(404, "notFound", "Not Found")
        except _ApiError as exc:
            return _Response(exc.status, exc.body(), exc.headers)

    # /token ----------------------------------------------------------------------------------

    def _token_endpoint(self, headers: dict[str, str], body: bytes) -> _Response:
        if headers.get("content-type", "").startswith("application/json"):
            try:
                params = {k: str(v) for k, v in json.loads(body or b"{}").items()}
            except (ValueError, AttributeError):
                params = {}
        else:
            params = {
                k: v[-1] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()
            }
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # client_secret_basic
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return _Response(401, {"error": "invalid_client", "error_description": "Unauthorized"})
            params.setdefault("client_id", urllib.parse.unquote_plus(user))
            params.setdefault("client_secret", urllib.parse.unquote_plus(password))
        with self._lock:
            status, answer = self._token_grant(params)
            self._token_grants.append(TokenGrant(params.get("grant_type", ""), params, status))
        return _Response(status, answer, {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"})

    def _token_grant(self, params: dict[str, str]) -> tuple[int, JSON]:
        def error(status: int, code: str, description: str) -> tuple[int, JSON]:
            return status, {"error": code, "error_description": description}

        if self._token_failures:
            status, failure = self._token_failures.pop(0)
            return error(status, failure, "Injected failure")
        grant_type = params.get("grant_type")
        if not grant_type:
            return error(400, "unsupported_grant_type", "Invalid grant_type: ")
        if grant_type not in ("authorization_code", "refresh_token"):
            return error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        client_id = params.get("client_id")
        if not client_id:
            return error(400, "invalid_request", "Could not determine client ID from request.")
        if client_id != self.client_id:
            return error(401, "invalid_client", "The OAuth client was not found.")
        if params.get("client_secret") != self.client_secret:
            return error(401, "invalid_client", "Unauthorized")
        if grant_type == "authorization_code":
            code = params.get("code")
            if not code:
                return error(400, "invalid_request", "Missing required parameter: code")
            if not params.get("redirect_uri"):
                return error(400, "invalid_request", "Missing parameter: redirect_uri")
            found = self._codes.get(code)
            if found is None or found.used:
                return error(400, "invalid_grant", "Malformed auth code." if found is None else "Bad Request")
            if params["redirect_uri"] != found.redirect_uri:
                return error(400, "redirect_uri_mismatch", "Bad Request")
            found.used = True
            refresh = self._new_refresh_token(found.account, found.scope, client_id, found.refresh_token)
            answer: JSON = {
                "access_token": self._new_access_token(refresh),
                "expires_in": self.expires_in,
                "scope": found.scope,
                "token_type": "Bearer",
            }
            if found.issue_refresh_token:
                answer["refresh_token"] = refresh
            return 200, answer
        refresh_token = params.get("refresh_token")
        if not refresh_token:
            return error(400, "invalid_request", "Missing required parameter: refresh_token")
        granted = self._refresh_tokens.get(refresh_token)
        if granted is None or granted.revoked:
            return error(400, "invalid_grant", "Token has been expired or revoked.")
        if granted.client_id != client_id:
            return error(400, "unauthorized_client", "Unauthorized")
        scope = granted.scope
        if params.get("scope"):
            requested = params["scope"].split()
            if not set(requested) <= set(granted.scope.split()):
                return error(400, "invalid_scope", "Some requested scopes were invalid.")
            scope = " ".join(requested)
        return 200, {
            "access_token": self._new_access_token(refresh_token, scope),
            "expires_in": self.expires_in,
            "scope": scope,
            "token_type": "Bearer",
        }

    def _revoke_endpoint(self, query: dict[str, str], headers: dict[str, str], body: bytes) -> _Response:
        params = dict(query)
        params.update({k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()})
        try:
            self.revoke(params.get("token", ""))
        except KeyError:
            return _Response(400, {"error": "invalid_token", "error_description": "Token expired or revoked"})
        return _Response(200, {})

    # Calendar API ----------------------------------------------------------------------------

    def _api(
        self, method: str, path: list[str], query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> _Response:
        with self._lock:
            if self._failures:
                status, reason, message = self._failures.pop(0)
                domain = "usageLimits" if reason in _RATE_LIMIT_REASONS else "global"
                raise _ApiError(
                    status, reason, message or _REASON_MESSAGES.get(reason, reason), domain=domain
                )
        token = self._authenticate(headers)
        route = (method, *path)
        if route == ("GET", "users", "me", "calendarList"):
            return self._calendar_list(token)
        if route == ("POST", "freeBusy"):
            return self._freebusy(token, _json_body(body))
        if route == ("POST", "channels", "stop"):
            return self._stop_channel(token, _json_body(body))
        if len(path) >= 2 and path[0] == "calendars":
            if method == "GET" and len(path) == 2:
                return self._get_calendar(token, path[1])
            if method == "GET" and len(path) == 3 and path[2] == "events":
                return self._list_events(token, path[1], query)
            if method == "POST" and path[2:] == ["events", "watch"]:
                return self._watch(token, path[1], _json_body(body))
            if method == "GET" and len(path) == 4 and path[2] == "events":
                return self._get_event(token, path[1], path[3], query)
        raise _ApiError(404, "notFound", "Not Found")

    def _authenticate(self, headers: dict[str, str]) -> _AccessToken:
        auth = headers.get("authorization", "")
        challenge = 'Bearer realm="https://accounts.google.com/"'
        if not auth.lower().startswith("bearer "):
            raise _ApiError(
                401,
                "required",
                "Request is missing required authentication credential. " + _AUTH_HELP,
                headers={"WWW-Authenticate": challenge},
                extra={"status": "UNAUTHENTICATED"},
            )
        with self._lock:
            found = self._access_tokens.get(auth[7:].strip())
            if found is not None and found.expires_at > self.clock():
                return found
        raise _ApiError(
            401,
            "authError",
            "Request had invalid authentication credentials. " + _AUTH_HELP,
            headers={"WWW-Authenticate": challenge + ', error="invalid_token"'},
            extra={"status": "UNAUTHENTICATED"},
            item={"message": "Invalid Credentials", "location": "Authorization", "locationType": "header"},
        )

    @staticmethod
    def _require_scope(token: _AccessToken, allowed: frozenset[str]) -> None:
        if not set(token.scope.split()) & allowed:
            raise _ApiError(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                extra={"status": "PERMISSION_DENIED"},
                item={"message": "Insufficient Permission"},
            )

    def _visible_calendar(self, token: _AccessToken, calendar_id: str) -> _Calendar:
        """The calendar, resolving "primary"; 404 when it doesn't exist or belongs to another account."""
        if calendar_id == "primary":
            for candidate in self._calendars.values():
                if candidate.primary and candidate.account == token.account:
                    return candidate
        cal = self._calendars.get(calendar_id)
        if cal is None or cal.account != token.account:
            raise _ApiError(404, "notFound", "Not Found")
        return cal

    def _calendar_list(self, token: _AccessToken) -> _Response:
        self._require_scope(token, _CALENDAR_LIST_SCOPES)
        with self._lock:
            items = []
            for cal in self._calendars.values():
                if cal.account != token.account:
                    continue
                item: JSON = {
                    "kind": "calendar#calendarListEntry",
                    "etag": f'"{cal.updated_ms}"',
                    "id": cal.id,
                    "summary": cal.summary,
                    "timeZone": cal.time_zone,
                    "accessRole": "owner",
                    "defaultReminders": [],
                }
                if cal.primary:
                    item["primary"] = True
                items.append(item)
            return _Response(
                200, {"kind": "calendar#calendarList", "etag": f'"p{self._seq}"', "items": items}
            )

    def _get_calendar(self, token: _AccessToken, calendar_id: str) -> _Response:
        self._require_scope(token, _CALENDARS_SCOPES)
        with self._lock:
            cal = self._visible_calendar(token, calendar_id)
            return _Response(
                200,
                {
                    "kind": "calendar#calendar",
                    "etag": f'"{cal.updated_ms}"',
                    "id": cal.id,
                    "summary": cal.summary,
                    "timeZone": cal.time_zone,
                },
            )

    def _get_event(
        self, token: _AccessToken, calendar_id: str, event_id: str, query: dict[str, str]
    ) -> _Response:
        self._require_scope(token, _EVENTS_SCOPES)
        with self._lock:
            cal = self._visible_calendar(token, calendar_id)
            tz = self._response_zone(cal, query)
            stored = cal.events.get(event_id)
            if stored is not None:
                return _Response(200, self._render(stored.data, tz, full=True))
            master = cal.events.get(event_id.rsplit("_", 1)[0])
            instance = self._generated_instance(cal, master, event_id) if master else None
            if instance is None:
                raise _ApiError(404, "notFound", "Not Found")
            return _Response(200, self._render(instance, tz, full=True))

    @staticmethod
    def _response_zone(cal: _Calendar, query: dict[str, str]) -> ZoneInfo:
        try:
            return _zone(query.get("timeZone") or cal.time_zone)
        except ValueError:
            raise _ApiError(400, "timeZoneInvalid", "Invalid time zone definition for response.") from None

    # events.list -----------------------------------------------------------------------------

    def _list_events(self, token: _AccessToken, calendar_id: str, query: dict[str, str]) -> _Response:
        self._require_scope(token, _EVENTS_SCOPES)
        sync_token = query.get("syncToken")
        if sync_token is not None:
            clashing = [p for p in _SYNC_INCOMPATIBLE_ALL if p in query]
            if clashing:
                raise _ApiError(
                    400,
                    "invalid",
                    f"Sync token cannot be combined with {', '.join(clashing)}; "
                    "these parameters are not allowed with syncToken.",
                )
        single = _bool_param(query, "singleEvents")
        show_deleted = _bool_param(query, "showDeleted")
        order_by = query.get("orderBy")
        if order_by not in (None, "startTime", "updated"):
            raise _ApiError(400, "invalidParameter", f"Invalid value '{order_by}'. Values must match ...")
        if order_by == "startTime" and not single:
            raise _ApiError(
                400, "badRequest", "The requested ordering is not available for the particular query."
            )
        try:
            max_results = int(query.get("maxResults", _MAX_RESULTS_DEFAULT))
        except ValueError:
            raise _ApiError(400, "invalidParameter", "Invalid integer value.") from None
        if max_results < 1:
            raise _ApiError(
                400, "invalid", f"Invalid value '{max_results}'. Values must be within the range: [1, 2500]"
            )
        max_results = min(max_results, _MAX_RESULTS_LIMIT)
        time_min = _parse_query_time(query["timeMin"]) if "timeMin" in query else None
        time_max = _parse_query_time(query["timeMax"]) if "timeMax" in query else None
        updated_min = _parse_query_time(query["updatedMin"]) if "updatedMin" in query else None
        if time_min is not None and time_max is not None and time_max <= time_min:
            raise _ApiError(400, "timeRangeEmpty", "The specified time range is empty.")

        with self._lock:
            cal = self._visible_calendar(token, calendar_id)
            tz = self._response_zone(cal, query)
            since_seq: int | None = None
            if sync_token is not None:
                since_seq = self._check_sync_token(cal, sync_token)
            query_key = json.dumps(
                sorted((k, v) for k, v in query.items() if k not in ("pageToken", "maxResults")),
                separators=(",", ":"),
            )
            page_token = query.get("pageToken")
            if page_token is not None:
                cursor = self._cursors.get(page_token)
                if cursor is None or cursor.calendar_id != cal.id or cursor.query_key != query_key:
                    raise _ApiError(400, "invalid", "Invalid page token value.")
                del self._cursors[page_token]
            else:
                rows = self._rows(
                    cal,
                    single=single,
                    show_deleted=show_deleted,
                    since_seq=since_seq,
                    time_min=time_min,
                    time_max=time_max,
                    updated_min=updated_min,
                    q=query.get("q"),
                )
                if order_by == "startTime":
                    rows.sort(key=lambda r: (r.start, r.data["id"]))
                elif order_by == "updated":
                    rows.sort(key=lambda r: (r.data["updated"], r.data["id"]))
                else:
                    rows.sort(key=lambda r: r.order)
                issues_sync_token = not any(p in query for p in (*_SYNC_INCOMPATIBLE, "updatedMin"))
                cursor = _Cursor(
                    calendar_id=cal.id,
                    query_key=query_key,
                    items=[self._render(r.data, tz, full=not r.cancelled) for r in rows],
                    offset=0,
                    next_sync_token=self._sync_token(cal) if issues_sync_token else None,
                )
            page = cursor.items[cursor.offset : cursor.offset + max_results]
            answer: JSON = {
                "kind": "calendar#events",
                "etag": f'"p{self._seq}"',
                "summary": cal.summary,
                "updated": _fmt_ms(cal.updated_ms),
                "timeZone": cal.time_zone,
                "accessRole": "owner",
                "defaultReminders": [],
            }
            if cursor.offset + max_results < len(cursor.items):
                next_token = secrets.token_urlsafe(18)
                cursor.offset += max_results
                self._cursors[next_token] = cursor
                answer["nextPageToken"] = next_token
            elif cursor.next_sync_token is not None:
                answer["nextSyncToken"] = cursor.next_sync_token
            answer["items"] = page
            return _Response(200, answer)

    def _sync_token(self, cal: _Calendar) -> str:
        return _b64({"c": cal.id, "e": cal.sync_epoch, "s": self._seq})

    def _check_sync_token(self, cal: _Calendar, token: str) -> int:
        try:
            data = _unb64(token)
            seq = int(data["s"])
            valid = data["c"] == cal.id and data["e"] == cal.sync_epoch
        except (ValueError, KeyError, TypeError):
            valid, seq = False, 0
        if not valid:
            raise _ApiError(
                410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
            )
        return seq

    def _rows(
        self,
        cal: _Calendar,
        *,
        single: bool,
        show_deleted: bool,
        since_seq: int | None,
        time_min: datetime | None,
        time_max: datetime | None,
        updated_min: datetime | None,
        q: str | None,
    ) -> list[_Row]:
        limit = time_max or (datetime.fromtimestamp(self.clock(), UTC) + _RECURRENCE_HORIZON)
        rows: list[_Row] = []
        for stored in sorted(cal.events.values(), key=lambda s: s.order):
            data = stored.data
            master_id = data.get("recurringEventId")
            if master_id is not None:
                if single:
                    continue  # listed within its series
                master = cal.events.get(master_id)
                live = master is not None and master.data["status"] != "cancelled"
                rows.append(
                    self._row(cal, data, stored.seq, (stored.order, 0.0), exception_of_live_series=live)
                )
            elif data.get("recurrence") and single:
                if data["status"] == "cancelled" and self.deleted_series_style == "master":
                    rows.append(self._row(cal, data, stored.seq, (stored.order, 0.0)))
                else:
                    rows.extend(self._series_rows(cal, stored, limit))
            elif data.get("recurrence"):
                row = self._row(cal, data, stored.seq, (stored.order, 0.0))
                row.spans = [span for _, span in self._series_spans(cal, data, limit)]
                rows.append(row)
            else:
                rows.append(self._row(cal, data, stored.seq, (stored.order, 0.0)))

        def keep(row: _Row) -> bool:
            if since_seq is not None:
                return row.seq > since_seq
            updated_recently = (
                updated_min is not None and datetime.fromisoformat(row.data["updated"]) >= updated_min
            )
            if updated_min is not None and not updated_recently:
                return False
            if row.cancelled and not (show_deleted or updated_recently or row.exception_of_live_series):
                return False
            if (time_min is not None or time_max is not None) and not any(
                (time_min is None or end > time_min) and (time_max is None or start < time_max)
                for start, end in row.spans
            ):
                return False
            return not q or _matches(row.data, q)

        return [row for row in rows if keep(row)]

    def _row(
        self,
        cal: _Calendar,
        data: JSON,
        seq: int,
        order: tuple[int, float],
        *,
        exception_of_live_series: bool = False,
    ) -> _Row:
        spans: list[tuple[datetime, datetime]] = []
        if "start" in data and "end" in data:
            spans = [(_when(data["start"], cal.time_zone).instant, _when(data["end"], cal.time_zone).instant)]
        elif "originalStartTime" in data:
            moment = _when(data["originalStartTime"], cal.time_zone).instant
            spans = [(moment, moment)]
        cancelled = data["status"] == "cancelled"
        return _Row(data, seq, order, cancelled, exception_of_live_series and cancelled, spans)

    def _series_spans(
        self, cal: _Calendar, master: JSON, limit: datetime
    ) -> list[tuple[datetime | date, tuple[datetime, datetime]]]:
        start = _when(master["start"], cal.time_zone)
        end = _when(master["end"], cal.time_zone)
        rule = _parse_recurrence(master["recurrence"])
        assert rule is not None
        duration = end.instant - start.instant
        out = []
        for occurrence in _occurrences(start, rule, limit):
            if isinstance(occurrence, datetime):
                begin = occurrence
            else:
                begin = datetime.combine(occurrence, dtime(), start.instant.tzinfo)
            out.append((occurrence, (begin, begin + duration)))
        return out

    def _generated_instances(self, cal: _Calendar, master: JSON, limit: datetime) -> list[JSON]:
        start = _when(master["start"], cal.time_zone)
        end = _when(master["end"], cal.time_zone)
        tz = _zone(start.tz)
        instances = []
        for occurrence, (begin, finish) in self._series_spans(cal, master, limit):
            instance = {k: copy.deepcopy(v) for k, v in master.items() if k not in ("recurrence", "id")}
            instance["id"] = f"{master['id']}_{_stamp(occurrence)}"
            instance["recurringEventId"] = master["id"]
            if isinstance(occurrence, datetime):
                end_tz = master["end"].get("timeZone") or start.tz
                instance["originalStartTime"] = {"dateTime": _fmt_instant(begin, tz), "timeZone": start.tz}
                instance["start"] = {"dateTime": _fmt_instant(begin, tz), "timeZone": start.tz}
                instance["end"] = {"dateTime": _fmt_instant(finish, _zone(end_tz)), "timeZone": end_tz}
            else:
                days = cast(date, end.day) - cast(date, start.day)
                instance["originalStartTime"] = {"date": occurrence.isoformat()}
                instance["start"] = {"date": occurrence.isoformat()}
                instance["end"] = {"date": (occurrence + days).isoformat()}
            instances.append(instance)
        return instances

    def _generated_instance(self, cal: _Calendar, master: _Stored, instance_id: str) -> JSON | None:
        if not master.data.get("recurrence") or "start" not in master.data:
            return None
        stamp = instance_id.rsplit("_", 1)[-1]
        try:
            moment = _parse_ical_value(stamp, None, _zone(cal.time_zone))
        except ValueError:
            return None
        if isinstance(moment, date) and not isinstance(moment, datetime):
            moment = datetime.combine(moment, dtime.max, _zone(cal.time_zone))
        for instance in self._generated_instances(cal, master.data, moment + timedelta(seconds=1)):
            if instance["id"] == instance_id:
                return instance
        return None

    def _series_rows(self, cal: _Calendar, master: _Stored, limit: datetime) -> list[_Row]:
        overrides = {
            s.data["id"]: s
            for s in cal.events.values()
            if s.data.get("recurringEventId") == master.data["id"]
        }
        master_cancelled = master.data["status"] == "cancelled"
        rows = []
        for instance in self._generated_instances(cal, master.data, limit):
            override = overrides.pop(instance["id"], None)
            data = override.data if override is not None else instance
            seq = max(master.seq, override.seq if override is not None else 0)
            if master_cancelled and data["status"] != "cancelled":
                data = {**data, "status": "cancelled"}
            row = self._row(cal, data, seq, (master.order, 0.0))
            rows.append(row)
        for override in overrides.values():  # exceptions whose original slot is past the expansion limit
            data = override.data
            if master_cancelled:
                data = {**data, "status": "cancelled"}
            rows.append(self._row(cal, data, max(master.seq, override.seq), (master.order, 0.0)))
        for row in rows:
            row.order = (master.order, row.start.timestamp())
        return rows

    def _render(self, data: JSON, tz: ZoneInfo, *, full: bool) -> JSON:
        """An event as the API sends it; full=False gives the stub Google sends for deleted events."""
        if not full:
            minimal: JSON = {
                "kind": "calendar#event",
                "etag": data.get("etag"),
                "id": data["id"],
                "status": "cancelled",
            }
            for key in ("recurringEventId", "originalStartTime"):
                if key in data:
                    minimal[key] = self._render_time(data[key], tz)
            return minimal
        out = copy.deepcopy(data)
        if out.get("transparency") == "opaque":
            del out["transparency"]
        for key in ("start", "end", "originalStartTime"):
            if key in out:
                out[key] = self._render_time(out[key], tz)
        return out

    @staticmethod
    def _render_time(part: Any, tz: ZoneInfo) -> Any:
        if not isinstance(part, dict) or "dateTime" not in part:
            return copy.deepcopy(part)
        parsed = datetime.fromisoformat(part["dateTime"])
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_zone(part.get("timeZone") or "UTC"))
        return {**part, "dateTime": _fmt_instant(parsed, tz)}

    # events.watch / channels.stop ------------------------------------------------------------

    def _watch(self, token: _AccessToken, calendar_id: str, body: JSON) -> _Response:
        self._require_scope(token, _EVENTS_SCOPES)
        channel_id = body.get("id")
        address = body.get("address")
        if not channel_id:
            raise _ApiError(400, "required", "Required")
        if body.get("type") not in ("web_hook", "webhook"):
            raise _ApiError(400, "invalidChannelType", f"Unknown channel type: {body.get('type')!r}")
        if not address:
            raise _ApiError(400, "required", "WebHook callback address is required.")
        with self._lock:
            cal = self._visible_calendar(token, calendar_id)
            if channel_id in self._channels:
                raise _ApiError(400, "channelIdNotUnique", f"Channel id {channel_id} not unique")
            params = {str(k): str(v) for k, v in (body.get("params") or {}).items()}
            now_ms = int(self.clock() * 1000)
            ttl = int(params["ttl"]) if "ttl" in params else self.channel_ttl_seconds
            expiration = now_ms + ttl * 1000
            if body.get("expiration"):
                expiration = min(expiration, int(body["expiration"]))
            channel = Channel(
                id=channel_id,
                resource_id=cal.resource_id,
                resource_uri=f"{self.calendar_endpoint}calendars/{urllib.parse.quote(calendar_id, safe='@')}"
                "/events?alt=json",
                calendar_id=cal.id,
                address=address,
                token=body.get("token"),
                expiration_ms=expiration,
                params=params,
            )
            self._channels[channel_id] = channel
        answer: JSON = {
            "kind": "api#channel",
            "id": channel.id,
            "resourceId": channel.resource_id,
            "resourceUri": channel.resource_uri,
            "expiration": str(channel.expiration_ms),
        }
        if channel.token is not None:
            answer["token"] = channel.token

        def send_sync() -> None:
            self._deliver(channel, "sync")

        return _Response(200, answer, after=send_sync if self.send_sync_on_watch else None)

    def _stop_channel(self, token: _AccessToken, body: JSON) -> _Response:
        self._require_scope(token, _ANY_CALENDAR_SCOPE)
        channel_id = str(body.get("id", ""))
        with self._lock:
            channel = self._channels.get(channel_id)
            if (
                channel is None
                or channel.stopped
                or channel.resource_id != body.get("resourceId")
                or channel.expiration_ms <= int(self.clock() * 1000)
            ):
                raise _ApiError(
                    404, "notFound", f"Channel '{channel_id}' not found for project '000000000000'"
                )
            channel.stopped = True
            self._stopped.append(copy.copy(channel))
        return _Response(204)

    # freeBusy --------------------------------------------------------------------------------

    def _freebusy(self, token: _AccessToken, body: JSON) -> _Response:
        self._require_scope(token, _FREEBUSY_SCOPES)
        if "timeMin" not in body:
            raise _ApiError(400, "required", "Missing timeMin parameter.")
        if "timeMax" not in body:
            raise _ApiError(400, "required", "Missing timeMax parameter.")
        time_min = _parse_query_time(str(body["timeMin"]))
        time_max = _parse_query_time(str(body["timeMax"]))
        if time_max <= time_min:
            raise _ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        try:
            tz = _zone(body.get("timeZone") or "UTC")
        except ValueError:
            raise _ApiError(400, "invalid", "Invalid time zone.") from None
        calendars: JSON = {}
        with self._lock:
            for item in body.get("items") or []:
                requested = str(item.get("id", ""))
                try:
                    cal = self._visible_calendar(token, requested)
                except _ApiError:
                    calendars[requested] = {
                        "errors": [{"domain": "global", "reason": "notFound"}],
                        "busy": [],
                    }
                    continue
                if cal.freebusy_failure is not None:
                    calendars[requested] = {
                        "errors": [{"domain": "global", "reason": cal.freebusy_failure}],
                        "busy": [],
                    }
                    continue
                busy = self._busy(cal, time_min, time_max)
                calendars[requested] = {
                    "busy": [{"start": _fmt_instant(s, tz), "end": _fmt_instant(e, tz)} for s, e in busy]
                }
        return _Response(
            200,
            {
                "kind": "calendar#freeBusy",
                "timeMin": _fmt_instant(time_min, UTC).replace("Z", ".000Z"),
                "timeMax": _fmt_instant(time_max, UTC).replace("Z", ".000Z"),
                "calendars": calendars,
            },
        )

    def _busy(
        self, cal: _Calendar, time_min: datetime, time_max: datetime
    ) -> list[tuple[datetime, datetime]]:
        rows = self._rows(
            cal,
            single=True,
            show_deleted=False,
            since_seq=None,
            time_min=time_min,
            time_max=time_max,
            updated_min=None,
            q=None,
        )
        spans = []
        for row in rows:
            if row.cancelled or row.data.get("transparency") == "transparent" or _declined(row.data):
                continue
            for start, end in row.spans:
                start, end = max(start, time_min), min(end, time_max)
                if start < end:
                    spans.append((start, end))
        merged: list[tuple[datetime, datetime]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


def _json_body(body: bytes) -> JSON:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise _ApiError(400, "parseError", "Parse Error") from None
    if not isinstance(data, dict):
        raise _ApiError(400, "parseError", "Parse Error")
    return data


def _declined(event: JSON) -> bool:
    return any(a.get("self") and a.get("responseStatus") == "declined" for a in event.get("attendees") or [])


def _matches(event: JSON, q: str) -> bool:
    people = [*(event.get("attendees") or []), event.get("organizer") or {}]
    haystack = " ".join(
        [
            str(event.get("summary", "")),
            str(event.get("description", "")),
            str(event.get("location", "")),
            *(str(p.get("email", "")) + " " + str(p.get("displayName", "")) for p in people),
        ]
    ).lower()
    return all(term in haystack for term in q.lower().split())
