"""Google Calendar busy time: connecting, full and incremental sync, the events that count, faults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text

from db.calendar_queries import save_calendar
from integrations.token_vault import TokenVault
from resolvers import calendar
from tests.api.test_availability_api import DAY
from tests.calendar.conftest import TOKEN_KEY, Connected, in_days, timed
from tests.conftest import gql

STATUS = """query($id: ID!) { provider(id: $id) { calendarConnection { status lastError lastSyncedAt
  calendars { id selected } } } }"""


async def day(connected: Connected, days: int) -> dict[str, Any]:
    date = in_days(days, 0).date().isoformat()
    view = (await gql(connected.client, DAY + "", id=connected.service_id, date=date))["dayAvailability"]
    return {s["time"]: s["reason"] for s in view["unavailableSlots"]} | {
        s["time"]: None for s in view["availableSlots"]
    }


async def sync(connected: Connected) -> None:
    await calendar.sync_calendars(connected.app, connected.provider_id)


async def status(connected: Connected) -> dict[str, Any]:
    return (await gql(connected.client, STATUS, id=connected.provider_id))["provider"]["calendarConnection"]  # type: ignore[no-any-return]


async def test_connecting_lists_calendars_and_the_primary_one_counts(connected: Connected) -> None:
    found = await status(connected)
    assert found["status"] == "OK" and found["lastSyncedAt"]
    assert {c["id"]: c["selected"] for c in found["calendars"]} == {
        "maya@example.com": True,
        "family@example.com": False,
    }


async def test_full_then_incremental_sync_follows_added_moved_and_deleted_events(
    connected: Connected,
) -> None:
    google = connected.google
    google.put_event("maya@example.com", timed("dentist", in_days(2, 10)))
    await sync(connected)
    assert (await day(connected, 2))["10:00"] == "CALENDAR_CONFLICT"
    assert (await day(connected, 2))["10:30"] == "CALENDAR_CONFLICT"
    google.put_event("maya@example.com", timed("dentist", in_days(2, 14)))  # moved
    google.put_event("maya@example.com", timed("gym", in_days(3, 9)))  # added
    google.clear_requests()
    await sync(connected)
    listed = [q for m, p, q in google.requests if p.endswith("/events")]
    assert listed and all("syncToken" in q for q in listed)  # incremental
    now = await day(connected, 2)
    assert now["10:00"] is None and now["14:00"] == "CALENDAR_CONFLICT"
    assert (await day(connected, 3))["09:00"] == "CALENDAR_CONFLICT"
    google.delete_event("maya@example.com", "gym")
    await sync(connected)
    assert (await day(connected, 3))["09:00"] is None


async def test_an_expired_sync_token_means_a_full_sync(connected: Connected) -> None:
    google = connected.google
    google.put_event("maya@example.com", timed("a", in_days(2, 10)))
    await sync(connected)
    google.delete_event("maya@example.com", "a")
    google.put_event("maya@example.com", timed("b", in_days(2, 11)))
    google.expire_sync_tokens("maya@example.com")
    google.clear_requests()
    await sync(connected)
    listed = [q for m, p, q in google.requests if p.endswith("/events")]
    assert any("syncToken" in q for q in listed) and "syncToken" not in listed[-1]  # 410, then in full
    slots = await day(connected, 2)
    assert slots["10:00"] is None and slots["11:00"] == "CALENDAR_CONFLICT"
    assert (await status(connected))["status"] == "OK"


async def test_only_events_that_take_time_block(connected: Connected) -> None:
    google = connected.google
    me = {"email": "maya@example.com", "self": True}
    google.put_event("maya@example.com", timed("free", in_days(2, 9), transparency="transparent"))
    google.put_event(
        "maya@example.com", timed("declined", in_days(2, 10), attendees=[me | {"responseStatus": "declined"}])
    )
    google.put_event(
        "maya@example.com", timed("accepted", in_days(2, 11), attendees=[me | {"responseStatus": "accepted"}])
    )
    google.put_event("maya@example.com", timed("gone", in_days(2, 12)))
    google.delete_event("maya@example.com", "gone")
    london = in_days(2, 14).astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    google.put_event(
        "maya@example.com",
        {
            "id": "london",
            "summary": "Call",
            "start": {"dateTime": london.replace(tzinfo=None).isoformat(), "timeZone": "Europe/London"},
            "end": {
                "dateTime": (
                    london.replace(tzinfo=None) + __import__("datetime").timedelta(minutes=30)
                ).isoformat(),
                "timeZone": "Europe/London",
            },
        },
    )
    await sync(connected)
    slots = await day(connected, 2)
    assert slots["09:00"] is None and slots["10:00"] is None and slots["12:00"] is None
    assert slots["11:00"] == "CALENDAR_CONFLICT" and slots["14:00"] == "CALENDAR_CONFLICT"
    assert slots["14:30"] is None


async def test_all_day_and_recurring_events(connected: Connected) -> None:
    google = connected.google
    off = in_days(4, 0).date()
    google.put_event(
        "maya@example.com",
        {
            "id": "offsite",
            "summary": "Offsite",
            "start": {"date": off.isoformat()},
            "end": {"date": (off + __import__("datetime").timedelta(days=1)).isoformat()},
        },
    )
    start = in_days(5, 13).replace(tzinfo=None)
    google.put_event(
        "maya@example.com",
        {
            "id": "standup",
            "summary": "Standup",
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
            "start": {"dateTime": start.isoformat(), "timeZone": "America/Los_Angeles"},
            "end": {
                "dateTime": (start + timedelta(minutes=30)).isoformat(),
                "timeZone": "America/Los_Angeles",
            },
        },
    )
    await sync(connected)
    assert set((await day(connected, 4)).values()) == {"CALENDAR_CONFLICT"}
    for offset in (5, 6, 7):
        assert (await day(connected, offset))["13:00"] == "CALENDAR_CONFLICT"
    assert (await day(connected, 8))["13:00"] is None
    google.delete_event("maya@example.com", "standup")  # the whole series
    await sync(connected)
    for offset in (5, 6, 7):
        assert (await day(connected, offset))["13:00"] is None


async def test_a_second_calendar_counts_once_selected_and_stops_when_dropped(connected: Connected) -> None:
    google = connected.google
    google.put_event("family@example.com", timed("school", in_days(2, 15)))
    await sync(connected)
    assert (await day(connected, 2))["15:00"] is None
    await calendar.set_calendar_selection(
        connected.app, connected.provider_id, ["maya@example.com", "family@example.com"]
    )
    assert (await day(connected, 2))["15:00"] == "CALENDAR_CONFLICT"
    await calendar.set_calendar_selection(connected.app, connected.provider_id, ["maya@example.com"])
    assert (await day(connected, 2))["15:00"] is None


async def test_rate_limits_and_server_errors_are_retried(connected: Connected) -> None:
    google = connected.google
    google.put_event("maya@example.com", timed("a", in_days(2, 10)))
    google.fail_next(1, 403, "rateLimitExceeded")
    google.fail_next(1, 429, "rateLimitExceeded")
    google.fail_next(2, 503, "backendError")
    await sync(connected)
    assert (await day(connected, 2))["10:00"] == "CALENDAR_CONFLICT"
    assert (await status(connected))["status"] == "OK"


async def test_google_down_keeps_the_last_synced_busy_time_and_says_so(connected: Connected) -> None:
    google = connected.google
    google.put_event("maya@example.com", timed("a", in_days(2, 10)))
    await sync(connected)
    google.down = True
    await sync(connected)
    found = await status(connected)
    assert found["status"] == "ERROR" and found["lastError"]
    google.clear_requests()
    view = (
        await gql(
            connected.client,
            """query($id: ID!, $d: Date!) { dayAvailability(serviceId: $id, date: $d) {
        calendarSync { status lastSyncedAt } unavailableSlots { time reason } } }""",
            id=connected.service_id,
            d=in_days(2, 0).date().isoformat(),
        )
    )["dayAvailability"]
    assert view["calendarSync"]["status"] == "ERROR" and view["calendarSync"]["lastSyncedAt"]
    assert {"time": "10:00", "reason": "CALENDAR_CONFLICT"} in view["unavailableSlots"]
    assert google.requests == []  # availability reads the store, never Google
    google.down = False
    await sync(connected)
    assert (await status(connected))["status"] == "OK"


async def test_a_calendar_error_inside_a_200_is_never_read_as_free(connected: Connected) -> None:
    google = connected.google
    google.add_calendar("room@example.com", "Room", time_zone="UTC")
    async with connected.app.engine.begin() as conn:  # shared with Maya as free/busy only
        await save_calendar(
            conn,
            UUID(connected.provider_id),
            "room@example.com",
            summary="Room",
            time_zone="UTC",
            access_role="freeBusyReader",
            selected=True,
        )
    google.put_event("room@example.com", timed("booked-room", in_days(2, 16)))
    await sync(connected)
    assert (await day(connected, 2))["16:00"] == "CALENDAR_CONFLICT"
    google.fail_freebusy("room@example.com", "backendError")
    await sync(connected)
    assert (await day(connected, 2))["16:00"] == "CALENDAR_CONFLICT"  # kept, not taken as free
    assert (await status(connected))["status"] == "ERROR"


async def test_a_refused_refresh_token_asks_for_reauthorization(connected: Connected) -> None:
    google = connected.google
    async with connected.app.engine.begin() as conn:  # Maya revoked access; our access token ran out
        sealed = (
            await conn.execute(
                text("SELECT refresh_token_encrypted FROM calendar_connections WHERE provider_id = :p"),
                {"p": connected.provider_id},
            )
        ).scalar_one()
        google.revoke(TokenVault(TOKEN_KEY).open(sealed))
        await conn.execute(
            text("UPDATE calendar_connections SET access_token_expires_at = now() WHERE provider_id = :p"),
            {"p": connected.provider_id},
        )
    await sync(connected)
    found = await status(connected)
    assert found["status"] == "NEEDS_REAUTH" and "refused" in found["lastError"]


async def test_tokens_are_encrypted_at_rest_and_refreshed_ahead_of_expiry(connected: Connected) -> None:
    google = connected.google
    async with connected.app.engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT refresh_token_encrypted, access_token_encrypted FROM calendar_connections WHERE provider_id = :p"
                ),
                {"p": connected.provider_id},
            )
        ).one()
        refresh_token = TokenVault(TOKEN_KEY).open(row.refresh_token_encrypted)
        assert (
            refresh_token not in row.refresh_token_encrypted
            and refresh_token not in row.access_token_encrypted
        )
        await conn.execute(
            text(
                "UPDATE calendar_connections SET access_token_expires_at = now() + interval '2 minutes' "
                "WHERE provider_id = :p"
            ),
            {"p": connected.provider_id},
        )
    before = google.token_requests
    await sync(connected)
    assert google.token_requests == before + 1 and google.token_grants[-1].grant_type == "refresh_token"
    assert (await status(connected))["status"] == "OK"
    await sync(connected)
    assert google.token_requests == before + 1  # the new token is good for an hour


async def test_an_access_token_google_rejects_is_refreshed_once_and_the_sync_goes_on(
    connected: Connected,
) -> None:
    google = connected.google
    async with connected.app.engine.connect() as conn:
        sealed = (
            await conn.execute(
                text("SELECT access_token_encrypted FROM calendar_connections WHERE provider_id = :p"),
                {"p": connected.provider_id},
            )
        ).scalar_one()
    google.revoke(TokenVault(TOKEN_KEY).open(sealed))  # still "valid" by its expiry, but refused
    google.put_event("maya@example.com", timed("a", in_days(2, 10)))
    await sync(connected)
    assert (await day(connected, 2))["10:00"] == "CALENDAR_CONFLICT"
    assert (await status(connected))["status"] == "OK"
