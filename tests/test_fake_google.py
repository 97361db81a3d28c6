"""FakeGoogle answers the real google-auth and google-api-python-client as Google does."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tests.fake_google import CALENDAR_SCOPE, FakeGoogle

ALICE = "alice@example.com"
REDIRECT_URI = "http://127.0.0.1:8000/oauth/google/callback"


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeGoogle(account=ALICE) as fake:
        fake.add_calendar(ALICE, "Alice", time_zone="Europe/Berlin", primary=True)
        yield fake


def credentials(google: FakeGoogle, scope: str = CALENDAR_SCOPE, **extra: Any) -> Credentials:
    access, refresh = google.issue_tokens(scope=scope)
    return Credentials(
        token=extra.pop("token", access),
        refresh_token=refresh,
        token_uri=google.token_uri,
        client_id=google.client_id,
        client_secret=google.client_secret,
        **extra,
    )


def calendar_api(google: FakeGoogle, creds: Credentials) -> Any:
    return build(
        "calendar",
        "v3",
        credentials=creds,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": google.calendar_endpoint},
    )


def no_sleep(request: Any) -> Any:
    """googleapiclient sleeps rand() * 2**n seconds between retries; tests don't need to wait."""
    request._sleep = lambda _seconds: None
    return request


def post_form(url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def all_pages(api: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of events.list, following nextPageToken with the client's own list_next."""
    pages = []
    request = api.events().list(**params)
    while request is not None:
        page = request.execute()
        pages.append(page)
        request = api.events().list_next(request, page)
    return pages


def ids(pages: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for page in pages for item in page["items"]]


def timed(event_id: str, start: str, end: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": event_id,
        "start": {"dateTime": start},
        "end": {"dateTime": end},
        **fields,
    }


# -- OAuth ------------------------------------------------------------------------------------


def test_code_exchange_and_token_errors(google: FakeGoogle) -> None:
    google.add_auth_code("4/code-1", REDIRECT_URI)
    form = {
        "grant_type": "authorization_code",
        "code": "4/code-1",
        "redirect_uri": REDIRECT_URI,
        "client_id": google.client_id,
        "client_secret": google.client_secret,
    }
    status, body = post_form(google.token_uri, form)
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "https://www.googleapis.com/auth/calendar.readonly"
    assert body["access_token"] and body["refresh_token"]

    assert post_form(google.token_uri, form) == (
        400,
        {"error": "invalid_grant", "error_description": "Bad Request"},
    )
    google.add_auth_code("4/code-2", REDIRECT_URI)
    status, body = post_form(google.token_uri, {**form, "code": "4/code-2", "redirect_uri": "http://evil/cb"})
    assert (status, body["error"]) == (400, "redirect_uri_mismatch")
    status, body = post_form(google.token_uri, {**form, "code": "4/code-2", "client_secret": "wrong"})
    assert (status, body["error"]) == (401, "invalid_client")
    status, body = post_form(google.token_uri, {**form, "code": "never-issued"})
    assert (status, body["error"]) == (400, "invalid_grant")
    assert google.token_requests == 5

    # The exchanged tokens work with the real client.
    _, body = post_form(google.token_uri, {**form, "code": "4/code-2"})
    creds = Credentials(
        token=body["access_token"],
        refresh_token=body["refresh_token"],
        token_uri=google.token_uri,
        client_id=google.client_id,
        client_secret=google.client_secret,
    )
    assert calendar_api(google, creds).calendarList().list().execute()["items"][0]["id"] == ALICE


def test_missing_or_bad_bearer_token_gets_googles_401(google: FakeGoogle) -> None:
    url = google.calendar_endpoint + "users/me/calendarList"
    for headers in ({}, {"Authorization": "Bearer nope"}):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5)
        assert caught.value.code == 401
        assert caught.value.headers["WWW-Authenticate"].startswith(
            'Bearer realm="https://accounts.google.com/"'
        )
        error = json.loads(caught.value.read())["error"]
        assert error["code"] == 401 and error["status"] == "UNAUTHENTICATED"
        assert error["errors"][0]["reason"] in ("required", "authError")


def test_token_rejected_by_the_server_is_refreshed_on_401(google: FakeGoogle) -> None:
    creds = credentials(google, scopes=[CALENDAR_SCOPE])
    api = calendar_api(google, creds)
    old_token = creds.token
    google.expire_access_tokens()  # the client still believes its token is valid

    assert api.calendarList().list().execute()["items"]
    assert google.token_requests == 1
    assert creds.token != old_token and google.is_valid_access_token(str(creds.token))
    assert [path for _, path, _ in google.requests] == [
        "/calendar/v3/users/me/calendarList"
    ] * 2  # 401, then 200
    assert google.token_grants[0].grant_type == "refresh_token"
    assert google.token_grants[0].params["scope"] == CALENDAR_SCOPE


def test_token_the_client_knows_is_expired_is_refreshed_before_the_request(google: FakeGoogle) -> None:
    google.expires_in = 60  # below google-auth's 3m45s refresh threshold: every use refreshes
    creds = credentials(google, expiry=datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1))
    api = calendar_api(google, creds)

    api.calendarList().list().execute()
    assert google.token_requests == 1
    assert len(google.requests) == 1  # no 401 round trip
    api.calendarList().list().execute()
    assert google.token_requests == 2


