"""Availability notifications across real instances: fulfilled once, pushed live on every
instance, and delivered to a partner's webhook exactly once through failures and restarts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from domain.webhooks import verify
from tests.api.booking_fixtures import CANCEL, CREATE_BOOKING
from tests.api.fixtures import CREATE_PROVIDER, CREATE_SERVICE, SET_WEEK, week
from tests.live.helpers import at, day_ahead, next_message, post, subscription
from tests.servers import free_port, uvicorn_servers
from tests.webhook_receiver import receiver

T = TypeVar("T")
REDIS_URL = "redis://127.0.0.1:6379/0"
FAST = {
    "REDIS_URL": REDIS_URL,
    "SLOTWISE_WEBHOOK_POLL_SECONDS": "0.1",
    "SLOTWISE_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
}
OPENED = """subscription($service: ID, $customer: String) {
  availabilityOpened(serviceId: $service, customerId: $customer) {
    id requestId customerId cause slot { start time } } }"""
REQUEST = """mutation($input: RequestAvailabilityNotificationInput!) {
  requestAvailabilityNotification(input: $input) { __typename
    ... on AvailabilityNotificationRequest { id status } ... on ValidationError { field message } } }"""
REGISTER = """mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { __typename
    ... on Webhook { id secret } ... on ValidationError { field message } } }"""
REMOVE = """mutation($id: ID!) { removeWebhook(id: $id) { __typename } }"""


async def eventually(check: Callable[[], Awaitable[T]], seconds: float = 10.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def booked_up(http: httpx.AsyncClient, url: str) -> tuple[str, str, str]:
    """A UTC provider open 10:00-11:00 daily, both slots of the day after tomorrow booked;
    returns the provider, the service and the 10:30 booking."""
    provider = await post(http, url, CREATE_PROVIDER, name="Notify", tz="UTC")
    await post(http, url, SET_WEEK, input={"providerId": provider["id"], "days": week("10:00-11:00")})
    service = await post(
        http,
        url,
        CREATE_SERVICE,
        input={
            "providerId": provider["id"],
            "name": "Notify",
            "durationMinutes": 30,
            "bufferAfterMinutes": 0,
            "minNoticeMinutes": 0,
        },
    )
    booking_ids = []
    for start in (at(10), at(10, 30)):
        made = await post(
            http, url, CREATE_BOOKING, input={"serviceId": service["id"], "start": start, "customerId": "al"}
        )
        assert made["__typename"] == "Booking", made
        booking_ids.append(made["id"])
    return provider["id"], service["id"], booking_ids[1]


async def ask(http: httpx.AsyncClient, url: str, service_id: str, customer: str) -> dict[str, Any]:
    fields = {"serviceId": service_id, "customerId": customer, "from": day_ahead(), "to": day_ahead()}
    return await post(http, url, REQUEST, input=fields)


async def outbox(engine: Any, webhook_id: str) -> list[Any]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT attempts, delivered_at, last_error FROM webhook_outbox WHERE webhook_id = :w"),
            {"w": UUID(webhook_id)},
        )
        return list(found)


async def test_one_notification_live_on_every_instance_and_one_accepted_webhook_delivery(
    database_url: str, engine: Any
) -> None:
    with uvicorn_servers(database_url, **FAST) as (a, b), receiver(free_port(), [500, 500, 200]) as partner:
        async with httpx.AsyncClient() as http:
            provider_id, service_id, booking_id = await booked_up(http, a)
            hook = await post(http, b, REGISTER, input={"url": partner.url, "providerId": provider_id})
            customer = f"live-{UUID(int=time.time_ns())}"
            request = await ask(http, a, service_id, customer)
            assert request["status"] == "ACTIVE"
            try:
                async with (
                    subscription(a, OPENED, as_admin=True, service=service_id) as on_a,
                    subscription(b, OPENED, customer=customer) as on_b,
                ):
                    await asyncio.sleep(0.5)  # availabilityOpened sends nothing until a notification
                    await post(http, b, CANCEL, input={"bookingId": booking_id})
                    pushed_a = (await next_message(on_a, 10))["availabilityOpened"]
                    pushed_b = (await next_message(on_b, 10))["availabilityOpened"]
                    assert pushed_a == pushed_b
                    assert pushed_a["requestId"] == request["id"] and pushed_a["cause"] == "BOOKING_CANCELLED"
                    assert pushed_a["slot"] == {"start": at(10, 30), "time": "10:30"}
                    # freed and taken again on either instance: the request is fulfilled already
                    again = await post(
                        http,
                        a,
                        CREATE_BOOKING,
                        input={"serviceId": service_id, "start": at(10, 30), "customerId": "bo"},
                    )
                    await post(http, b, CANCEL, input={"bookingId": again["id"]})
                    for queue in (on_a, on_b):
                        with pytest.raises(TimeoutError):
                            await next_message(queue, 1)

                # the subscriptions are gone, and with them each instance's listening connection
                await eventually(lambda: _quiet(http, [a, b], engine))
                await eventually(lambda: outbox(engine, hook["id"]))
                done = await eventually(lambda: _delivered(engine, hook["id"]))
                await asyncio.sleep(1)  # both instances keep polling the outbox: nothing more is sent
                got = partner.all()
            finally:
                await post(http, a, REMOVE, id=hook["id"])
    assert [r.status for r in got] == [500, 500, 200]
    assert done.attempts == 3 and done.last_error is None
    assert len({r.headers["x-slotwise-delivery"] for r in got}) == 1
    now = datetime.now(UTC)
    for delivery in got:
        stamp = delivery.headers["x-slotwise-timestamp"]
        assert verify(hook["secret"], stamp, delivery.body, delivery.headers["x-slotwise-signature"], now)
    sent = json.loads(got[-1].body)["notification"]
    assert sent["id"] == pushed_a["id"] and sent["customerId"] == customer


async def _quiet(http: httpx.AsyncClient, urls: list[str], engine: Any) -> bool:
    health = [(await http.get(f"{url}/healthz")).json() for url in urls]
    async with engine.connect() as conn:
        listeners = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'slotwise-opened-listener' AND datname = current_database()"
                )
            )
        ).scalar_one()
    return all(h["liveSubscriptions"] == 0 for h in health) and listeners == 0


async def _delivered(engine: Any, webhook_id: str) -> Any:
    found = await outbox(engine, webhook_id)
    return found[0] if found and found[0].delivered_at else None


async def test_a_delivery_pending_when_the_server_stops_is_made_after_it_restarts(
    database_url: str, engine: Any
) -> None:
    port = free_port()
    async with httpx.AsyncClient() as http:
        with uvicorn_servers(database_url, count=1, **FAST) as (first,):
            provider_id, service_id, booking_id = await booked_up(http, first)
            url = f"http://127.0.0.1:{port}/in"
            hook = await post(http, first, REGISTER, input={"url": url, "providerId": provider_id})
            await ask(http, first, service_id, "restart")
            await post(http, first, CANCEL, input={"bookingId": booking_id})
            refused = await eventually(lambda: _attempted(engine, hook["id"]))
            assert "ConnectError" in refused.last_error
        # the server is gone; the receiver comes up; a new server finds the delivery in the outbox
        with receiver(port, [200]) as partner, uvicorn_servers(database_url, count=1, **FAST) as (second,):
            try:
                done = await eventually(lambda: _delivered(engine, hook["id"]), seconds=15)
            finally:
                await post(http, second, REMOVE, id=hook["id"])
            assert len(partner.accepted()) == 1 and done.attempts >= 2


async def _attempted(engine: Any, webhook_id: str) -> Any:
    found = await outbox(engine, webhook_id)
    return found[0] if found and found[0].attempts >= 1 and found[0].last_error else None
