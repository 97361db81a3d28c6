"""Random histories and random states: what was acknowledged holds, listing and booking agree."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from tests.api.booking_fixtures import CANCEL, CONFIRM, CREATE_BOOKING, HOLD, OVERLAPS, RELEASE, RESCHEDULE
from tests.api.fixtures import provider_with_service
from tests.api.test_availability_api import DAY
from tests.conftest import gql

DAY_ONE = "2027-03-03"


async def listed(client: httpx.AsyncClient, service_id: str) -> tuple[list[str], dict[str, str]]:
    view = (await gql(client, DAY, id=service_id, date=DAY_ONE))["dayAvailability"]
    return [s["start"] for s in view["availableSlots"]], {
        s["start"]: s["reason"] for s in view["unavailableSlots"]
    }


@pytest.mark.parametrize("seed", range(10))
async def test_every_listed_slot_can_be_booked_and_every_refused_one_was_not_listed(
    client: httpx.AsyncClient, seed: int
) -> None:
    rng = random.Random(seed)
    _, service_id = await provider_with_service(
        client,
        zone=rng.choice(["America/Los_Angeles", "Asia/Kolkata", "Europe/London"]),
        spans=("09:00-12:00", "13:00-17:00"),
        durationMinutes=rng.choice([15, 30, 45]),
        slotIntervalMinutes=rng.choice([15, 30]),
        bufferBeforeMinutes=rng.choice([0, 15]),
        bufferAfterMinutes=rng.choice([0, 15, 30]),
    )
    for step in range(8):
        available, unavailable = await listed(client, service_id)
        if unavailable and rng.random() < 0.4:
            start, reason = rng.choice(sorted(unavailable.items()))
            result = (
                await gql(
                    client,
                    CREATE_BOOKING,
                    input={"serviceId": service_id, "start": start, "customerId": f"c{step}"},
                )
            )["createBooking"]
            assert result["__typename"] == "SlotUnavailable" and result["reason"] == reason, (start, result)
        elif available:
            start = rng.choice(available)
            operation = rng.choice([(CREATE_BOOKING, "createBooking", "Booking"), (HOLD, "holdSlot", "Hold")])
            result = (
                await gql(
                    client,
                    operation[0],
                    input={"serviceId": service_id, "start": start, "customerId": f"c{step}"},
                )
            )[operation[1]]
            assert result["__typename"] == operation[2], (start, result)


async def test_random_history_of_many_clients(client: httpx.AsyncClient, engine: Any) -> None:
    """Eight clients, a random mix of writes against three providers, every response recorded."""
    services = [
        (await provider_with_service(client, spans=("09:00-13:00",), bufferAfterMinutes=15))[1]
        for _ in range(3)
    ]
    la = ZoneInfo("America/Los_Angeles")
    starts = [datetime(2027, 3, 3, 9, tzinfo=la) + timedelta(minutes=30 * n) for n in range(7)]
    acknowledged: dict[str, str] = {}  # booking id -> last acknowledged status
    holds: list[tuple[str, str]] = []

    async def client_run(name: str, rng: random.Random) -> None:
        for _ in range(12):
            service_id, start = rng.choice(services), rng.choice(starts).isoformat()
            action = rng.choice(["book", "hold", "confirm", "release", "cancel", "reschedule"])
            if action == "book":
                r = (
                    await gql(
                        client,
                        CREATE_BOOKING,
                        input={"serviceId": service_id, "start": start, "customerId": name},
                    )
                )["createBooking"]
                if r["__typename"] == "Booking":
                    acknowledged[r["id"]] = "CONFIRMED"
            elif action == "hold":
                r = (
                    await gql(
                        client, HOLD, input={"serviceId": service_id, "start": start, "customerId": name}
                    )
                )["holdSlot"]
                if r["__typename"] == "Hold":
                    holds.append((r["id"], name))
            elif action in ("confirm", "release") and holds:
                hold_id, owner = holds.pop(rng.randrange(len(holds)))
                if action == "confirm":
                    r = (await gql(client, CONFIRM, input={"holdId": hold_id, "customerId": owner}))[
                        "confirmHold"
                    ]
                    if r["__typename"] == "Booking":
                        acknowledged[r["id"]] = "CONFIRMED"
                else:
                    await gql(client, RELEASE, id=hold_id, customer=owner)
            elif action == "cancel" and acknowledged:
                booking_id = rng.choice(sorted(acknowledged))
                r = (await gql(client, CANCEL, input={"bookingId": booking_id}))["cancelBooking"]
                assert r["__typename"] == "Booking"
                acknowledged[booking_id] = "CANCELLED"
            elif action == "reschedule" and acknowledged:
                booking_id = rng.choice(sorted(acknowledged))
                r = await gql(client, RESCHEDULE, input={"bookingId": booking_id, "newStart": start})
                assert r["rescheduleBooking"]["__typename"] in (
                    "Booking",
                    "SlotUnavailable",
                    "ValidationError",
                )

    await asyncio.gather(*(client_run(f"client-{n}", random.Random(n)) for n in range(8)))
    assert acknowledged
    async with engine.connect() as conn:
        rows = dict(
            (
                await conn.execute(
                    text("SELECT id::text, status FROM reservations WHERE id::text = ANY(:ids)"),
                    {"ids": list(acknowledged)},
                )
            ).all()
        )
        assert rows == acknowledged  # every acknowledged booking exists with its last acknowledged status
        assert (await conn.execute(text(OVERLAPS))).scalar_one() == 0
    for service_id in services:
        view = (await gql(client, DAY, id=service_id, date=DAY_ONE))["dayAvailability"]
        blocking = {s["start"] for s in view["unavailableSlots"] if s["reason"] == "BOOKED"}
        async with engine.connect() as conn:
            cancelled = (
                (
                    await conn.execute(
                        text(
                            "SELECT start_at FROM reservations WHERE service_id = :s AND status = 'CANCELLED'"
                        ),
                        {"s": service_id},
                    )
                )
                .scalars()
                .all()
            )
            active = (
                (
                    await conn.execute(
                        text(
                            "SELECT start_at FROM reservations WHERE service_id = :s AND status = 'CONFIRMED'"
                        ),
                        {"s": service_id},
                    )
                )
                .scalars()
                .all()
            )
        booked = {t.astimezone(la).isoformat() for t in active}
        assert booked <= blocking
        assert not ({t.astimezone(la).isoformat() for t in cancelled} - booked) & blocking