def test_revoked_refresh_token_raises_refresh_error(google: FakeGoogle) -> None:
    creds = credentials(google)
    api = calendar_api(google, creds)
    google.revoke(creds.refresh_token)  # also kills the access tokens minted from it

    with pytest.raises(RefreshError) as caught:
        api.calendarList().list().execute()
    assert "invalid_grant" in str(caught.value)


def test_revoke_endpoint(google: FakeGoogle) -> None:
    access, refresh = google.issue_tokens()
    assert post_form(google.revoke_uri, {"token": refresh}) == (200, {})
    assert not google.is_valid_access_token(access)
    status, body = post_form(
        google.token_uri,
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": google.client_id,
            "client_secret": google.client_secret,
        },
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    assert post_form(google.revoke_uri, {"token": refresh})[0] == 200  # revoking twice is harmless
    assert post_form(google.revoke_uri, {"token": "never-issued"})[0] == 400


# -- calendars and events ---------------------------------------------------------------------


def test_calendar_list_shows_the_accounts_calendars(google: FakeGoogle) -> None:
    google.add_calendar("team@group.calendar.google.com", "Team", time_zone="America/New_York")
    google.add_calendar("bob@example.com", "Bob", primary=True, account="bob@example.com")

    answer = calendar_api(google, credentials(google)).calendarList().list().execute()

    assert answer["kind"] == "calendar#calendarList"
    assert [
        (c["id"], c["summary"], c["timeZone"], c.get("primary", False), c["accessRole"])
        for c in answer["items"]
    ] == [
        (ALICE, "Alice", "Europe/Berlin", True, "owner"),
        ("team@group.calendar.google.com", "Team", "America/New_York", False, "owner"),
    ]


