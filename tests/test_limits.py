"""Every limit tripped: document depth, aliases and tokens; body size; introspection in production;
websocket origins; date ranges; the rate limit per caller, in-process and across two instances."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import websockets
from graphql import get_introspection_query
from starlette.websockets import WebSocketDisconnect

from domain.access import Role
from domain.errors import ValidationProblem
from resolvers.access import create_api_key
from resolvers.context import AppContext
from resolvers.live import MAX_WATCH_DAYS, watch_scope
from schema.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from slotwise.app import create_app
from slotwise.config import Settings
from slotwise.limits import RateLimiter
from tests.api.fixtures import provider_with_service
from tests.conftest import Clock, gql, gql_errors
from tests.servers import uvicorn_servers
from tests.sockets import socket_operation

with warnings.catch_warnings():  # Starlette would rather its test client used httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

REDIS_URL = "redis://127.0.0.1:6379/0"
AppClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_client(database_url: str, clock: Clock) -> AppClient:
    """An in-process client of an app built with these settings (by their environment names)."""

    @asynccontextmanager
    async def build(client_address: str = "127.0.0.1", **env: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(Settings(**env), database_url, clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(client_address, 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield http

    return build


def _nested(depth: int) -> str:
    """A valid document `depth` object fields deep: service { provider { services { provider ..."""
    fields = ["services" if n % 2 else "provider" for n in range(depth - 1)]
    inner = "id"
    for field in reversed(fields):
        inner = f"{field} {{ {inner} }}"
    return f'{{ service(id: "1") {{ {inner} }} }}'


# --- the document limits (every environment) ---


async def test_a_document_deeper_than_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    await gql(client, _nested(MAX_DEPTH))  # at the limit: runs (the service does not exist)
    errors = await gql_errors(client, _nested(MAX_DEPTH + 2))
    assert any("exceeds maximum operation depth" in e["message"] for e in errors), errors


async def test_a_document_with_too_many_aliases_is_refused(client: httpx.AsyncClient) -> None:
    def aliased(count: int) -> str:
        return "{ " + " ".join(f"a{n}: __typename" for n in range(count)) + " }"

    assert len(await gql(client, aliased(MAX_ALIASES))) == MAX_ALIASES
    errors = await gql_errors(client, aliased(MAX_ALIASES + 1))
    assert errors[0]["message"] == f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"


async def test_a_document_with_too_many_tokens_is_refused(client: httpx.AsyncClient) -> None:
    errors = await gql_errors(client, "{ " + "__typename " * MAX_TOKENS + "}")
    assert f"more than {MAX_TOKENS} tokens" in errors[0]["message"], errors


async def test_graphiql_introspection_passes_the_limits_in_development(client: httpx.AsyncClient) -> None:
    query = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True, input_value_deprecation=True
    )
    data = await gql(client, query)
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_introspection_is_refused_in_production(app_client: AppClient) -> None:
    async with app_client(SLOTWISE_ENV="production") as http:
        errors = await gql_errors(http, get_introspection_query())
        assert "introspection" in errors[0]["message"].lower(), errors
        errors = await gql_errors(http, '{ __type(name: "Query") { name } }')
        assert "introspection" in errors[0]["message"].lower(), errors
        assert (await gql(http, "{ __typename }")) == {"__typename": "Query"}
        # no GraphiQL and no queries via GET either
        assert (await http.get("/graphql", headers={"accept": "text/html"})).status_code != 200
        assert (await http.get("/graphql", params={"query": "{ __typename }"})).status_code != 200


# --- request body size ---


async def test_a_body_over_the_limit_is_refused_with_413(app_client: AppClient) -> None:
    async with app_client(SLOTWISE_MAX_BODY_BYTES="1000") as http:
        small = await http.post("/graphql", json={"query": "{ __typename }"})
        assert small.status_code == 200
        padding = " " * 2000
        declared = await http.post("/graphql", json={"query": "{ __typename }" + padding})
        assert declared.status_code == 413
        assert declared.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

        async def chunks() -> AsyncIterator[bytes]:  # streamed: no Content-Length
            yield b'{"query": "{ __typename }'
            for _ in range(10):
                yield b" " * 200
            yield b'"}'

        streamed = await http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413, streamed.text
        assert "request body over 1000 bytes" in streamed.json()["errors"][0]["message"]


# --- websocket origins ---


def _websocket_handshake(app: Any, origin: str) -> bool:
    """Whether a graphql-transport-ws connection from a page on `origin` gets its ack."""
    with TestClient(app) as test_client:  # the host is "testserver"
        try:
            with test_client.websocket_connect(
                "/graphql", subprotocols=["graphql-transport-ws"], headers={"origin": origin}
            ) as ws:
                ws.send_json({"type": "connection_init"})
                return bool(ws.receive_json()["type"] == "connection_ack")
        except WebSocketDisconnect:
            return False


def test_websockets_from_other_origins_are_refused_unless_allowed(database_url: str) -> None:
    default = create_app(Settings(), database_url)
    assert _websocket_handshake(default, "http://testserver")  # same origin
    assert not _websocket_handshake(default, "https://evil.example")
    configured = create_app(
        Settings(SLOTWISE_ALLOWED_ORIGINS="https://app.example, https://admin.example"), database_url
    )
    assert _websocket_handshake(configured, "https://app.example")
    assert _websocket_handshake(configured, "https://admin.example")
    assert not _websocket_handshake(configured, "https://evil.example")


# --- date ranges of one request ---

DAY = """query($id: ID!, $date: Date!) { dayAvailability(serviceId: $id, date: $date) { date } }"""
SUGGEST = """query($input: SuggestSlotsInput!) { suggestSlots(input: $input) { start } }"""


async def test_a_view_too_far_from_today_is_refused(client: httpx.AsyncClient, clock: Clock) -> None:
    _, service_id = await provider_with_service(client)
    today = clock.now.date()
    await gql(client, DAY, id=service_id, date=str(today + timedelta(days=3 * 366)))
    errors = await gql_errors(client, DAY, id=service_id, date=str(today + timedelta(days=3 * 366 + 1)))
    assert "too far from today" in errors[0]["message"], errors


async def test_a_suggestion_search_over_62_days_is_refused(client: httpx.AsyncClient) -> None:
    _, service_id = await provider_with_service(client)
    search = {
        "serviceId": service_id,
        "preferredStart": "2027-03-03T10:00:00Z",
        "searchFrom": "2027-03-02T00:00:00Z",
    }
    await gql(client, SUGGEST, input=search | {"searchTo": "2027-05-03T00:00:00Z"})  # 62 days
    errors = await gql_errors(client, SUGGEST, input=search | {"searchTo": "2027-05-03T00:00:01Z"})
    assert "search at most 62 days" in errors[0]["message"], errors


async def test_a_watch_over_a_year_is_refused(client: httpx.AsyncClient, app_context: AppContext) -> None:
    _, service_id = await provider_with_service(client, zone="UTC")
    today: date = app_context.clock().date()
    last = today + timedelta(days=MAX_WATCH_DAYS - 1)
    assert (await watch_scope(app_context, service_id, today, last, None)).last == last
    with pytest.raises(ValidationProblem, match=f"watch at most {MAX_WATCH_DAYS} days"):
        await watch_scope(app_context, service_id, today, last + timedelta(days=1), None)


# --- the rate limit per caller ---


def _is_rate_limited(response: httpx.Response) -> int:
    """The Retry-After of a well-formed 429 answer."""
    assert response.status_code == 429, response.text
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= 60
    error = response.json()["errors"][0]
    assert error == {
        "message": f"rate limit exceeded; retry in {retry} s",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": retry},
    }
    return retry


def _not_at_a_minute_end() -> None:
    """Counting windows are wall-clock minutes: keep a test's requests within one."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


async def real_key(app_context: Any, name: str) -> str:
    """A real API key (an unknown one is refused with 401 before it could be counted)."""
    return (await create_api_key(app_context, None, name, Role.ADMIN, [])).key


async def test_the_in_process_rate_limit_counts_per_caller(app_client: AppClient, app_context: Any) -> None:
    _not_at_a_minute_end()
    query = {"query": "{ __typename }"}
    async with app_client(SLOTWISE_RATE_LIMIT_PER_MINUTE="3", client_address="10.0.0.7") as http:
        for _ in range(3):
            assert (await http.post("/graphql", json=query)).status_code == 200
        _is_rate_limited(await http.post("/graphql", json=query))
        # a caller with an API key is counted apart from its address
        key = {"authorization": f"Bearer {await real_key(app_context, 'one')}"}
        for _ in range(3):
            assert (await http.post("/graphql", json=query, headers=key)).status_code == 200
        _is_rate_limited(await http.post("/graphql", json=query, headers=key))
        assert (await http.get("/healthz")).status_code == 200  # only GraphQL is counted


async def test_no_rate_limit_when_set_to_zero(app_client: AppClient) -> None:
    async with app_client(SLOTWISE_RATE_LIMIT_PER_MINUTE="0") as http:
        for _ in range(30):
            assert (await http.post("/graphql", json={"query": "{ __typename }"})).status_code == 200


async def test_an_unreachable_redis_falls_back_to_counting_in_process() -> None:
    now = 120.0
    limiter = RateLimiter(2, "redis://127.0.0.1:1/0", now=lambda: now)
    try:
        assert [await limiter.retry_after("ip:x") for _ in range(3)] == [None, None, 60]
    finally:
        await limiter.close()


@pytest.fixture(scope="module")
def limited_servers(database_url: str) -> Iterator[list[str]]:
    with uvicorn_servers(database_url, REDIS_URL=REDIS_URL, SLOTWISE_RATE_LIMIT_PER_MINUTE="5") as urls:
        yield urls


async def test_the_rate_limit_is_shared_by_instances_through_redis(
    limited_servers: list[str], app_context: Any
) -> None:
    _not_at_a_minute_end()
    a, b = limited_servers
    # a caller of its own (an API key), so counts left in Redis by other runs do not matter
    key = {"authorization": f"Bearer {await real_key(app_context, 'rate-a')}"}
    other = {"authorization": f"Bearer {await real_key(app_context, 'rate-b')}"}
    query = {"query": "{ __typename }"}
    async with httpx.AsyncClient(timeout=10) as http:
        statuses = [
            (await http.post(f"{url}/graphql", json=query, headers=key)).status_code
            for url in [a, b, a, b, a]
        ]
        assert statuses == [200] * 5
        _is_rate_limited(await http.post(f"{b}/graphql", json=query, headers=key))
        _is_rate_limited(await http.post(f"{a}/graphql", json=query, headers=key))
        assert (await http.post(f"{a}/graphql", json=query, headers=other)).status_code == 200
    # A websocket handshake counts by address (its key comes later, in connection_init): from an
    # address of this test's own, requests until refused, then a handshake gets the same 429.
    async with httpx.AsyncClient(
        timeout=10, transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    ) as http:
        for _ in range(6):
            if (await http.post(f"{a}/graphql", json=query)).status_code == 429:
                break
    with pytest.raises(websockets.InvalidStatus) as refused:
        await asyncio.wait_for(
            websockets.connect(
                b.replace("http://", "ws://") + "/graphql",
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                additional_headers=key,  # not counted by: nothing checks a handshake's key
                local_addr=("127.0.0.2", 0),
            ),
            10,
        )
    assert refused.value.response.status_code == 429
    assert int(refused.value.response.headers["retry-after"]) >= 1


async def test_operations_over_a_websocket_count_against_the_same_limit(
    limited_servers: list[str], app_context: Any
) -> None:
    _not_at_a_minute_end()
    a, b = limited_servers
    key = f"Bearer {await real_key(app_context, 'rate-ws')}"
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(3):
            assert (
                await http.post(
                    f"{a}/graphql", json={"query": "{ __typename }"}, headers={"authorization": key}
                )
            ).status_code == 200
    url = b.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        local_addr=("127.0.0.3", 0),  # the handshake counts for this address, not for the key
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": key}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        answers = [await socket_operation(ws, str(n), "{ __typename }") for n in range(3)]
    # the same key spaced otherwise is the same caller
    respaced = key.replace(" ", "   ")
    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        local_addr=("127.0.0.4", 0),
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": respaced}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        answers.append(await socket_operation(ws, "1", "{ __typename }"))
    assert answers[:2] == [{"data": {"__typename": "Query"}}] * 2
    assert answers[3]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    [error] = answers[2]["errors"]
    retry = error["extensions"]["retryAfter"]
    assert error == {
        "message": f"rate limit exceeded; retry in {retry} s",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": retry},
    }
