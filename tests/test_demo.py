"""The demo data is what the README promises: two services and a week of real bookings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from resolvers import setup
from resolvers.context import AppContext
from slotwise.demo import seed
from tests.api.booking_fixtures import OVERLAPS


async def test_demo_seeds_a_los_angeles_provider_with_two_services_and_bookings(
    app_context: AppContext, engine: Any
) -> None:
    ids = await seed(app_context)
    provider = await setup.provider(app_context, ids["providerId"])
    assert provider is not None and provider.timezone == "America/Los_Angeles"
    services = await setup.services_of(app_context, ids["providerId"])
    assert sorted(s.name for s in services) == ["Consultation", "Therapy session"]
    async with engine.connect() as conn:
        booked = (
            await conn.execute(
                text(
                    "SELECT count(DISTINCT start_at::date) FROM reservations "
                    "WHERE provider_id = :p AND status = 'CONFIRMED'"
                ),
                {"p": ids["providerId"]},
            )
        ).scalar_one()
        assert booked >= 4  # bookings spread over the week's working days
        assert (await conn.execute(text(OVERLAPS))).scalar_one() == 0
