"""Each test run gets its own PostgreSQL database, migrated as in production, dropped at the end."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from db.engine import create_engine
from resolvers.context import AppContext
from slotwise.app import create_app
from slotwise.config import Settings
from slotwise.migrate import upgrade

ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Clock:
    """A clock the test sets; the app reads it instead of the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"slotwise_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(database_url, 5)
    yield engine
    await engine.dispose()


@pytest.fixture
def app_context(engine: Any, clock: Clock) -> AppContext:
    return AppContext(engine, clock)


@pytest.fixture
async def client(database_url: str, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(), database_url, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


class GraphQLFailed(AssertionError):
    pass


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST a GraphQL document; return `data`, failing the test on any transport or GraphQL error."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    if body.get("errors"):
        raise GraphQLFailed(body["errors"])
    return body["data"]  # type: ignore[no-any-return]


async def gql_errors(client: httpx.AsyncClient, query: str, **variables: Any) -> list[dict[str, Any]]:
    """POST a GraphQL document expected to fail; return its errors (never a 500)."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code in (200, 400), response.text
    errors = response.json().get("errors")
    assert errors, response.text
    return errors  # type: ignore[no-any-return]
