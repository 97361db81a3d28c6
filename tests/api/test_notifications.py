"""Availability notifications in-process: requests fulfilled once by what opens time, the live
`availabilityOpened` subscription, and signed webhook deliveries retried from the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from domain.changes import AvailabilityChange, ChangeCause
from domain.webhooks import verify
from resolvers import notifications
from schema.context import RequestContext
from schema.schema import schema
from slotwise.app import create_app
from slotwise.config import Settings
from tests import keys
from tests.api.booking_fixtures import CANCEL, CREATE_BOOKING, HOLD
from tests.api.fixtures import ADD_EXCEPTION, provider_with_service
from tests.conftest import Clock, gql, gql_errors
from tests.servers import free_port
from tests.webhook_receiver import receiver

T = TypeVar("T")
WED = "2027-03-03"
WED_0900 = "2027-03-03T09:00:00-08:00"
WED_0930 = "2027-03-03T09:30:00-08:00"
MAX_ATTEMPTS = 4

REQUEST = """mutation($input: RequestAvailabilityNotificationInput!) {
  requestAvailabilityNotification(input: $input) { __typename
    ... on AvailabilityNotificationRequest { id status from to timezone customerId fulfilledAt
      openedSlot { start end date time } }
    ... on ValidationError { field message } ... on NotFound { id message } } }"""
CANCEL_REQUEST = """mutation($id: ID!, $customer: String!) {
  cancelAvailabilityNotification(id: $id, customerId: $customer) { __typename
    ... on AvailabilityNotificationRequest { id status } ... on NotFound { id message } } }"""
REGISTER = """mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { __typename
    ... on Webhook { id url providerId active secret }
    ... on ValidationError { field message } ... on NotFound { id message } } }"""
REMOVE = """mutation($id: ID!) { removeWebhook(id: $id) { __typename
    ... on Webhook { id active secret } ... on NotFound { id message } } }"""
OPENED = """subscription($service: ID, $customer: String, $since: DateTime) {
  availabilityOpened(serviceId: $service, customerId: $customer, since: $since) {
    id requestId serviceId customerId from to timezone cause createdAt slot { start end date time } } }"""


@pytest.fixture
async def served(database_url: str, clock: Clock) -> AsyncIterator[tuple[httpx.AsyncClient, Starlette]]:
    """The app with fast background work: webhooks polled every 50 ms, retries from 50 ms."""
    settings = Settings(
        SLOTWISE_WEBHOOK_POLL_SECONDS=0.05,
        SLOTWISE_WEBHOOK_RETRY_BASE_SECONDS=0.05,
        SLOTWISE_WEBHOOK_MAX_ATTEMPTS=MAX_ATTEMPTS,
        SLOTWISE_WEBHOOK_TIMEOUT_SECONDS=2,
        SLOTWISE_HOLD_SWEEP_SECONDS=0.05,
    )
    app = create_app(settings, database_url, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=keys.ADMIN_HEADERS
        ) as http:
            yield http, app


async def eventually(check: Callable[[], Awaitable[T]], seconds: float = 5.0) -> T:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def rows(app: Starlette, sql: str, **params: Any) -> list[Any]:
    async with app.state.engine.connect() as conn:
        return list(await conn.execute(text(sql), params))


async def fully_booked_wednesday(http: httpx.AsyncClient, **service: Any) -> tuple[str, str, list[str]]:
    """A service open 09:00-10:00 (Los Angeles) every day, both Wednesday slots booked."""
    provider_id, service_id = await provider_with_service(http, spans=("09:00-10:00",), **service)
    bookings = []
    for start in (WED_0900, WED_0930):
        made = await gql(
            http, CREATE_BOOKING, input={"serviceId": service_id, "start": start, "customerId": "alice"}
        )
        assert made["createBooking"]["__typename"] == "Booking"
        bookings.append(made["createBooking"]["id"])
    return provider_id, service_id, bookings


async def ask(
    http: httpx.AsyncClient,
    service_id: str,
    customer: str = "carol",
    first: str = WED,
    last: str = WED,
    **more: Any,
) -> dict[str, Any]:
    fields = {"serviceId": service_id, "customerId": customer, "from": first, "to": last} | more
    return (await gql(http, REQUEST, input=fields))["requestAvailabilityNotification"]  # type: ignore[no-any-return]


async def cancel(http: httpx.AsyncClient, booking_id: str) -> None:
    result = await gql(http, CANCEL, input={"bookingId": booking_id})
    assert result["cancelBooking"]["status"] == "CANCELLED"


@contextlib.asynccontextmanager
async def live(app: Starlette, **variables: Any) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """An availabilityOpened subscription run in-process; returns once it is registered."""
    context = app.state.context
    hub = notifications.opened_hub(context)
    before = hub.subscribers if hub else 0
    results = await schema.subscribe(OPENED, variable_values=variables, context_value=RequestContext(context))
    assert hasattr(results, "__aiter__"), results
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def pump() -> None:
        async for result in results:  # type: ignore[union-attr]
            assert not result.errors, result.errors
            await queue.put(result.data["availabilityOpened"])

    task = asyncio.create_task(pump())

    async def registered() -> bool:
        if task.done():
            task.result()
        found = notifications.opened_hub(context)
        return found is not None and found.subscribers > before

    try:
        await eventually(registered)
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await results.aclose()  # type: ignore[union-attr]


async def quiet(queue: asyncio.Queue[dict[str, Any]], seconds: float = 0.4) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), seconds)


# --- requests and fulfilment --------------------------------------------------------------------


async def test_a_cancellation_fulfils_a_waiting_request_once_and_it_is_pushed_live(
    served: tuple[httpx.AsyncClient, Starlette],
) -> None:
    http, app = served
    _, service_id, (first_booking, second_booking) = await fully_booked_wednesday(http)
    request = await ask(http, service_id)
    assert request["status"] == "ACTIVE" and request["openedSlot"] is None
    assert request["timezone"] == "America/Los_Angeles" and request["from"] == request["to"] == WED
    assert (await ask(http, service_id))["id"] == request["id"]  # asking again: the same request

    async with (
        live(app, service=service_id) as by_service,
        live(app, customer="carol") as by_customer,
        live(app, customer="dave") as someone_else,
    ):
        await cancel(http, second_booking)
        pushed = await asyncio.wait_for(by_service.get(), 5)
        assert pushed["requestId"] == request["id"] and pushed["customerId"] == "carol"
        assert pushed["cause"] == "BOOKING_CANCELLED"
        assert pushed["slot"] == {
            "start": "2027-03-03T17:30:00+00:00",
            "end": "2027-03-03T18:00:00+00:00",
            "date": WED,
            "time": "09:30",
        }
        assert await asyncio.wait_for(by_customer.get(), 5) == pushed
        await quiet(someone_else)

        # Taken and freed again: the request was fulfilled once, nobody is told twice.
        again = await gql(
            http, CREATE_BOOKING, input={"serviceId": service_id, "start": WED_0930, "customerId": "bob"}
        )
        await cancel(http, again["createBooking"]["id"])
        await cancel(http, first_booking)
        await quiet(by_service)
        await quiet(by_customer)

    stored = await rows(
        app,
        "SELECT status, opened_start FROM availability_notification_requests WHERE id = :id",
        id=UUID(request["id"]),
    )
    assert [r.status for r in stored] == ["FULFILLED"]
    made = await rows(
        app, "SELECT id FROM availability_notifications WHERE request_id = :id", id=UUID(request["id"])
    )
    assert [str(r.id) for r in made] == [pushed["id"]]
    assert notifications.opened_hub(app.state.context) is None  # the listener stops with its last subscriber


async def test_many_instances_checking_one_change_fulfil_a_request_once(
    served: tuple[httpx.AsyncClient, Starlette],
) -> None:
    http, app = served
    provider_id, service_id, (_, booking_id) = await fully_booked_wednesday(http)
    requests = [(await ask(http, service_id, customer=f"c{n}"))["id"] for n in range(3)]
    async with (
        app.state.engine.begin() as conn
    ):  # free the slot behind the workers' backs: no change published
        await conn.execute(
            text("UPDATE reservations SET status = 'CANCELLED' WHERE id = :id"), {"id": UUID(booking_id)}
        )
        sequence = (
            await conn.execute(
                text(
                    "INSERT INTO provider_change_sequences VALUES (:p, 1) ON CONFLICT (provider_id) "
                    "DO UPDATE SET last_sequence = provider_change_sequences.last_sequence + 1 RETURNING last_sequence"
                ),
                {"p": UUID(provider_id)},
            )
        ).scalar_one()
    change = AvailabilityChange(
        provider_id, ChangeCause.BOOKING_CANCELLED, sequence, app.state.context.clock(), ()
    )
    found = await asyncio.gather(*(notifications.fulfil(app.state.context, change) for _ in range(12)))
    made = [n for batch in found for n in batch]
    assert sorted(str(n.request_id) for n in made) == sorted(requests)  # each request once, by one "instance"
    count = await rows(
        app, "SELECT count(*) AS n FROM availability_notifications WHERE service_id = :s", s=UUID(service_id)
    )
    assert count[0].n == 3


async def test_an_expired_hold_fulfils_a_request(
    served: tuple[httpx.AsyncClient, Starlette], clock: Clock
) -> None:
    http, app = served
    _, service_id, (_, booking_id) = await fully_booked_wednesday(http)
    await cancel(http, booking_id)
    hold = await gql(http, HOLD, input={"serviceId": service_id, "start": WED_0930, "customerId": "bob"})
    assert hold["holdSlot"]["__typename"] == "Hold"
    request = await ask(http, service_id)
    assert request["status"] == "ACTIVE"
    async with live(app, service=service_id, customer="carol") as opened:
        clock.now += timedelta(minutes=11)  # past the hold's 10 minutes; the sweep expires it
        pushed = await asyncio.wait_for(opened.get(), 5)
    assert pushed["cause"] == "HOLD_EXPIRED" and pushed["slot"]["time"] == "09:30"


async def test_a_schedule_change_fulfils_a_request(served: tuple[httpx.AsyncClient, Starlette]) -> None:
    http, app = served
    provider_id, service_id, _ = await fully_booked_wednesday(http)
    request = await ask(http, service_id)
    async with live(app, service=service_id) as opened:
        added = await gql(
            http,
            ADD_EXCEPTION,
            input={
                "providerId": provider_id,
                "date": WED,
                "closed": False,
                "windows": [{"start": "09:00", "end": "11:00"}],
            },
        )
        assert added["addDateException"]["__typename"] == "Schedule"
        pushed = await asyncio.wait_for(opened.get(), 5)
    assert pushed["requestId"] == request["id"] and pushed["cause"] == "SCHEDULE_CHANGED"
    assert pushed["slot"]["time"] == "10:00"


async def test_a_slot_open_already_fulfils_the_request_at_once(
    served: tuple[httpx.AsyncClient, Starlette],
) -> None:
    http, app = served
    _, service_id, _ = await fully_booked_wednesday(http)
    customer = f"erin-{uuid4()}"
    request = await ask(
        http, service_id, customer=customer, first=WED, last="2027-03-04", timezone="Europe/London"
    )
    assert request["status"] == "FULFILLED" and request["timezone"] == "Europe/London"
    # Wednesday's slots are taken; Thursday 09:00 in Los Angeles is 17:00 in London
    assert request["openedSlot"] == {
        "start": "2027-03-04T17:00:00+00:00",
        "end": "2027-03-04T17:30:00+00:00",
        "date": "2027-03-04",
        "time": "17:00",
    }
    assert request["fulfilledAt"] == "2027-03-01T12:00:00+00:00"
    async with live(app, customer=customer, since="2027-03-01T11:00:00+00:00") as opened:  # caught up
        replayed = await asyncio.wait_for(opened.get(), 5)
    assert replayed["requestId"] == request["id"] and replayed["cause"] is None


async def test_a_cancelled_request_is_not_fulfilled(served: tuple[httpx.AsyncClient, Starlette]) -> None:
    http, app = served
    _, service_id, (_, booking_id) = await fully_booked_wednesday(http)
    request = await ask(http, service_id)
    stolen = (await gql(http, CANCEL_REQUEST, id=request["id"], customer="mallory"))[
        "cancelAvailabilityNotification"
    ]
    assert stolen["__typename"] == "NotFound"
    done = (await gql(http, CANCEL_REQUEST, id=request["id"], customer="carol"))[
        "cancelAvailabilityNotification"
    ]
    assert done == {
        "__typename": "AvailabilityNotificationRequest",
        "id": request["id"],
        "status": "CANCELLED",
    }
    async with live(app, service=service_id) as opened:
        await cancel(http, booking_id)
        await quiet(opened)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2027-03-05", "2027-03-04", "to"),  # to before from
        ("2027-02-28", "2027-03-04", "from"),  # in the past
        ("2027-03-02", "2027-05-31", "to"),  # 91 days
        ("2027-03-02", "2031-03-02", "to"),  # years away
    ],
)
async def test_bad_ranges_are_validation_errors(
    served: tuple[httpx.AsyncClient, Starlette], first: str, last: str, field: str
) -> None:
    http, _ = served
    _, service_id = await provider_with_service(http)
    result = await ask(http, service_id, first=first, last=last)
    assert result["__typename"] == "ValidationError" and result["field"] == field, result


async def test_bad_requests_are_typed_errors(served: tuple[httpx.AsyncClient, Starlette]) -> None:
    http, _ = served
    _, service_id = await provider_with_service(http)
    assert (await ask(http, service_id, first="2027-03-02", last="2027-05-30"))["status"] in (
        "ACTIVE",
        "FULFILLED",
    )
    unknown = await ask(http, "00000000-0000-0000-0000-000000000000")
    assert unknown["__typename"] == "NotFound"
    assert (await ask(http, "not-a-uuid"))["__typename"] == "NotFound"
    assert (await ask(http, service_id, customer="  "))["field"] == "customerId"
    errors = await gql_errors(
        http,
        REQUEST,
        input={
            "serviceId": service_id,
            "customerId": "c",
            "from": WED,
            "to": WED,
            "timezone": "Mars/Olympus",
        },
    )
    assert "Mars/Olympus" in errors[0]["message"]
    results = await schema.subscribe(
        OPENED, variable_values={}, context_value=RequestContext(_app_context(served))
    )
    first = await results.__anext__()  # type: ignore[union-attr]
    assert first.errors and first.errors[0].extensions["field"] == "serviceId"


def _app_context(served: tuple[httpx.AsyncClient, Starlette]) -> Any:
    return served[1].state.context


# --- webhooks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://user:password@example.com/hook"}, "url"),
        ({"url": "http://example.com:99999/hook"}, "url"),
        ({"url": "https://example.com/" + "x" * 2000}, "url"),
        ({"url": "https://example.com/hook", "secret": "short"}, "secret"),
        ({"url": "https://example.com/ho\u0000ok"}, "url"),
        ({"url": "https://example.com/hook", "secret": "sixteen-chars-\u001b-long"}, "secret"),
    ],
)
async def test_bad_webhooks_are_validation_errors(
    served: tuple[httpx.AsyncClient, Starlette], fields: dict[str, str], field: str
) -> None:
    http, _ = served
    result = (await gql(http, REGISTER, input=fields))["registerWebhook"]
    assert result["__typename"] == "ValidationError" and result["field"] == field, result


async def test_webhooks_register_with_a_secret_shown_once_and_remove(
    served: tuple[httpx.AsyncClient, Starlette],
) -> None:
    http, _ = served
    made = (await gql(http, REGISTER, input={"url": "https://partner.example/hooks"}))["registerWebhook"]
    assert made["__typename"] == "Webhook" and made["active"] and len(made["secret"]) >= 40
    given = await gql(http, REGISTER, input={"url": "https://partner.example/x", "secret": "s" * 16})
    assert given["registerWebhook"]["secret"] == "s" * 16
    await gql(http, REMOVE, id=given["registerWebhook"]["id"])  # no stray webhooks for other tests
    unknown = {"url": "https://partner.example/x", "providerId": "00000000-0000-0000-0000-000000000000"}
    assert (await gql(http, REGISTER, input=unknown))["registerWebhook"]["__typename"] == "NotFound"
    removed = (await gql(http, REMOVE, id=made["id"]))["removeWebhook"]
    assert removed == {"__typename": "Webhook", "id": made["id"], "active": False, "secret": None}
    assert (await gql(http, REMOVE, id=made["id"]))["removeWebhook"]["active"] is False  # again: no change
    assert (await gql(http, REMOVE, id="00000000-0000-0000-0000-000000000000"))["removeWebhook"][
        "__typename"
    ] == "NotFound"


async def outbox(app: Starlette, webhook_id: str) -> list[Any]:
    return await rows(
        app,
        "SELECT id, attempts, next_attempt_at, delivered_at, failed_at, last_status, last_error "
        "FROM webhook_outbox WHERE webhook_id = :w",
        w=UUID(webhook_id),
    )


async def hooked_notification(
    http: httpx.AsyncClient, app: Starlette, url: str
) -> tuple[dict[str, Any], str]:
    """A webhook for a new provider, then a request of its fulfilled by a cancellation."""
    provider_id, service_id, (_, booking_id) = await fully_booked_wednesday(http)
    hook = (await gql(http, REGISTER, input={"url": url, "providerId": provider_id}))["registerWebhook"]
    assert hook["__typename"] == "Webhook" and hook["providerId"] == provider_id
    assert (await ask(http, service_id))["status"] == "ACTIVE"
    await cancel(http, booking_id)
    await eventually(
        lambda: rows(
            app, "SELECT 1 FROM availability_notifications WHERE service_id = :s", s=UUID(service_id)
        )
    )
    return hook, provider_id


def attempted(app: Starlette, webhook_id: str, attempts: int, clock: Clock) -> Callable[[], Awaitable[Any]]:
    """The delivery once its `attempts`-th attempt is recorded (no longer leased to a sender)."""

    async def check() -> Any:
        found = await outbox(app, webhook_id)
        recorded = found and found[0].attempts == attempts and found[0].last_error
        if recorded and (found[0].failed_at or found[0].next_attempt_at < clock.now + timedelta(seconds=5)):
            return found[0]
        return None

    return check


def delivered(app: Starlette, webhook_id: str) -> Callable[[], Awaitable[Any]]:
    async def check() -> Any:
        found = await outbox(app, webhook_id)
        return found[0] if found and found[0].delivered_at else None

    return check


async def test_a_webhook_failing_twice_gets_one_signed_delivery_with_backoff(
    served: tuple[httpx.AsyncClient, Starlette], clock: Clock
) -> None:
    http, app = served
    with receiver(free_port(), [500, 500, 200]) as partner:
        hook, _ = await hooked_notification(http, app, partner.url)
        first = await eventually(attempted(app, hook["id"], 1, clock))
        assert first.last_status == 500 and first.last_error == "HTTP 500" and first.delivered_at is None
        assert 0.025 <= (first.next_attempt_at - clock.now).total_seconds() <= 0.05  # base, with jitter

        clock.now += timedelta(seconds=1)
        second = await eventually(attempted(app, hook["id"], 2, clock))
        assert 0.05 <= (second.next_attempt_at - clock.now).total_seconds() <= 0.1  # doubled

        clock.now += timedelta(seconds=1)
        done = await eventually(delivered(app, hook["id"]))
        assert done.attempts == 3 and done.last_status == 200 and done.last_error is None

        clock.now += timedelta(hours=1)  # the worker keeps running: nothing is sent again
        await asyncio.sleep(0.3)
        got = partner.all()
    assert [r.status for r in got] == [500, 500, 200]
    assert {r.headers["x-slotwise-delivery"] for r in got} == {str(done.id)}
    for delivery in got:
        headers = delivery.headers
        assert headers["content-type"] == "application/json"
        assert headers["x-slotwise-event"] == "availability.opened"
        stamp, signed = headers["x-slotwise-timestamp"], headers["x-slotwise-signature"]
        sent = datetime.fromtimestamp(int(stamp), UTC)  # the app's (frozen, then moved) clock
        assert timedelta(0) <= sent - datetime(2027, 3, 1, 12, tzinfo=UTC) <= timedelta(seconds=2)
        assert signed.startswith("sha256=")
        assert verify(hook["secret"], stamp, delivery.body, signed, sent + timedelta(seconds=1))
        assert not verify("another-secret-of-16", stamp, delivery.body, signed, sent)
        assert not verify(hook["secret"], stamp, delivery.body + b" ", signed, sent)
        assert not verify(hook["secret"], stamp, delivery.body, signed, sent + timedelta(minutes=6))
    body = json.loads(got[-1].body)
    assert body["type"] == "availability.opened"
    assert body["notification"]["customerId"] == "carol" and body["notification"]["slot"]["time"] == "09:30"


async def test_a_receiver_down_at_first_gets_the_delivery_once_it_is_up(
    served: tuple[httpx.AsyncClient, Starlette], clock: Clock
) -> None:
    http, app = served
    port = free_port()
    hook, _ = await hooked_notification(http, app, f"http://127.0.0.1:{port}/in")
    refused = await eventually(attempted(app, hook["id"], 1, clock))
    assert refused.last_status is None and "ConnectError" in refused.last_error
    with receiver(port, [204]) as partner:
        clock.now += timedelta(seconds=1)
        done = await eventually(delivered(app, hook["id"]))
        clock.now += timedelta(hours=1)
        await asyncio.sleep(0.2)
        assert len(partner.all()) == 1
    assert done.attempts == 2 and done.last_status == 204


async def test_a_delivery_is_given_up_after_its_attempts(
    served: tuple[httpx.AsyncClient, Starlette], clock: Clock
) -> None:
    http, app = served
    with receiver(free_port(), [503]) as partner:
        hook, _ = await hooked_notification(http, app, partner.url)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            row = await eventually(attempted(app, hook["id"], attempt, clock))
            clock.now += timedelta(minutes=5)
        clock.now += timedelta(hours=5)
        await asyncio.sleep(0.2)
        assert len(partner.all()) == MAX_ATTEMPTS
    assert row.failed_at is not None and row.last_error == "HTTP 503" and row.delivered_at is None


async def test_webhooks_get_only_their_providers_notifications_and_none_once_removed(
    served: tuple[httpx.AsyncClient, Starlette], clock: Clock
) -> None:
    http, app = served
    other_provider, _ = await provider_with_service(http)
    elsewhere = await gql(http, REGISTER, input={"url": "http://127.0.0.1:9/a", "providerId": other_provider})
    everyone = (await gql(http, REGISTER, input={"url": "http://127.0.0.1:9/b"}))["registerWebhook"]
    await gql(http, REMOVE, id=everyone["id"])
    with receiver(free_port(), [200]) as partner:
        hook, provider_id = await hooked_notification(http, app, partner.url)
        await eventually(delivered(app, hook["id"]))
        pending = await hooked_notification(http, app, "http://127.0.0.1:9/never")
        await eventually(attempted(app, pending[0]["id"], 1, clock))
        removed = (await gql(http, REMOVE, id=pending[0]["id"]))["removeWebhook"]
        assert removed["active"] is False
        late = await gql(http, REGISTER, input={"url": partner.url, "providerId": provider_id})
    assert await outbox(app, elsewhere["registerWebhook"]["id"]) == []
    assert await outbox(app, everyone["id"]) == []
    assert await outbox(app, late["registerWebhook"]["id"]) == []  # registered after the notification
    given_up = await outbox(app, pending[0]["id"])
    assert given_up[0].failed_at is not None and given_up[0].last_error == "webhook removed"


async def test_the_live_listener_reconnects_and_misses_nothing(
    served: tuple[httpx.AsyncClient, Starlette],
) -> None:
    http, app = served
    _, service_id, (_, booking_id) = await fully_booked_wednesday(http)
    request = await ask(http, service_id)
    async with live(app, service=service_id) as opened:
        hub = notifications.opened_hub(app.state.context)
        assert hub is not None
        killed = await rows(
            app,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'slotwise-opened-listener' AND datname = current_database()",
        )
        assert len(killed) == 1
        await cancel(http, booking_id)  # committed while the listener may be away
        pushed = await asyncio.wait_for(opened.get(), 5)
        assert hub.reconnects >= 1
        await quiet(opened)
    assert pushed["requestId"] == request["id"]
