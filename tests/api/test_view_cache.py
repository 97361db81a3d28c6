"""Repeated reads come from the cache, yet no answer is stale: writes and the clock both count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event

from tests.api.booking_fixtures import CREATE_BOOKING, HOLD
from tests.api.fixtures import provider_with_service
from tests.api.test_availability_api import DAY, MONTH
from tests.conftest import ANONYMOUS, Clock, gql


class StatementCounter:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.engine = client._transport.app.state.engine.sync_engine  # type: ignore[attr-defined]
        self.count = 0

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1


async def slots(client: httpx.AsyncClient, service_id: str) -> dict[str, str | None]:
    view = (await gql(client, DAY, id=service_id, date="2027-03-03"))["dayAvailability"]
    return {s["time"]: None for s in view["availableSlots"]} | {
        s["time"]: s["reason"] for s in view["unavailableSlots"]
    }


async def test_repeated_reads_are_served_without_the_database(client: httpx.AsyncClient) -> None:
    _, service_id = await provider_with_service(client)
    first = await gql(client, MONTH, ANONYMOUS, id=service_id, month="2027-03")
    await gql(client, MONTH, ANONYMOUS, id=service_id, month="2027-03")  # the first read learns the provider
    with StatementCounter(client) as counter:  # a customer's read: no API key to look up either
        again = await gql(client, MONTH, ANONYMOUS, id=service_id, month="2027-03")
    assert counter.count == 0 and again == first


async def test_a_booking_changes_the_next_read_at_once(client: httpx.AsyncClient) -> None:
    _, service_id = await provider_with_service(client)
    for _ in range(2):
        assert (await slots(client, service_id))["10:00"] is None
    await gql(
        client,
        CREATE_BOOKING,
        input={"serviceId": service_id, "start": "2027-03-03T10:00:00-08:00", "customerId": "alice"},
    )
    assert (await slots(client, service_id))["10:00"] == "BOOKED"


async def test_cached_answers_follow_the_clock(client: httpx.AsyncClient, clock: Clock) -> None:
    _, service_id = await provider_with_service(client, minNoticeMinutes=120)
    clock.now = clock.now.replace(day=3, hour=17, minute=59)  # 09:59 in Los Angeles
    for _ in range(2):
        before = await slots(client, service_id)
    assert before["12:00"] is None and before["11:30"] == "NOTICE_PERIOD"
    clock.now += timedelta(minutes=1)  # 10:00: noon is exactly two hours' notice away, still bookable
    at_ten = await slots(client, service_id)
    assert at_ten["12:00"] is None and at_ten["10:00"] == "NOTICE_PERIOD"
    clock.now += timedelta(minutes=1)  # 10:01
    after = await slots(client, service_id)
    assert after["12:00"] == "NOTICE_PERIOD" and after["10:00"] == "PAST"


async def test_a_hold_stops_blocking_cached_views_exactly_at_expiry(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    _, service_id = await provider_with_service(client, holdMinutes=5)
    await gql(
        client, HOLD, input={"serviceId": service_id, "start": "2027-03-03T10:00:00-08:00", "customerId": "a"}
    )
    for _ in range(2):
        assert (await slots(client, service_id))["10:00"] == "HELD"
    clock.now += timedelta(minutes=5)  # no sweep has run in this test: the clock alone frees it
    assert (await slots(client, service_id))["10:00"] is None
