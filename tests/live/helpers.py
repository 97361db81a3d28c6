"""Live subscriptions through the real gql client over graphql-transport-ws."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from tests import keys
from tests.api.fixtures import CREATE_PROVIDER, CREATE_SERVICE, SET_WEEK, week

SLOTS_CHANGED = """subscription($id: ID!, $from: Date, $to: Date) {
  slotsChanged(serviceId: $id, from: $from, to: $to) { serviceId providerId dates cause sequence occurredAt } }"""
DAY_UPDATES = """subscription($id: ID!, $date: Date!) {
  dayAvailabilityUpdates(serviceId: $id, date: $date) { date availableSlots { time } unavailableSlots { time reason } } }"""


async def post(http: httpx.AsyncClient, url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        timeout=30,
        headers=keys.ADMIN_HEADERS,
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return next(iter(body["data"].values()))  # type: ignore[no-any-return]


async def utc_service(http: httpx.AsyncClient, url: str, **fields: Any) -> str:
    provider = await post(http, url, CREATE_PROVIDER, name="Live", tz="UTC")
    await post(http, url, SET_WEEK, input={"providerId": provider["id"], "days": week("08:00-20:00")})
    service = await post(
        http,
        url,
        CREATE_SERVICE,
        input={
            "providerId": provider["id"],
            "name": "Live",
            "durationMinutes": 30,
            "bufferAfterMinutes": 0,
            "minNoticeMinutes": 0,
        }
        | fields,
    )
    return service["id"]  # type: ignore[no-any-return]


def day_ahead(days: int = 3) -> str:
    return f"{(datetime.now(UTC) + timedelta(days=days)).date()}"


def at(hour: int, minute: int = 0, days: int = 3) -> str:
    return f"{day_ahead(days)}T{hour:02d}:{minute:02d}:00+00:00"


def websocket_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def subscription(
    url: str, query: str, /, as_admin: bool = False, **variables: Any
) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """Messages of one subscription (gql's websockets transport), gathered into a queue; as an
    anonymous customer unless `as_admin` (the run's admin key in connection_init)."""
    transport = WebsocketsTransport(
        url=websocket_url(url),
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"authorization": keys.ADMIN_HEADERS["Authorization"]} if as_admin else {},
    )
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with Client(transport=transport) as session:

        async def pump() -> None:
            async for result in session.subscribe(GraphQLRequest(query, variable_values=variables)):
                await received.put(result)

        task = asyncio.create_task(pump())
        try:
            yield received
        finally:
            task.cancel()


async def next_message(queue: asyncio.Queue[dict[str, Any]], seconds: float = 1.0) -> dict[str, Any]:
    return await asyncio.wait_for(queue.get(), seconds)
