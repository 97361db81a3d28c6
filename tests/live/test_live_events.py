"""Live slot changes across two instances sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.api.booking_fixtures import CANCEL, CREATE_BOOKING, HOLD, RELEASE
from tests.live.helpers import (
    DAY_UPDATES,
    SLOTS_CHANGED,
    at,
    day_ahead,
    next_message,
    post,
    subscription,
    utc_service,
)
from tests.servers import uvicorn_servers

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[list[str]]:
    with uvicorn_servers(database_url, REDIS_URL=REDIS_URL, SLOTWISE_HOLD_SWEEP_SECONDS="0.2") as urls:
        yield urls


async def test_a_booking_on_one_instance_reaches_a_subscriber_on_the_other(servers: list[str]) -> None:
    a, b = servers
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, a)
        async with (
            subscription(a, DAY_UPDATES, id=service_id, date=day_ahead()) as day,
            subscription(a, SLOTS_CHANGED, id=service_id) as changes,
        ):
            snapshot = await next_message(day, 5)
            assert "10:00" in [s["time"] for s in snapshot["dayAvailabilityUpdates"]["availableSlots"]]
            await asyncio.sleep(0.3)  # slotsChanged sends nothing until a change; let it register
            booking = await post(
                http,
                b,
                CREATE_BOOKING,
                input={"serviceId": service_id, "start": at(10), "customerId": "alice"},
            )
            event = (await next_message(changes))["slotsChanged"]
            assert event["cause"] == "BOOKING_CREATED" and event["dates"] == [day_ahead()]
            assert event["serviceId"] == service_id
            update = (await next_message(day))["dayAvailabilityUpdates"]
            assert {"time": "10:00", "reason": "BOOKED"} in update["unavailableSlots"]

            await post(http, b, CANCEL, input={"bookingId": booking["id"]})
            cancelled = (await next_message(changes))["slotsChanged"]
            assert (
                cancelled["cause"] == "BOOKING_CANCELLED" and cancelled["sequence"] == event["sequence"] + 1
            )
            update = (await next_message(day))["dayAvailabilityUpdates"]
            assert "10:00" in [s["time"] for s in update["availableSlots"]]


async def test_holds_releases_and_expiries_are_pushed_with_gapless_sequences(
    servers: list[str], engine: Any
) -> None:
    a, b = servers
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, a, holdMinutes=1)
        async with subscription(a, SLOTS_CHANGED, id=service_id) as changes:
            await asyncio.sleep(0.3)
            hold = await post(
                http, b, HOLD, input={"serviceId": service_id, "start": at(11), "customerId": "al"}
            )
            await post(http, a, RELEASE, id=hold["id"], customer="al")
            second = await post(
                http, b, HOLD, input={"serviceId": service_id, "start": at(12), "customerId": "al"}
            )
            async with engine.begin() as conn:  # its minute is up; the sweeper on either instance expires it
                await conn.execute(
                    text("UPDATE reservations SET expires_at = now() WHERE id = :h"), {"h": second["id"]}
                )
            events = [(await next_message(changes, 3))["slotsChanged"] for _ in range(4)]
            with pytest.raises(asyncio.TimeoutError):  # expired once, not once per instance
                await next_message(changes, 1)
        causes = [e["cause"] for e in events]
        assert causes == ["HOLD_CREATED", "HOLD_RELEASED", "HOLD_CREATED", "HOLD_EXPIRED"]
        sequences = [e["sequence"] for e in events]
        assert sequences == list(range(sequences[0], sequences[0] + 4))


DAY = """query($id: ID!, $date: Date!) { dayAvailability(serviceId: $id, date: $date) {
  availableSlots { time } unavailableSlots { time reason } } }"""
MONTH = """query($id: ID!, $month: String!) { monthAvailability(serviceId: $id, month: $month) {
  availableDates { date availableSlots } } }"""


async def test_a_read_on_the_other_instance_right_after_a_booking_never_shows_the_slot(
    servers: list[str],
) -> None:
    a, b = servers
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, a)
        month = day_ahead()[:7]

        async def counts() -> dict[str, int]:
            view = await post(http, a, MONTH, id=service_id, month=month)
            return {d["date"]: d["availableSlots"] for d in view["availableDates"]}

        for _ in range(3):  # warm A's cache (the first read also teaches it the service's provider)
            day = await post(http, a, DAY, id=service_id, date=day_ahead())
            before = await counts()
        assert "10:00" in [s["time"] for s in day["availableSlots"]]
        await post(
            http, b, CREATE_BOOKING, input={"serviceId": service_id, "start": at(10), "customerId": "z"}
        )
        day = await post(http, a, DAY, id=service_id, date=day_ahead())
        assert {"time": "10:00", "reason": "BOOKED"} in day["unavailableSlots"]
        assert (await counts())[day_ahead()] == before[day_ahead()] - 1