def test_full_sync_pages_then_incremental_sync(google: FakeGoogle) -> None:
    for day in range(1, 6):
        google.put_event(ALICE, timed(f"ev{day}", f"2024-05-0{day}T09:00:00Z", f"2024-05-0{day}T10:00:00Z"))
    api = calendar_api(google, credentials(google))

    pages = all_pages(api, calendarId=ALICE, singleEvents=True, maxResults=2)
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert ["nextPageToken" in p for p in pages] == [True, True, False]
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    assert ids(pages) == ["ev1", "ev2", "ev3", "ev4", "ev5"]
    first = pages[0]
    assert (first["kind"], first["summary"], first["timeZone"]) == (
        "calendar#events",
        "Alice",
        "Europe/Berlin",
    )
    assert first["items"][0]["start"] == {"dateTime": "2024-05-01T11:00:00+02:00"}  # in the calendar's zone
    assert "transparency" not in first["items"][0]  # opaque is Google's default and is left out
    assert google.requests[0][1] == "/calendar/v3/calendars/alice@example.com/events"
    assert google.requests[0][2]["singleEvents"] == "true"
    sync_token = pages[-1]["nextSyncToken"]

    google.put_event(ALICE, timed("ev1", "2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z", summary="moved"))
    google.delete_event(ALICE, "ev2")
    google.put_event(ALICE, timed("ev6", "2024-05-06T09:00:00Z", "2024-05-06T10:00:00Z"))

    pages = all_pages(api, calendarId=ALICE, singleEvents=True, maxResults=2, syncToken=sync_token)
    changed = {item["id"]: item for page in pages for item in page["items"]}
    assert sorted(changed) == ["ev1", "ev2", "ev6"]
    assert changed["ev1"]["summary"] == "moved"
    assert changed["ev2"]["status"] == "cancelled"
    assert set(changed["ev2"]) == {"kind", "etag", "id", "status"}  # Google sends only a stub for deletions
    assert all(q.get("syncToken") == sync_token for _, _, q in google.requests[-len(pages) :])

    again = all_pages(api, calendarId=ALICE, singleEvents=True, syncToken=pages[-1]["nextSyncToken"])
    assert ids(again) == [] and again[-1]["nextSyncToken"]

    # A full sync doesn't show deleted events unless asked to.
    assert "ev2" not in ids(all_pages(api, calendarId=ALICE, singleEvents=True))
    assert "ev2" in ids(all_pages(api, calendarId=ALICE, singleEvents=True, showDeleted=True))


def test_sync_token_rules_and_410_after_expiry(google: FakeGoogle) -> None:
    google.put_event(ALICE, timed("ev1", "2024-05-01T09:00:00Z", "2024-05-01T10:00:00Z"))
    api = calendar_api(google, credentials(google))
    token = all_pages(api, calendarId=ALICE, timeMin="2024-01-01T00:00:00Z")[-1]["nextSyncToken"]

    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId=ALICE, syncToken=token, timeMin="2024-01-01T00:00:00Z").execute()
    assert caught.value.resp.status == 400
    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId=ALICE, orderBy="startTime").execute()  # needs singleEvents
    assert caught.value.resp.status == 400
    assert (
        "nextSyncToken"
        not in api.events().list(calendarId=ALICE, singleEvents=True, orderBy="startTime").execute()
    )

    google.expire_sync_tokens(ALICE)
    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId=ALICE, syncToken=token).execute()
    assert caught.value.resp.status == 410
    assert caught.value.reason == "Sync token is no longer valid, a full sync is required."
    assert caught.value.error_details == [
        {
            "domain": "global",
            "reason": "fullSyncRequired",
            "message": "Sync token is no longer valid, a full sync is required.",
        }
    ]
    fresh = all_pages(api, calendarId=ALICE)[-1]["nextSyncToken"]
    assert api.events().list(calendarId=ALICE, syncToken=fresh).execute()["items"] == []


