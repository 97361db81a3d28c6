"""Recording availability changes in the writing transaction and publishing them after commit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from db.change_queries import next_sequence
from domain.changes import AvailabilityChange, ChangeCause, Span
from resolvers.context import AppContext

log = logging.getLogger("slotwise.changes")


class ChangeRecorder:
    """Collects a transaction's changes, each with the provider's next sequence number."""

    def __init__(self, conn: AsyncConnection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.changes: list[AvailabilityChange] = []

    async def record(
        self, provider_id: UUID, cause: ChangeCause, spans: list[Span], service_id: UUID | None = None
    ) -> None:
        sequence = await next_sequence(self.conn, provider_id)
        self.changes.append(
            AvailabilityChange(
                str(provider_id),
                cause,
                sequence,
                self.now,
                tuple(spans),
                str(service_id) if service_id else None,
            )
        )


@asynccontextmanager
async def changing(app: AppContext) -> AsyncIterator[ChangeRecorder]:
    """A write transaction whose recorded changes are published once it commits, never before
    and never for one that rolled back."""
    async with app.engine.begin() as conn:
        recorder = ChangeRecorder(conn, app.clock())
        yield recorder
    await publish(app, recorder.changes)


async def publish(app: AppContext, changes: list[AvailabilityChange]) -> None:
    for change in changes:
        await app.cache.saw(change.provider_id, change.sequence)
        try:
            await app.feed.publish(change)
        except Exception:  # the change is committed; a subscriber sees the gap in sequence numbers
            log.exception("could not publish change %s #%s", change.provider_id, change.sequence)
