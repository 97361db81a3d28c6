"""The per-provider change sequence."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import provider_change_sequences as sequences


async def next_sequence(conn: AsyncConnection, provider_id: UUID) -> int:
    """The provider's next change number, taken in this transaction (rows lock until commit)."""
    statement = (
        insert(sequences)
        .values(provider_id=provider_id, last_sequence=1)
        .on_conflict_do_update(
            index_elements=[sequences.c.provider_id], set_={"last_sequence": sequences.c.last_sequence + 1}
        )
        .returning(sequences.c.last_sequence)
    )
    return int((await conn.execute(statement)).scalar_one())


async def current_sequence(conn: AsyncConnection, provider_id: UUID) -> int:
    found = await conn.execute(
        select(sequences.c.last_sequence).where(sequences.c.provider_id == provider_id)
    )
    return int(found.scalar_one_or_none() or 0)
