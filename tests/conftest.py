"""Each test run gets its own PostgreSQL database, migrated as in production, dropped at the end."""

from __future__ import annotations

import asyncio
import contextlib
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
from domain.access import Role
from resolvers.access import create_api_key
from resolvers.context import AppContext
from slotwise.app import create_app
from slotwise.config import Settings
from slotwise.migrate import upgrade
from tests import keys

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


@contextlib.contextmanager
def own_database(label: str) -> Iterator[str]:
    """A new database migrated as in production, dropped afterwards; yields its URL."""
    name = f"slotwise_{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def new_admin_key(url: str) -> str:
    async def make() -> str:
        engine = create_engine(url, 1)
        try:
            return (await create_api_key(AppContext(engine), None, "test operator", Role.ADMIN, [])).key
        finally:
            await engine.dispose()

    return asyncio.run(make())


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with own_database("test") as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def admin_key(database_url: str) -> str:
    """An admin API key for the run: tests set providers up as an operator would."""
    key = new_admin_key(database_url)
    keys.ADMIN_HEADERS["Authorization"] = f"Bearer {key}"
    return key


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
async def client(database_url: str, clock: Clock, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process, called with the run's admin key (tests that act as a customer or a
    provider send their own Authorization header)."""
    app = create_app(Settings(), database_url, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {admin_key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as http:
            yield http


class GraphQLFailed(AssertionError):
    pass


ANONYMOUS = {"Authorization": ""}  # a customer: no API key


async def gql(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    """POST a GraphQL document; return `data`, failing the test on any transport or GraphQL error."""
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
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
