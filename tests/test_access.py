"""API keys: made by admins (or the command line), stored as hashes, naming callers over HTTP and
websockets; a provider's private details only for its own keys and admins."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text

from domain.access import Role
from resolvers.access import create_api_key
from schema.schema import MAX_DEPTH
from tests.api.booking_fixtures import CREATE_BOOKING
from tests.api.fixtures import SET_WEEK, provider_with_service
from tests.api.test_availability_api import calendar_busy, la
from tests.live.helpers import DAY_UPDATES, at, day_ahead, post, utc_service, websocket_url
from tests.servers import uvicorn_servers
from tests.sockets import socket_operation
from tests.test_limits import _nested

CREATE_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename
  ... on NewApiKey { key apiKey { id role providerIds keyPrefix } } ... on Forbidden { message }
  ... on ValidationError { field message } } }"""
REVOKE_KEY = """mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on ApiKey { revokedAt } ... on Forbidden { message } } }"""
PRIVATE_DAY = """query($id: ID!, $date: Date!) { dayAvailability(serviceId: $id, date: $date) {
  unavailableSlots { time reason bookingId event } } }"""


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def as_caller(
    client: httpx.AsyncClient, query: str, key: str | None = None, **variables: Any
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=bearer(key) if key else {"Authorization": ""},
    )


async def test_only_admins_make_keys_and_keys_are_stored_as_hashes(
    client: httpx.AsyncClient, admin_key: str, engine: Any
) -> None:
    provider_id, _ = await provider_with_service(client)
    made = (
        await as_caller(
            client,
            CREATE_KEY,
            admin_key,
            input={"name": "front desk", "role": "PROVIDER", "providerIds": [provider_id]},
        )
    ).json()["data"]["createApiKey"]
    assert made["__typename"] == "NewApiKey" and made["key"].startswith("sw_")
    assert made["apiKey"]["providerIds"] == [provider_id] and made["key"].startswith(
        made["apiKey"]["keyPrefix"]
    )
    for key in (None, made["key"]):  # anonymous, and a provider's own key
        refused = (await as_caller(client, CREATE_KEY, key, input={"name": "x", "role": "ADMIN"})).json()
        assert refused["data"]["createApiKey"]["__typename"] == "Forbidden"
    bad = (await as_caller(client, CREATE_KEY, admin_key, input={"name": "x", "role": "PROVIDER"})).json()
    assert bad["data"]["createApiKey"]["field"] == "providerIds"
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT key_hash, key_prefix FROM api_keys"))).all()
    assert all(made["key"] not in row.key_hash and len(row.key_prefix) == 10 for row in stored)


async def test_unknown_and_revoked_keys_are_refused(client: httpx.AsyncClient, admin_key: str) -> None:
    assert (await as_caller(client, "{ __typename }", "sw_not-a-key")).status_code == 401
    made = (await as_caller(client, CREATE_KEY, admin_key, input={"name": "temp", "role": "ADMIN"})).json()
    key, key_id = made["data"]["createApiKey"]["key"], made["data"]["createApiKey"]["apiKey"]["id"]
    assert (await as_caller(client, "{ __typename }", key)).status_code == 200
    revoked = (await as_caller(client, REVOKE_KEY, admin_key, id=key_id)).json()["data"]["revokeApiKey"]
    assert revoked["revokedAt"]
    assert (await as_caller(client, "{ __typename }", key)).status_code == 401


async def test_booking_ids_and_event_titles_only_for_the_providers_keys_and_admins(
    client: httpx.AsyncClient, admin_key: str, engine: Any, app_context: Any
) -> None:
    provider_id, service_id = await provider_with_service(client)
    other_provider, _ = await provider_with_service(client)
    booked = (
        await as_caller(
            client,
            CREATE_BOOKING,
            None,
            input={"serviceId": service_id, "start": "2027-03-03T10:00:00-08:00", "customerId": "alice"},
        )
    ).json()
    booking_id = booked["data"]["createBooking"]["id"]
    await calendar_busy(engine, provider_id, la(date(2027, 3, 3), "15:00"), la(date(2027, 3, 3), "15:30"))
    own = (await create_api_key(app_context, None, "mine", Role.PROVIDER, [provider_id])).key
    other = (await create_api_key(app_context, None, "theirs", Role.PROVIDER, [other_provider])).key
    partner = (
        await create_api_key(app_context, None, "partner", Role.PARTNER, [provider_id, other_provider])
    ).key

    async def private(key: str | None) -> tuple[Any, Any]:
        view = (await as_caller(client, PRIVATE_DAY, key, id=service_id, date="2027-03-03")).json()
        slots = {s["time"]: s for s in view["data"]["dayAvailability"]["unavailableSlots"]}
        return slots["10:00"]["bookingId"], slots["15:00"]["event"]

    assert await private(None) == (None, None)
    assert await private(other) == (None, None)
    for key in (own, admin_key, partner):
        assert await private(key) == (booking_id, "Private: dentist")


