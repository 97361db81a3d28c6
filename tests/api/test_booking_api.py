"""Holds, bookings, cancellations, rescheduling, idempotency and suggestions over HTTP."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.api.booking_fixtures import (
    CANCEL,
    CONFIRM,
    CREATE_BOOKING,
    HOLD,
    RELEASE,
    RESCHEDULE,
    SMART_BOOK,
    SUGGEST,
)
from tests.api.fixtures import SET_WEEK, provider_with_service, week
from tests.api.test_availability_api import DAY
from tests.conftest import Clock, gql

WED_10 = "2027-03-03T10:00:00-08:00"


async def service(client: httpx.AsyncClient, **fields: Any) -> str:
    provider_id, service_id = await provider_with_service(client, **fields)
    await gql(
        client,
        SET_WEEK,
        input={
            "providerId": provider_id,
            "days": week("09:00-17:00", days=["MONDAY", "TUESDAY", "WEDNESDAY"]),
        },
    )
    return service_id


async def day_slots(
    client: httpx.AsyncClient, service_id: str, day: str = "2027-03-03"
) -> tuple[list[str], dict[str, str]]:
    view = (await gql(client, DAY, id=service_id, date=day))["dayAvailability"]
    return [s["time"] for s in view["availableSlots"]], {
        s["time"]: s["reason"] for s in view["unavailableSlots"]
    }


async def book(
    client: httpx.AsyncClient,
    service_id: str,
    start: str = WED_10,
    customer: str = "alice",
    key: str | None = None,
) -> dict[str, Any]:
    fields = {"serviceId": service_id, "start": start, "customerId": customer, "idempotencyKey": key}
    return (await gql(client, CREATE_BOOKING, input=fields))["createBooking"]  # type: ignore[no-any-return]


async def test_a_booking_takes_its_slot_and_a_cancellation_frees_it_at_once(
    client: httpx.AsyncClient,
) -> None:
    service_id = await service(client, bufferAfterMinutes=30)
    booked = await book(client, service_id)
    assert booked["__typename"] == "Booking" and booked["status"] == "CONFIRMED"
    assert booked["start"] == "2027-03-03T18:00:00+00:00"
    available, unavailable = await day_slots(client, service_id)
    assert unavailable == {"10:00": "BOOKED", "09:30": "BUFFER", "10:30": "BUFFER"}
    again = await book(client, service_id, customer="bob")
    assert again == {"__typename": "SlotUnavailable", "reason": "BOOKED", "message": again["message"]}
    cancelled = (await gql(client, CANCEL, input={"bookingId": booked["id"], "reason": "sick"}))[
        "cancelBooking"
    ]
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelReason"] == "sick"
    available, unavailable = await day_slots(client, service_id)
    assert unavailable == {} and "10:00" in available
    assert (await book(client, service_id, customer="bob"))["__typename"] == "Booking"


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("2027-03-03T10:05:00-08:00", "OUTSIDE_SCHEDULE"),  # off the slot grid
        ("2027-03-03T17:00:00-08:00", "OUTSIDE_SCHEDULE"),  # after hours
        ("2027-03-04T10:00:00-08:00", "OUTSIDE_SCHEDULE"),  # Thursday: no hours
        ("2027-03-01T03:00:00-08:00", "PAST"),
        ("2027-06-02T10:00:00-07:00", "BEYOND_HORIZON"),
    ],
)
async def test_only_listed_slots_can_be_booked(client: httpx.AsyncClient, start: str, reason: str) -> None:
    service_id = await service(client)
    assert await book(client, service_id, start=start) == {
        "__typename": "SlotUnavailable",
        "reason": reason,
        "message": f"the slot is unavailable: {reason}",
    }


async def test_a_start_without_an_offset_is_refused(client: httpx.AsyncClient) -> None:
    service_id = await service(client)
    result = await book(client, service_id, start="2027-03-03T10:00:00")
    assert result["__typename"] == "ValidationError" and result["field"] == "start"


@pytest.mark.parametrize("field", ["customerId", "idempotencyKey"])
async def test_text_postgresql_cannot_store_is_a_validation_error(
    client: httpx.AsyncClient, field: str
) -> None:
    service_id = await service(client)
    fields = {"serviceId": service_id, "start": WED_10, "customerId": "c"} | {field: "a\u0000b"}
    booked = (await gql(client, CREATE_BOOKING, input=fields))["createBooking"]
    assert booked == {
        "__typename": "ValidationError",
        "field": field,
        "message": "must not contain the character U+0000",
    }
    day = (await gql(client, DAY, id=service_id, date="2027-03-03"))["dayAvailability"]
    assert "10:00" in [s["time"] for s in day["availableSlots"]]  # nothing was written


async def test_a_customer_id_postgresql_cannot_store_cannot_move_or_cancel(client: httpx.AsyncClient) -> None:
    service_id = await service(client)
    booking = await book(client, service_id)
    bad = {"bookingId": booking["id"], "customerId": "a\u0000b"}
    moved = await gql(client, RESCHEDULE, input=bad | {"newStart": "2027-03-03T11:00:00-08:00"})
    cancelled = await gql(client, CANCEL, input=bad)
    for result in (moved["rescheduleBooking"], cancelled["cancelBooking"]):
        assert result["__typename"] == "ValidationError" and result["field"] == "customerId", result


async def test_hold_confirm_and_ownership(client: httpx.AsyncClient) -> None:
    service_id = await service(client)
    hold = (await gql(client, HOLD, input={"serviceId": service_id, "start": WED_10, "customerId": "alice"}))[
        "holdSlot"
    ]
    assert hold["__typename"] == "Hold" and hold["expiresAt"] == "2027-03-01T12:10:00+00:00"
    assert (await day_slots(client, service_id))[1] == {"10:00": "HELD"}
    assert (await book(client, service_id, customer="bob"))["reason"] == "HELD"
    stolen = (await gql(client, CONFIRM, input={"holdId": hold["id"], "customerId": "bob"}))["confirmHold"]
    assert stolen["__typename"] == "NotFound"
    assert (await gql(client, RELEASE, id=hold["id"], customer="bob"))["releaseHold"][
        "__typename"
    ] == "NotFound"
    confirmed = (await gql(client, CONFIRM, input={"holdId": hold["id"], "customerId": "alice"}))[
        "confirmHold"
    ]
    assert confirmed["__typename"] == "Booking" and confirmed["start"] == "2027-03-03T18:00:00+00:00"
    assert (await day_slots(client, service_id))[1] == {"10:00": "BOOKED"}
    again = (await gql(client, CONFIRM, input={"holdId": hold["id"], "customerId": "alice"}))["confirmHold"]
    assert again["__typename"] == "NotFound"  # a hold converts once


async def test_released_and_expired_holds_free_the_slot(client: httpx.AsyncClient, clock: Clock) -> None:
    service_id = await service(client, holdMinutes=5)
    hold = (await gql(client, HOLD, input={"serviceId": service_id, "start": WED_10, "customerId": "alice"}))[
        "holdSlot"
    ]
    released = (await gql(client, RELEASE, id=hold["id"], customer="alice"))["releaseHold"]
    assert released["status"] == "RELEASED" and (await day_slots(client, service_id))[1] == {}
    hold = (await gql(client, HOLD, input={"serviceId": service_id, "start": WED_10, "customerId": "alice"}))[
        "holdSlot"
    ]
    clock.now += timedelta(minutes=5)  # expiresAt itself: no longer blocks
    assert (await day_slots(client, service_id))[1] == {}
    late = (await gql(client, CONFIRM, input={"holdId": hold["id"], "customerId": "alice"}))["confirmHold"]
    assert late["__typename"] == "HoldExpired" and late["holdId"] == hold["id"]
    assert (await book(client, service_id, customer="bob"))["__typename"] == "Booking"


async def test_an_expired_hold_is_taken_over_without_any_background_job(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    service_id = await service(client, holdMinutes=5)
    await gql(client, HOLD, input={"serviceId": service_id, "start": WED_10, "customerId": "alice"})
    clock.now += timedelta(minutes=5)
    assert (await book(client, service_id, customer="bob"))["__typename"] == "Booking"


async def test_reschedule_moves_atomically_and_its_own_time_never_blocks(client: httpx.AsyncClient) -> None:
    service_id = await service(client, bufferAfterMinutes=30)
    booked = await book(client, service_id)
    moved = (
        await gql(
            client, RESCHEDULE, input={"bookingId": booked["id"], "newStart": "2027-03-03T10:30:00-08:00"}
        )
    )["rescheduleBooking"]
    assert moved["__typename"] == "Booking" and moved["id"] == booked["id"]
    assert moved["start"] == "2027-03-03T18:30:00+00:00"
    assert (await day_slots(client, service_id))[1] == {
        "10:00": "BUFFER",
        "10:30": "BOOKED",
        "11:00": "BUFFER",
    }
    other = await book(client, service_id, start="2027-03-03T15:00:00-08:00", customer="bob")
    blocked = (
        await gql(
            client, RESCHEDULE, input={"bookingId": booked["id"], "newStart": "2027-03-03T15:30:00-08:00"}
        )
    )["rescheduleBooking"]
    assert blocked == {"__typename": "SlotUnavailable", "reason": "BUFFER", "message": blocked["message"]}
    assert (await day_slots(client, service_id))[1]["10:30"] == "BOOKED"  # a refused move keeps the old slot
    await gql(client, CANCEL, input={"bookingId": other["id"]})
    cancelled_move = (await gql(client, RESCHEDULE, input={"bookingId": other["id"], "newStart": WED_10}))[
        "rescheduleBooking"
    ]
    assert cancelled_move["__typename"] == "ValidationError"


async def test_idempotent_retries_replay_the_first_result(client: httpx.AsyncClient, engine: Any) -> None:
    service_id = await service(client)
    first = await book(client, service_id, key="k-1")
    assert await book(client, service_id, key="k-1") == first
    conflict = await book(client, service_id, start="2027-03-03T11:00:00-08:00", key="k-1")
    assert conflict["__typename"] == "IdempotencyConflict" and conflict["idempotencyKey"] == "k-1"
    assert (await book(client, service_id, customer="bob", key="k-1"))[
        "__typename"
    ] == "SlotUnavailable"  # keys are per caller
    refused = await book(client, service_id, customer="carol", key="k-2")
    assert refused["reason"] == "BOOKED"
    await gql(client, CANCEL, input={"bookingId": first["id"]})
    assert (
        await book(client, service_id, customer="carol", key="k-2") == refused
    )  # the first failure, replayed
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT count(*) FROM reservations WHERE service_id = :s"), {"s": service_id}
            )
        ).scalar_one()
    assert rows == 1


async def test_concurrent_duplicates_make_one_reservation(client: httpx.AsyncClient, engine: Any) -> None:
    service_id = await service(client)
    results = await asyncio.gather(*(book(client, service_id, key="same") for _ in range(10)))
    assert {r["id"] for r in results} == {results[0]["id"]} and results[0]["__typename"] == "Booking"
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT count(*) FROM reservations WHERE service_id = :s"), {"s": service_id}
            )
        ).scalar_one()
    assert rows == 1


async def test_every_change_is_audited_and_the_audit_cannot_be_changed(
    client: httpx.AsyncClient, engine: Any
) -> None:
    service_id = await service(client)
    booked = await book(client, service_id)
    await gql(client, RESCHEDULE, input={"bookingId": booked["id"], "newStart": "2027-03-03T11:00:00-08:00"})
    await gql(client, CANCEL, input={"bookingId": booked["id"], "customerId": "alice"})
    async with engine.connect() as conn:
        trail = (
            await conn.execute(
                text(
                    "SELECT action, actor, before->>'start', after->>'status' "
                    "FROM reservation_audit WHERE reservation_id = :r ORDER BY id"
                ),
                {"r": booked["id"]},
            )
        ).all()
    assert [tuple(row) for row in trail] == [
        ("BOOKING_CREATED", "alice", None, "CONFIRMED"),
        ("BOOKING_RESCHEDULED", None, "2027-03-03 18:00:00+00:00", "CONFIRMED"),
        ("BOOKING_CANCELLED", "alice", "2027-03-03 19:00:00+00:00", "CANCELLED"),
    ]
    for statement in ("UPDATE reservation_audit SET actor = 'mallory'", "DELETE FROM reservation_audit"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))


async def test_suggestions_are_scored_by_the_design_formula(client: httpx.AsyncClient) -> None:
    service_id = await service(client, bufferAfterMinutes=0)
    await book(client, service_id, start="2027-03-03T11:00:00-08:00")  # leaves 10:30-11:00 a tight fit
    found = await gql(
        client,
        SUGGEST,
        input={
            "serviceId": service_id,
            "preferredStart": "2027-03-03T10:30:00-08:00",
            "searchFrom": "2027-03-02T00:00:00-08:00",
            "searchTo": "2027-03-04T00:00:00-08:00",
            "limit": 4,
        },
    )
    assert [(s["start"][11:16], s["score"], s["timeDifferenceMinutes"]) for s in found["suggestSlots"]] == [
        ("18:30", 50 + 30 + 20, 0),  # exact time, fills the gap before 11:00 exactly, same weekday
        ("18:00", 40 + 20 + 20, -30),
        ("17:30", 30 + 20 + 20, -60),  # ties with 11:30 (19:30Z): the earlier first
        ("19:30", 30 + 20 + 20, 60),
    ]


async def test_smart_book_takes_the_best_slot(client: httpx.AsyncClient) -> None:
    service_id = await service(client)
    result = (
        await gql(
            client,
            SMART_BOOK,
            input={
                "serviceId": service_id,
                "customerId": "alice",
                "preferredStart": "2027-03-03T10:10:00-08:00",
            },
        )
    )["smartBook"]
    assert (
        result["__typename"] == "SmartBooking" and result["booking"]["start"] == "2027-03-03T18:00:00+00:00"
    )
    assert result["timeDifferenceMinutes"] == -10 and result["score"] == 40 + 20 + 20
    second = (
        await gql(
            client,
            SMART_BOOK,
            input={
                "serviceId": service_id,
                "customerId": "bob",
                "preferredStart": "2027-03-03T10:10:00-08:00",
            },
        )
    )["smartBook"]
    # 09:30 (40 min early, fits exactly before 10:00) ties 10:30 (20 min late, longer gap) at 80: earlier wins
    assert second["booking"]["start"] == "2027-03-03T17:30:00+00:00" and second["score"] == 80
    bad = await gql(
        client,
        SMART_BOOK,
        input={
            "serviceId": service_id,
            "customerId": "bob",
            "preferredStart": "2027-03-03T10:00:00-08:00",
            "searchFrom": "2027-03-05T00:00:00Z",
            "searchTo": "2027-03-04T00:00:00Z",
        },
    )
    assert bad["smartBook"]["__typename"] == "ValidationError" and bad["smartBook"]["field"] == "searchTo"


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
async def test_implausible_times_are_refused_before_the_database(
    client: httpx.AsyncClient, start: str
) -> None:
    service_id = await service(client)
    for operation in (HOLD, CREATE_BOOKING):
        result = next(
            iter(
                (
                    await gql(
                        client,
                        operation,
                        input={"serviceId": service_id, "start": start, "customerId": "alice"},
                    )
                ).values()
            )
        )
        assert result["__typename"] == "ValidationError" and result["field"] == "start"


async def test_release_without_the_customer_says_who_may_release(client: httpx.AsyncClient) -> None:
    service_id = await service(client)
    hold = (await gql(client, HOLD, input={"serviceId": service_id, "start": WED_10, "customerId": "alice"}))[
        "holdSlot"
    ]
    refused = (await gql(client, RELEASE, id=hold["id"], customer=None))["releaseHold"]
    assert refused["__typename"] == "ValidationError" and "customer who made the hold" in refused["message"]


async def test_smart_book_with_nothing_free_says_so(client: httpx.AsyncClient) -> None:
    service_id = await service(client)
    result = (
        await gql(
            client,
            SMART_BOOK,
            input={
                "serviceId": service_id,
                "customerId": "a",
                "preferredStart": "2027-03-04T10:00:00-08:00",
                "searchFrom": "2027-03-04T00:00:00-08:00",
                "searchTo": "2027-03-05T00:00:00-08:00",
            },
        )
    )["smartBook"]
    assert result == {
        "__typename": "NotFound",
        "message": "no available slot between searchFrom and searchTo",
    }