def test_recurring_events_expand_into_instances(google: FakeGoogle) -> None:
    # Daily at 09:00 Berlin across the switch to summer time on 2024-03-31.
    google.put_event(
        ALICE,
        {
            "id": "daily",
            "summary": "Stand-up",
            "start": {"dateTime": "2024-03-30T09:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2024-03-30T09:15:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        },
    )
    google.put_event(
        ALICE,
        {
            "id": "weekly",
            "start": {"dateTime": "2024-04-01T10:00:00Z", "timeZone": "UTC"},
            "end": {"dateTime": "2024-04-01T11:00:00Z", "timeZone": "UTC"},
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240417T000000Z"],
        },
    )
    api = calendar_api(google, credentials(google))

    daily = (
        api.events().list(calendarId=ALICE, singleEvents=True, orderBy="startTime", q="stand-up").execute()
    )
    assert [(i["id"], i["recurringEventId"], i["start"]["dateTime"]) for i in daily["items"]] == [
        ("daily_20240330T080000Z", "daily", "2024-03-30T09:00:00+01:00"),
        ("daily_20240331T070000Z", "daily", "2024-03-31T09:00:00+02:00"),
        ("daily_20240401T070000Z", "daily", "2024-04-01T09:00:00+02:00"),
    ]
    assert "recurrence" not in daily["items"][0]

    masters = api.events().list(calendarId=ALICE).execute()["items"]
    assert [(m["id"], m["recurrence"]) for m in masters] == [
        ("daily", ["RRULE:FREQ=DAILY;COUNT=3"]),
        ("weekly", ["RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20240417T000000Z"]),
    ]

    window = {"timeMin": "2024-04-05T00:00:00Z", "timeMax": "2024-04-12T00:00:00Z", "timeZone": "UTC"}
    listed = api.events().list(calendarId=ALICE, singleEvents=True, **window).execute()
    assert [i["start"]["dateTime"] for i in listed["items"]] == [
        "2024-04-08T10:00:00Z",
        "2024-04-10T10:00:00Z",
    ]
    token = all_pages(api, calendarId=ALICE, singleEvents=True)[-1]["nextSyncToken"]

    google.delete_event(ALICE, "weekly_20240408T100000Z")  # one occurrence

    changes = api.events().list(calendarId=ALICE, singleEvents=True, syncToken=token).execute()["items"]
    assert changes == [
        {
            "kind": "calendar#event",
            "etag": changes[0]["etag"],
            "id": "weekly_20240408T100000Z",
            "status": "cancelled",
            "recurringEventId": "weekly",
            "originalStartTime": {"dateTime": "2024-04-08T12:00:00+02:00", "timeZone": "UTC"},
        }
    ]
    listed = api.events().list(calendarId=ALICE, singleEvents=True, **window).execute()
    assert [i["id"] for i in listed["items"]] == ["weekly_20240410T100000Z"]


@pytest.mark.parametrize("style", ["instances", "master"])
def test_deleting_a_series_shows_in_incremental_sync(
    google: FakeGoogle, style: Literal["instances", "master"]
) -> None:
    google.deleted_series_style = style
    google.put_event(
        ALICE,
        {
            "id": "series",
            "start": {"date": "2024-05-01"},
            "end": {"date": "2024-05-02"},
            "recurrence": ["RRULE:FREQ=DAILY;UNTIL=20240503"],
        },
    )
    api = calendar_api(google, credentials(google))
    pages = all_pages(api, calendarId=ALICE, singleEvents=True)
    assert ids(pages) == ["series_20240501", "series_20240502", "series_20240503"]

    google.delete_event(ALICE, "series")
    changes = all_pages(api, calendarId=ALICE, singleEvents=True, syncToken=pages[-1]["nextSyncToken"])
    assert {i["status"] for p in changes for i in p["items"]} == {"cancelled"}
    expected = ["series"] if style == "master" else ["series_20240501", "series_20240502", "series_20240503"]
    assert ids(changes) == expected
    assert ids(all_pages(api, calendarId=ALICE, singleEvents=True)) == []


def test_calendar_ids_are_percent_encoded_in_paths(google: FakeGoogle) -> None:
    odd = "c_a+b/c#d@group.calendar.google.com"
    google.add_calendar(odd, "Odd")
    google.put_event(odd, timed("x1", "2024-05-01T09:00:00Z", "2024-05-01T10:00:00Z"))
    api = calendar_api(google, credentials(google))

    assert ids([api.events().list(calendarId=odd).execute()]) == ["x1"]
    assert google.requests[-1][1] == "/calendar/v3/calendars/c_a+b/c#d@group.calendar.google.com/events"
    assert api.events().list(calendarId="primary").execute()["summary"] == "Alice"


# -- faults -----------------------------------------------------------------------------------


def test_execute_retries_through_backend_errors_and_rate_limits(google: FakeGoogle) -> None:
    api = calendar_api(google, credentials(google))

    google.fail_next(2, 503, "backendError")
    assert no_sleep(api.calendarList().list()).execute(num_retries=3)["items"]
    assert len(google.requests) == 3

    google.fail_next(1, 403, "rateLimitExceeded")
    assert no_sleep(api.calendarList().list()).execute(num_retries=3)["items"]
    google.fail_next(1, 429, "rateLimitExceeded")
    assert no_sleep(api.calendarList().list()).execute(num_retries=3)["items"]
    assert len(google.requests) == 7

    google.fail_next(1, 403, "rateLimitExceeded")
    with pytest.raises(HttpError) as caught:
        api.calendarList().list().execute()  # no retries asked for
    assert caught.value.resp.status == 403
    assert caught.value.reason == "Rate Limit Exceeded"
    assert caught.value.error_details[0]["domain"] == "usageLimits"
    assert caught.value.error_details[0]["reason"] == "rateLimitExceeded"


def test_insufficient_scope_is_a_403_the_client_does_not_retry(google: FakeGoogle) -> None:
    api = calendar_api(google, credentials(google, scope="openid email"))
    with pytest.raises(HttpError) as caught:
        no_sleep(api.events().list(calendarId=ALICE)).execute(num_retries=3)
    assert caught.value.resp.status == 403
    assert caught.value.error_details[0]["reason"] == "insufficientPermissions"
    assert len(google.requests) == 1


def test_down_closes_connections_without_a_response(google: FakeGoogle) -> None:
    api = calendar_api(google, credentials(google))
    google.down = True
    with pytest.raises(ConnectionError):
        no_sleep(api.calendarList().list()).execute(num_retries=1)
    assert len(google.requests) >= 2  # each attempt reached the server and was cut off
    google.down = False
    assert api.calendarList().list().execute()["items"]


# -- push notifications -----------------------------------------------------------------------


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records the notifications it gets."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.condition:
                    receiver.received.append((self.path, dict(self.headers.items()), body))
                    receiver.condition.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def wait_for(self, count: int) -> list[tuple[str, dict[str, str], bytes]]:
        with self.condition:
            assert self.condition.wait_for(lambda: len(self.received) >= count, timeout=5)
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_watch_sends_sync_then_notify_sends_exists_until_stopped(
    google: FakeGoogle, receiver: Receiver
) -> None:
    api = calendar_api(google, credentials(google))
    before_ms = int(datetime.now(UTC).timestamp() * 1000)
    channel = (
        api.events()
        .watch(
            calendarId="primary",
            body={
                "id": "chan-1",
                "type": "web_hook",
                "address": receiver.url + "/hooks/google",
                "token": "secret",
            },
        )
        .execute()
    )
    assert channel["kind"] == "api#channel"
    assert (channel["id"], channel["token"]) == ("chan-1", "secret")
    week_ms = 7 * 24 * 3600 * 1000
    assert before_ms + week_ms <= int(channel["expiration"]) <= before_ms + week_ms + 60_000

    path, headers, body = receiver.wait_for(1)[0]
    assert (path, body) == ("/hooks/google", b"")
    assert headers["X-Goog-Channel-ID"] == "chan-1"
    assert headers["X-Goog-Channel-Token"] == "secret"
    assert headers["X-Goog-Resource-ID"] == channel["resourceId"]
    assert headers["X-Goog-Resource-URI"] == channel["resourceUri"]
    assert headers["X-Goog-Resource-State"] == "sync"
    assert headers["X-Goog-Message-Number"] == "1"
    expires = parsedate_to_datetime(headers["X-Goog-Channel-Expiration"])
    assert int(expires.timestamp()) == int(channel["expiration"]) // 1000

    assert google.notify(ALICE) == [200]
    _, headers, _ = receiver.wait_for(2)[1]
    assert (headers["X-Goog-Resource-State"], headers["X-Goog-Message-Number"]) == ("exists", "2")
    assert [c.id for c in google.channels] == ["chan-1"]

    # Same calendar, same resourceId, for every channel.
    google.channel_ttl_seconds = 60
    second = api.events().watch(
        calendarId=ALICE, body={"id": "chan-2", "type": "web_hook", "address": receiver.url}
    )
    second = second.execute()
    assert second["resourceId"] == channel["resourceId"]
    assert int(second["expiration"]) <= before_ms + 120_000
    google.wait_for_deliveries(3)

    api.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}).execute()
    assert [c.id for c in google.stopped_channels] == ["chan-1"]
    with pytest.raises(HttpError) as caught:  # a stopped channel is gone
        api.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}).execute()
    assert caught.value.resp.status == 404
    assert google.notify(ALICE) == [200]  # only chan-2 is left
    assert receiver.wait_for(4)[3][1]["X-Goog-Channel-ID"] == "chan-2"