def test_the_command_line_makes_the_first_admin_key(database_url: str) -> None:
    env = os.environ | {"DATABASE_URL": database_url}
    run = subprocess.run(
        [sys.executable, "-m", "slotwise.cli", "create-api-key", "--name", "first", "--role", "ADMIN"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    key = run.stdout.strip().splitlines()[-1]
    assert key.startswith("sw_") and "shown only now" in run.stderr


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with uvicorn_servers(database_url, count=1) as (url,):
        yield url


async def test_websockets_authenticate_in_connection_init(server: str, app_context: Any) -> None:
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, server)
        provider_id = (
            await post(http, server, "query($id: ID!) { service(id: $id) { providerId } }", id=service_id)
        )["providerId"]
        booked = await post(
            http, server, CREATE_BOOKING, input={"serviceId": service_id, "start": at(10), "customerId": "z"}
        )
    key = (await create_api_key(app_context, None, "ws", Role.PROVIDER, [provider_id])).key
    url = websocket_url(server)
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer sw_forged"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    query = DAY_UPDATES.replace(
        "unavailableSlots { time reason }", "unavailableSlots { time reason bookingId }"
    )
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": {"id": service_id, "date": day_ahead()}},
                }
            )
        )
        snapshot = json.loads(await ws.recv())["payload"]["data"]["dayAvailabilityUpdates"]
    assert {"time": "10:00", "reason": "BOOKED", "bookingId": booked["id"]} in snapshot["unavailableSlots"]


async def test_queries_and_mutations_over_a_websocket_pass_the_same_checks(
    server: str, app_context: Any
) -> None:
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, server)
        other_service = await utc_service(http, server)
        provider_id, other_provider = [
            (await post(http, server, "query($id: ID!) { service(id: $id) { providerId } }", id=s))[
                "providerId"
            ]
            for s in (service_id, other_service)
        ]
        booking_input = {
            "serviceId": service_id,
            "start": at(10),
            "customerId": "zoe",
            "idempotencyKey": "ws-1",
        }
        over_http = await post(http, server, CREATE_BOOKING, input=booking_input)
        await post(
            http,
            server,
            CREATE_BOOKING,
            input={"serviceId": other_service, "start": at(10), "customerId": "x"},
        )
    own = (await create_api_key(app_context, None, "ws-own", Role.PROVIDER, [provider_id])).key
    week = {"days": [{"weekday": "MONDAY", "windows": [{"start": "09:00", "end": "10:00"}]}]}

    async with connected(server, own) as ws:
        private = await socket_operation(ws, "1", PRIVATE_DAY, id=service_id, date=day_ahead())
        refused = await socket_operation(ws, "2", SET_WEEK, input={"providerId": other_provider, **week})
        allowed = await socket_operation(ws, "3", SET_WEEK, input={"providerId": provider_id, **week})
        too_deep = await socket_operation(ws, "4", _nested(MAX_DEPTH + 1))
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert allowed["data"]["setWeeklySchedule"]["__typename"] == "Schedule"
    assert over_http["id"] in [s["bookingId"] for s in private["data"]["dayAvailability"]["unavailableSlots"]]
    assert "exceeds maximum operation depth" in too_deep["errors"][0]["message"]

    async with connected(server, None) as ws:  # an anonymous customer
        hidden = await socket_operation(ws, "1", PRIVATE_DAY, id=other_service, date=day_ahead())
        refused = await socket_operation(ws, "2", SET_WEEK, input={"providerId": provider_id, **week})
        again = await socket_operation(ws, "3", CREATE_BOOKING, input=booking_input)
        conflict = await socket_operation(ws, "4", CREATE_BOOKING, input=booking_input | {"start": at(12)})
    assert {"time": "10:00", "reason": "BOOKED", "bookingId": None, "event": None} in hidden["data"][
        "dayAvailability"
    ]["unavailableSlots"]
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # the idempotency key used over HTTP answers the same booking over the socket
    assert again["data"]["createBooking"] == over_http
    assert conflict["data"]["createBooking"]["__typename"] == "IdempotencyConflict"


@asynccontextmanager
async def connected(server: str, key: str | None) -> AsyncIterator[Any]:
    payload = {"authorization": f"Bearer {key}"} if key else {}
    async with websockets.connect(websocket_url(server), subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        yield ws


async def test_a_services_notifications_are_watched_by_its_provider_and_a_customer_only_their_own(
    server: str, app_context: Any
) -> None:
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, server)
        provider_id = (
            await post(http, server, "query($id: ID!) { service(id: $id) { providerId } }", id=service_id)
        )["providerId"]
    own = (await create_api_key(app_context, None, "opened", Role.PROVIDER, [provider_id])).key
    opened = "subscription($s: ID, $c: String) { availabilityOpened(serviceId: $s, customerId: $c) { id } }"
    async with connected(server, None) as ws:
        refused = await socket_operation(ws, "1", opened, s=service_id)
        await ws.send(
            json.dumps(
                {
                    "id": "2",
                    "type": "subscribe",
                    "payload": {"query": opened, "variables": {"s": service_id, "c": "zoe"}},
                }
            )
        )
        with pytest.raises(TimeoutError):  # watching: nothing to say until a slot opens
            await asyncio.wait_for(ws.recv(), 0.5)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with connected(server, own) as ws:
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": opened, "variables": {"s": service_id}}}
            )
        )
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)
