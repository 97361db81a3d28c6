"""The database itself keeps a provider's active bookings and holds apart, buffers included."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import insert, literal_column, text, update
from sqlalchemy.exc import IntegrityError

from db.reservation_queries import insert_reservation
from db.setup_queries import insert_provider, insert_service
from db.tables import reservations
from domain.occupancy import ReservationKind
from domain.service_rules import ServiceRules

START = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)
RULES = ServiceRules(30, 30, 15, 15, 0, 90, 10)


async def provider_and_service(engine: Any) -> tuple[UUID, UUID]:
    async with engine.begin() as conn:
        provider = await insert_provider(conn, "Constraint test", "UTC")
        service = await insert_service(conn, provider.id, "Cut", RULES, None, None)
        return provider.id, service.id


async def reserve(engine: Any, provider: UUID, service: UUID, start: datetime, **extra: Any) -> UUID:
    async with engine.begin() as conn:
        return await insert_reservation(
            conn, provider_id=provider, service_id=service, rules=RULES, start=start, **extra
        )


def is_overlap(error: IntegrityError) -> bool:
    return getattr(error.orig, "sqlstate", None) == "23P01" and "reservations_no_overlap" in str(error.orig)


async def test_overlapping_buffers_are_refused_by_the_database(engine: Any) -> None:
    provider, service = await provider_and_service(engine)
    await reserve(engine, provider, service, START)
    for clash in (START, START + timedelta(minutes=59), START - timedelta(minutes=59)):
        with pytest.raises(IntegrityError) as caught:
            await reserve(engine, provider, service, clash)
        assert is_overlap(caught.value)
    with pytest.raises(IntegrityError):  # a hold is kept apart the same way
        await reserve(
            engine,
            provider,
            service,
            START + timedelta(minutes=30),
            kind=ReservationKind.HOLD,
            status="HELD",
            expires_at=START,
        )
    await reserve(engine, provider, service, START + timedelta(minutes=60))  # buffers touch, no overlap
    other_provider, other_service = await provider_and_service(engine)
    await reserve(engine, other_provider, other_service, START)  # another provider's time is its own


async def test_inactive_reservations_block_nothing(engine: Any) -> None:
    provider, service = await provider_and_service(engine)
    first = await reserve(engine, provider, service, START)
    async with engine.begin() as conn:
        await conn.execute(update(reservations).where(reservations.c.id == first).values(status="CANCELLED"))
    await reserve(engine, provider, service, START)
    await reserve(engine, provider, service, START, status="NO_SHOW")


async def test_concurrent_inserts_for_one_slot_keep_exactly_one(engine: Any) -> None:
    provider, service = await provider_and_service(engine)

    async def attempt(minutes: int) -> bool:
        try:
            await reserve(engine, provider, service, START + timedelta(minutes=minutes))
            return True
        except IntegrityError as error:
            assert is_overlap(error)
            return False

    results = await asyncio.gather(*(attempt(n % 20) for n in range(20)))
    assert sum(results) == 1


@pytest.mark.parametrize(
    "occupied",
    [
        "tstzrange('2027-03-03 10:00+00', '2027-03-03 10:00+00')",
        "tstzrange(NULL, '2027-03-03 11:00+00')",
        "tstzrange('2027-03-03 10:15+00', '2027-03-03 10:30+00')",
    ],
)
async def test_empty_unbounded_or_short_ranges_are_refused(engine: Any, occupied: str) -> None:
    provider, service = await provider_and_service(engine)
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                insert(reservations).values(
                    kind="BOOKING",
                    provider_id=provider,
                    service_id=service,
                    status="CONFIRMED",
                    start_at=START,
                    end_at=START + timedelta(minutes=30),
                    occupied=literal_column(occupied),
                )
            )


async def test_migrations_are_at_head(engine: Any) -> None:
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    from alembic.script import ScriptDirectory

    from slotwise.migrate import alembic_config

    assert version == ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
