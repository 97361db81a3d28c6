"""Connections to PostgreSQL."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Any postgres URL (postgres://, postgresql://, +asyncpg) as one for SQLAlchemy's asyncpg."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    # No pre-ping: it costs a round trip per checkout; a dead connection fails one request
    # and is replaced, and connections are recycled hourly.
    return create_async_engine(async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_recycle=3600)