def test_expired_channels_get_no_notifications(google: FakeGoogle, receiver: Receiver) -> None:
    api = calendar_api(google, credentials(google))
    google.send_sync_on_watch = False
    body = {"id": "c", "type": "web_hook", "address": receiver.url, "params": {"ttl": "3600"}}
    channel = api.events().watch(calendarId=ALICE, body=body).execute()
    assert google.notify(ALICE) == [200]

    real_clock = google.clock
    google.clock = lambda: real_clock() + 3601
    assert google.notify(ALICE) == []
    assert google.deliveries[0].state == "exists"  # no "sync" was sent this time
    google.clock = real_clock
    with pytest.raises(HttpError) as caught:  # re-using the channel id is refused
        api.events().watch(calendarId=ALICE, body=body).execute()
    assert caught.value.resp.status == 400
    assert channel["resourceId"] == google.channels[0].resource_id


# -- freeBusy ---------------------------------------------------------------------------------


def test_freebusy_merges_busy_time_and_reports_errors_per_calendar(google: FakeGoogle) -> None:
    google.add_calendar("room@group.calendar.google.com", "Room")
    google.put_event(ALICE, timed("a", "2024-05-01T09:00:00Z", "2024-05-01T10:00:00Z"))
    google.put_event(ALICE, timed("b", "2024-05-01T09:30:00Z", "2024-05-01T10:30:00Z"))
    google.put_event(
        ALICE, timed("free", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z", transparency="transparent")
    )
    google.put_event(
        ALICE,
        timed(
            "declined",
            "2024-05-01T13:00:00Z",
            "2024-05-01T14:00:00Z",
            attendees=[{"email": ALICE, "self": True, "responseStatus": "declined"}],
        ),
    )
    google.put_event(ALICE, timed("gone", "2024-05-01T15:00:00Z", "2024-05-01T16:00:00Z"))
    google.delete_event(ALICE, "gone")
    google.put_event(
        ALICE,
        {
            "id": "nightly",
            "start": {"dateTime": "2024-04-30T23:00:00Z", "timeZone": "UTC"},
            "end": {"dateTime": "2024-05-01T01:00:00Z", "timeZone": "UTC"},
            "recurrence": ["RRULE:FREQ=DAILY"],
        },
    )
    google.fail_freebusy("room@group.calendar.google.com")
    api = calendar_api(google, credentials(google))

    answer = (
        api.freebusy()
        .query(
            body={
                "timeMin": "2024-05-01T00:00:00Z",
                "timeMax": "2024-05-02T00:00:00Z",
                "items": [
                    {"id": ALICE},
                    {"id": "room@group.calendar.google.com"},
                    {"id": "nobody@example.com"},
                ],
            }
        )
        .execute()
    )

    assert answer["kind"] == "calendar#freeBusy"
    assert answer["calendars"] == {
        ALICE: {
            "busy": [
                {"start": "2024-05-01T00:00:00Z", "end": "2024-05-01T01:00:00Z"},
                {"start": "2024-05-01T09:00:00Z", "end": "2024-05-01T10:30:00Z"},
                {"start": "2024-05-01T23:00:00Z", "end": "2024-05-02T00:00:00Z"},
            ]
        },
        "room@group.calendar.google.com": {
            "errors": [{"domain": "global", "reason": "backendError"}],
            "busy": [],
        },
        "nobody@example.com": {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []},
    }
