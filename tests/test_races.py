"""Races through the real HTTP API: two server processes on one database, many clients at once."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests import keys
from tests.api.booking_fixtures import CREATE_BOOKING, HOLD, OVERLAPS, RESCHEDULE
from tests.api.fixtures import CREATE_PROVIDER, CREATE_SERVICE, SET_WEEK, week
from tests.servers import uvicorn_servers


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[list[str]]:
    """Two uvicorn processes of the real app, sharing the test database."""
    with uvicorn_servers(database_url) as urls:
        yield urls


async def post(http: httpx.AsyncClient, url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        timeout=30,
        headers=keys.ADMIN_HEADERS,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return next(iter(body["data"].values()))  # type: ignore[no-any-return]


async def setup_service(http: httpx.AsyncClient, url: str, **fields: Any) -> str:
    provider = await post(http, url, CREATE_PROVIDER, name="Race", tz="UTC")
    await post(http, url, SET_WEEK, input={"providerId": provider["id"], "days": week("08:00-20:00")})
    service = await post(
        http,
        url,
        CREATE_SERVICE,
        input={
            "providerId": provider["id"],
            "name": "Race",
            "durationMinutes": 30,
            "bufferAfterMinutes": 15,
            "minNoticeMinutes": 0,
            "horizonDays": 30,
        }
        | fields,
    )
    return service["id"]  # type: ignore[no-any-return]


def at(hour: int, minute: int = 0) -> str:
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).isoformat()


def book_input(service_id: str, start: str, n: int) -> dict[str, Any]:
    return {"input": {"serviceId": service_id, "start": start, "customerId": f"c{n}"}}


async def no_overlaps(engine: Any) -> None:
    async with engine.connect() as conn:
        assert (await conn.execute(text(OVERLAPS))).scalar_one() == 0


async def test_fifty_clients_one_slot_one_booking(servers: list[str], engine: Any) -> None:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as http:
        service_id = await setup_service(http, servers[0])
        results = await asyncio.gather(
            *(
                post(http, servers[n % 2], CREATE_BOOKING, **book_input(service_id, at(10), n))
                for n in range(50)
            )
        )
    kinds = Counter(r["__typename"] for r in results)
    assert kinds == {"Booking": 1, "SlotUnavailable": 49}
    assert {r["reason"] for r in results if r["__typename"] == "SlotUnavailable"} == {"BOOKED"}
    await no_overlaps(engine)


async def test_fifty_clients_overlapping_slots_keep_the_buffer(servers: list[str], engine: Any) -> None:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as http:
        service_id = await setup_service(http, servers[0], slotIntervalMinutes=10)
        starts = [at(8 + n // 6, (n % 6) * 10) for n in range(50)]
        results = await asyncio.gather(
            *(
                post(http, servers[n % 2], CREATE_BOOKING, **book_input(service_id, s, n))
                for n, s in enumerate(starts)
            )
        )
    kept = sorted(datetime.fromisoformat(r["start"]) for r in results if r["__typename"] == "Booking")
    assert kept and all(b - a >= timedelta(minutes=45) for a, b in itertools.pairwise(kept))
    assert all(r["__typename"] in ("Booking", "SlotUnavailable") for r in results)
    await no_overlaps(engine)


async def test_holds_and_bookings_racing_for_one_slot(servers: list[str], engine: Any) -> None:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as http:
        service_id = await setup_service(http, servers[0])
        results = await asyncio.gather(
            *(
                post(
                    http,
                    servers[n % 2],
                    HOLD if n % 2 else CREATE_BOOKING,
                    **book_input(service_id, at(11), n),
                )
                for n in range(40)
            )
        )
    assert Counter(r["__typename"] for r in results)["SlotUnavailable"] == 39
    await no_overlaps(engine)


async def test_reschedule_racing_bookings_for_the_same_slot(servers: list[str], engine: Any) -> None:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as http:
        service_id = await setup_service(http, servers[0])
        moving = await post(http, servers[0], CREATE_BOOKING, **book_input(service_id, at(9), 0))
        move = post(http, servers[1], RESCHEDULE, input={"bookingId": moving["id"], "newStart": at(15)})
        books = [
            post(http, servers[n % 2], CREATE_BOOKING, **book_input(service_id, at(15), n))
            for n in range(1, 21)
        ]
        results = await asyncio.gather(move, *books)
    assert sum(r["__typename"] == "Booking" for r in results) == 1
    async with engine.connect() as conn:
        at_three = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM reservations WHERE service_id = :s AND start_at = :t AND status = 'CONFIRMED'"
                ),
                {"s": service_id, "t": datetime.fromisoformat(at(15))},
            )
        ).scalar_one()
    assert at_three == 1
    await no_overlaps(engine)


async def test_twenty_takeovers_of_one_expired_hold(servers: list[str], engine: Any) -> None:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as http:
        service_id = await setup_service(http, servers[0])
        hold = await post(http, servers[0], HOLD, **book_input(service_id, at(16), 0))
        async with engine.begin() as conn:  # the hold's time runs out, and no job has run
            await conn.execute(
                text("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = :h"),
                {"h": hold["id"]},
            )
        results = await asyncio.gather(
            *(
                post(http, servers[n % 2], CREATE_BOOKING, **book_input(service_id, at(16), n))
                for n in range(1, 21)
            )
        )
    assert Counter(r["__typename"] for r in results) == {"Booking": 1, "SlotUnavailable": 19}
    async with engine.connect() as conn:
        status = (
            await conn.execute(text("SELECT status FROM reservations WHERE id = :h"), {"h": hold["id"]})
        ).scalar_one()
    assert status == "EXPIRED"
    await no_overlaps(engine)
