"""API keys: created, revoked, and looked up by hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import api_keys


@dataclass(frozen=True)
class ApiKeyRecord:
    id: UUID
    name: str
    role: str
    provider_ids: list[UUID]
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None


def _record(row: object) -> ApiKeyRecord:
    r = row._mapping  # type: ignore[attr-defined]
    return ApiKeyRecord(
        r["id"],
        r["name"],
        r["role"],
        list(r["provider_ids"]),
        r["key_prefix"],
        r["created_at"],
        r["revoked_at"],
    )


async def insert_key(
    conn: AsyncConnection, name: str, role: str, provider_ids: list[UUID], key_hash: str, key_prefix: str
) -> ApiKeyRecord:
    row = (
        await conn.execute(
            insert(api_keys)
            .values(
                name=name,
                role=role,
                provider_ids=provider_ids,
                key_hash=key_hash,
                key_prefix=key_prefix,
            )
            .returning(api_keys)
        )
    ).one()
    return _record(row)


async def active_key(conn: AsyncConnection, key_hash: str) -> ApiKeyRecord | None:
    row = (
        await conn.execute(
            select(api_keys).where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
        )
    ).first()
    return _record(row) if row else None


async def revoke_key(conn: AsyncConnection, key_id: UUID) -> ApiKeyRecord | None:
    row = (
        await conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(api_keys)
        )
    ).first()
    return _record(row) if row else None
