"""Demo data: a Los Angeles provider with two services and a realistic week of bookings."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

from domain.local_time import local_date
from resolvers import availability, booking, setup
from resolvers.context import AppContext

DEMO_PROVIDER = "Dr. Maya Chen (demo)"
ZONE = "America/Los_Angeles"
WEEKDAYS = [(day, [("09:00", "12:00"), ("13:00", "17:00")]) for day in range(5)]
SATURDAY = (5, [("10:00", "14:00")])


async def seed(app: AppContext, seed_value: int = 7) -> dict[str, str]:
    """Create the demo provider (afresh each time) and return the ids to try."""
    provider = await setup.create_provider(app, DEMO_PROVIDER, ZONE)
    await setup.set_weekly_schedule(app, str(provider.id), None, None, [*WEEKDAYS, SATURDAY])
    consult = await setup.create_service(
        app,
        setup.ServiceInput(
            str(provider.id),
            "Consultation",
            30,
            slot_interval_minutes=15,
            buffer_after_minutes=15,
            min_notice_minutes=120,
            price=None,
        ),
    )
    therapy = await setup.create_service(
        app,
        setup.ServiceInput(
            str(provider.id),
            "Therapy session",
            50,
            slot_interval_minutes=60,
            buffer_before_minutes=10,
            buffer_after_minutes=10,
        ),
    )
    today = local_date(app.clock(), ZoneInfo(ZONE))
    closed = today + timedelta(days=(3 - today.weekday()) % 7 + 7)  # Thursday of next week
    await setup.add_date_exception(app, str(provider.id), None, closed, True, [], "Conference")
    await _book_a_week(app, [str(consult.id), str(therapy.id)], random.Random(seed_value))
    return {"providerId": str(provider.id), "consultationId": str(consult.id), "therapyId": str(therapy.id)}


async def _book_a_week(app: AppContext, service_ids: list[str], rng: random.Random) -> None:
    """About a third of the slots of the next seven days, booked the way any customer books."""
    zone = ZoneInfo(ZONE)
    today = local_date(app.clock(), zone)
    for day in (today + timedelta(days=n) for n in range(7)):
        for service_id in service_ids:
            view = await availability.day_availability(app, service_id, day, None)
            for verdict in view.view.verdicts:
                if verdict.available and rng.random() < 0.35:
                    customer = f"demo-customer-{rng.randint(1, 40)}"
                    # a slot taken a moment ago (buffers included) comes back as SlotUnavailable
                    await booking.create_booking(app, service_id, verdict.start, customer, None)
