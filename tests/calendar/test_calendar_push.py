"""Push notifications from Google, forged ones, channel renewal, and the GraphQL operations."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from uuid import UUID

import httpx
from sqlalchemy import text

from resolvers import calendar
from resolvers.context import AppContext
from tests.calendar.conftest import REDIRECT, Connected, google_settings, in_days, setup_for, timed
from tests.fake_google import FakeGoogle
from tests.live.helpers import DAY_UPDATES, next_message, post, subscription
from tests.servers import free_port, uvicorn_servers

CONNECT = """mutation($input: ConnectGoogleCalendarInput!) { connectGoogleCalendar(input: $input) { __typename
  ... on CalendarConnection { status calendars { id selected } } ... on ValidationError { field message }
  ... on NotFound { message } ... on CalendarUnavailable { message } } }"""
SELECT = """mutation($input: CalendarSelectionInput!) { setCalendarSelection(input: $input) { __typename
  ... on CalendarConnection { calendars { id selected } } ... on ValidationError { field message } } }"""
DISCONNECT = """mutation($id: ID!) { disconnectGoogleCalendar(providerId: $id) { __typename
  ... on CalendarConnection { status calendars { id } } } }"""
SYNC = """mutation($id: ID!) { syncCalendars(providerId: $id) { __typename ... on CalendarConnection { status } } }"""
WEBHOOK = "/webhooks/google-calendar"


async def test_a_pushed_change_reaches_a_live_subscriber_within_seconds(
    database_url: str, google: FakeGoogle
) -> None:
    port = free_port()
    env = google_settings(google) | {
        "SLOTWISE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SLOTWISE_CALENDAR_SYNC_SECONDS": "3600",
    }
    with uvicorn_servers(database_url, ports=[port], **env) as (server,):
        async with httpx.AsyncClient() as http:
            provider = await post(
                http,
                server,
                """mutation { createProvider(input: {name: "Maya",
                timezone: "America/Los_Angeles"}) { ... on Provider { id } } }""",
            )
            await post(
                http,
                server,
                """mutation($id: ID!) { setWeeklySchedule(input: {providerId: $id, days: [
                {weekday: MONDAY, windows: [{start: "00:00", end: "24:00"}]}, {weekday: TUESDAY, windows: [{start: "00:00", end: "24:00"}]},
                {weekday: WEDNESDAY, windows: [{start: "00:00", end: "24:00"}]}, {weekday: THURSDAY, windows: [{start: "00:00", end: "24:00"}]},
                {weekday: FRIDAY, windows: [{start: "00:00", end: "24:00"}]}, {weekday: SATURDAY, windows: [{start: "00:00", end: "24:00"}]},
                {weekday: SUNDAY, windows: [{start: "00:00", end: "24:00"}]}]}) { __typename } }""",
                id=provider["id"],
            )
            service = await post(
                http,
                server,
                """mutation($id: ID!) { createService(input: {providerId: $id,
                name: "Consultation", durationMinutes: 30, bufferAfterMinutes: 0, minNoticeMinutes: 0}) {
                ... on Service { id } } }""",
                id=provider["id"],
            )
            google.add_auth_code("code-9", REDIRECT)
            connected = await post(
                http,
                server,
                CONNECT,
                input={"providerId": provider["id"], "authorizationCode": "code-9", "redirectUri": REDIRECT},
            )
            assert connected["status"] == "OK"
            sync_push = google.wait_for_deliveries(1)[0]  # Google's "sync" message on the new channel
            assert sync_push.status == 200
            day = in_days(2, 10)
            async with subscription(
                server, DAY_UPDATES, id=service["id"], date=day.date().isoformat()
            ) as updates:
                first = (await next_message(updates, 5))["dayAvailabilityUpdates"]
                assert "10:00" in [s["time"] for s in first["availableSlots"]]
                google.put_event("maya@example.com", timed("dentist", day))
                assert google.notify("maya@example.com") == [200]
                update = (await next_message(updates, 5))["dayAvailabilityUpdates"]
                assert {"time": "10:00", "reason": "CALENDAR_CONFLICT"} in update["unavailableSlots"]
            forged = [
                {
                    "X-Goog-Channel-ID": "not-a-channel",
                    "X-Goog-Channel-Token": "x",
                    "X-Goog-Resource-State": "exists",
                },
                {
                    "X-Goog-Channel-ID": google.channels[-1].id,
                    "X-Goog-Channel-Token": "wrong",
                    "X-Goog-Resource-State": "exists",
                },
                {"X-Goog-Resource-State": "exists"},
            ]
            google.clear_requests()
            for headers in forged:
                assert (await http.post(server + WEBHOOK, headers=headers)).status_code == 404
            await asyncio.sleep(0.5)
            assert google.requests == []  # a forged call made no sync


async def test_channels_are_renewed_before_they_expire_new_first(connected: Connected) -> None:
    google = connected.google
    setup = setup_for(google)
    app = AppContext(
        connected.app.engine, calendar=type(setup)(setup.google, setup.vault, "http://127.0.0.1:9/hook")
    )
    await calendar.sync_provider(app, UUID(connected.provider_id))  # opens the push channel
    assert len(google.channels) == 1
    old = google.channels[0]
    async with app.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE calendar_selections SET channel_expires_at = now() + interval '2 hours' "
                "WHERE provider_id = :p"
            ),
            {"p": connected.provider_id},
        )
    google.clear_requests()
    assert await calendar.renew_channels(app) == 1
    paths = [p for _, p, _ in google.requests]
    assert paths.index("/calendar/v3/calendars/maya@example.com/events/watch") < paths.index(
        "/calendar/v3/channels/stop"
    )
    assert [c.id for c in google.stopped_channels] == [old.id]
    status = await calendar.calendar_status(app, connected.provider_id)
    channel = next(c for c in status.calendars if c.selected)
    assert channel.channel_id != old.id and channel.channel_expires_at > app.clock() + timedelta(days=6)


async def test_the_graphql_operations(connected: Connected) -> None:
    client, google = connected.client, connected.google
    google.put_event("maya@example.com", timed("dentist", in_days(2, 10)))
    assert (await post_local(client, SYNC, id=connected.provider_id))["status"] == "OK"
    bad_code = await post_local(
        client,
        CONNECT,
        input={"providerId": connected.provider_id, "authorizationCode": "nope", "redirectUri": REDIRECT},
    )
    assert bad_code["__typename"] == "ValidationError" and bad_code["field"] == "authorizationCode"
    unknown = await post_local(
        client, SELECT, input={"providerId": connected.provider_id, "calendarIds": ["stranger@example.com"]}
    )
    assert unknown["__typename"] == "ValidationError" and unknown["field"] == "calendarIds"
    chosen = await post_local(
        client, SELECT, input={"providerId": connected.provider_id, "calendarIds": ["family@example.com"]}
    )
    assert {c["id"]: c["selected"] for c in chosen["calendars"]} == {
        "family@example.com": True,
        "maya@example.com": False,
    }
    gone = await post_local(client, DISCONNECT, id=connected.provider_id)
    assert gone == {"__typename": "CalendarConnection", "status": "NOT_CONNECTED", "calendars": []}
    async with connected.app.engine.connect() as conn:
        left = (
            await conn.execute(
                text("SELECT count(*) FROM calendar_busy_intervals WHERE provider_id = :p"),
                {"p": connected.provider_id},
            )
        ).scalar_one()
    assert left == 0


async def post_local(client: httpx.AsyncClient, query: str, **variables: object) -> dict[str, object]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert not body.get("errors"), body
    return next(iter(body["data"].values()))  # type: ignore[no-any-return]


async def test_the_periodic_sync_catches_changes_that_were_never_pushed(
    connected: Connected, database_url: str
) -> None:
    google = connected.google
    env = google_settings(google) | {"SLOTWISE_CALENDAR_SYNC_SECONDS": "0.3"}
    with uvicorn_servers(database_url, count=1, **env) as (server,):
        google.put_event("maya@example.com", timed("lunch", in_days(2, 12)))  # no push at all
        query = """query($id: ID!, $d: Date!) { dayAvailability(serviceId: $id, date: $d) { unavailableSlots { time reason } } }"""
        async with httpx.AsyncClient() as http:
            for _ in range(50):
                view = await post(
                    http, server, query, id=connected.service_id, d=in_days(2, 0).date().isoformat()
                )
                if {"time": "12:00", "reason": "CALENDAR_CONFLICT"} in view["unavailableSlots"]:
                    break
                await asyncio.sleep(0.1)
        assert {"time": "12:00", "reason": "CALENDAR_CONFLICT"} in view["unavailableSlots"]


def test_the_sync_calendars_command(connected: Connected, database_url: str) -> None:
    connected.google.put_event("maya@example.com", timed("call", in_days(3, 9)))
    env = os.environ | google_settings(connected.google) | {"DATABASE_URL": database_url}
    run = subprocess.run(
        [sys.executable, "-m", "slotwise.cli", "sync-calendars"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert f"{connected.provider_id}: OK" in run.stdout
