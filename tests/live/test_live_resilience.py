"""Rolled-back writes publish nothing; Redis restarts heal; subscriptions leave nothing behind."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from resolvers import booking as booking_use_cases
from tests.api.booking_fixtures import CREATE_BOOKING
from tests.api.fixtures import provider_with_service
from tests.conftest import gql
from tests.live.helpers import (
    DAY_UPDATES,
    SLOTS_CHANGED,
    at,
    day_ahead,
    next_message,
    post,
    subscription,
    utc_service,
    websocket_url,
)
from tests.servers import free_port, uvicorn_servers


async def test_a_rolled_back_write_publishes_nothing_and_uses_no_sequence(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, service_id = await provider_with_service(client)
    hub = client._transport.app.state.hub  # type: ignore[attr-defined]
    start = "2027-03-03T10:00:00-08:00"
    async with hub.subscribe() as changes:
        original = booking_use_cases.rq.append_audit

        async def audit_fails(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("the audit store is down")

        monkeypatch.setattr(booking_use_cases.rq, "append_audit", audit_fails)
        failed = await client.post(
            "/graphql",
            json={
                "query": CREATE_BOOKING,
                "variables": {"input": {"serviceId": service_id, "start": start, "customerId": "alice"}},
            },
        )
        assert [e["message"] for e in failed.json()["errors"]] == ["Internal error; it has been logged."]
        monkeypatch.setattr(booking_use_cases.rq, "append_audit", original)
        booked = (
            await gql(
                client, CREATE_BOOKING, input={"serviceId": service_id, "start": start, "customerId": "alice"}
            )
        )["createBooking"]
        assert booked["__typename"] == "Booking"
        first = await asyncio.wait_for(anext(aiter(changes)), 1)
    # sequence 1 was setting the week; the rolled-back booking published nothing and used no number
    assert (first.cause.value, first.sequence) == ("BOOKING_CREATED", 2)


@pytest.fixture
def private_redis() -> Iterator[tuple[int, Any]]:
    """A Redis of this test's own, so it can be restarted."""
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )

    process = [start()]

    def restart() -> None:
        process[0].terminate()
        process[0].wait(10)
        process[0] = start()

    try:
        yield port, restart
    finally:
        process[0].terminate()
        process[0].wait(10)


async def test_subscribers_recover_after_redis_restarts(
    database_url: str, private_redis: tuple[int, Any]
) -> None:
    port, restart_redis = private_redis
    await asyncio.sleep(0.2)
    with uvicorn_servers(database_url, REDIS_URL=f"redis://127.0.0.1:{port}/0") as (a, b):
        async with httpx.AsyncClient() as http:
            service_id = await utc_service(http, a)
            async with subscription(a, SLOTS_CHANGED, id=service_id) as changes:
                await asyncio.sleep(0.3)
                await post(
                    http,
                    b,
                    CREATE_BOOKING,
                    input={"serviceId": service_id, "start": at(9), "customerId": "a"},
                )
                assert (await next_message(changes))["slotsChanged"]["cause"] == "BOOKING_CREATED"
                restart_redis()
                resync = (await next_message(changes, 10))["slotsChanged"]
                assert resync["cause"] == "RESYNC" and day_ahead() in resync["dates"]
                await post(
                    http,
                    b,
                    CREATE_BOOKING,
                    input={"serviceId": service_id, "start": at(14), "customerId": "b"},
                )
                after = (await next_message(changes, 2))["slotsChanged"]
                assert after["cause"] == "BOOKING_CREATED" and after["sequence"] == resync["sequence"] + 1


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[list[str]]:
    with uvicorn_servers(database_url, REDIS_URL="redis://127.0.0.1:6379/0") as urls:
        yield urls


async def health(http: httpx.AsyncClient, url: str) -> dict[str, int]:
    return (await http.get(f"{url}/healthz")).json()  # type: ignore[no-any-return]


async def test_a_thousand_subscribe_cycles_leave_nothing_behind(servers: list[str]) -> None:
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, servers[0])
        before = [await health(http, url) for url in servers]
        document = {"query": DAY_UPDATES, "variables": {"id": service_id, "date": day_ahead()}}

        async def cycle(n: int) -> None:
            url = websocket_url(servers[n % 2])
            async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
                await ws.send(json.dumps({"type": "connection_init"}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": document}))
                assert json.loads(await ws.recv())["type"] == "next"
                if n % 2:  # half complete politely, half just hang up
                    await ws.send(json.dumps({"id": "1", "type": "complete"}))

        gate = asyncio.Semaphore(25)

        async def limited(n: int) -> None:
            async with gate:
                await cycle(n)

        await asyncio.gather(*(limited(n) for n in range(1000)))
        for _ in range(50):
            after = [await health(http, url) for url in servers]
            if all(h["liveSubscriptions"] == 0 for h in after) and all(
                h["tasks"] <= b["tasks"] for h, b in zip(after, before, strict=True)
            ):
                break
            await asyncio.sleep(0.1)
        assert [h["liveSubscriptions"] for h in after] == [0, 0]
        assert all(h["tasks"] <= b["tasks"] for h, b in zip(after, before, strict=True)), (before, after)


async def test_one_connection_holds_a_bounded_number_of_subscriptions(servers: list[str]) -> None:
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, servers[0])
    document = {"query": DAY_UPDATES, "variables": {"id": service_id, "date": day_ahead()}}
    async with websockets.connect(websocket_url(servers[0]), subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for n in range(20):  # SLOTWISE_MAX_SUBSCRIPTIONS defaults to 20
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": document}))
            snapshot = json.loads(await ws.recv())
            assert (snapshot["id"], snapshot["type"]) == (str(n), "next")
        await ws.send(json.dumps({"id": "21", "type": "subscribe", "payload": document}))
        refused = json.loads(await ws.recv())
        assert refused["id"] == "21" and refused["type"] == "error"
        assert "limit" in refused["payload"][0]["message"]
