"""Throughput of monthAvailability and dayAvailability on the real server, next to plain Strawberry.

Creates its own database, seeds one provider (2,000 bookings and 500 calendar busy intervals over
the next 90 days), serves the app with uvicorn and drives it over loopback with wrk, or with a small
asyncio load generator when wrk cannot be had. Run: `.venv/bin/python -m bench.availability`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.common import (
    HELLO_QUERY,
    TARGETS,
    Workload,
    body,
    find_wrk,
    post,
    print_setup,
    report,
    run_python,
    run_wrk,
    serving,
    temporary_database,
)
from db.engine import create_engine
from db.records import ProviderRecord, ServiceRecord
from db.reservation_queries import insert_reservation
from db.tables import calendar_busy_intervals, reservations
from domain.local_time import local_date, local_to_instant
from resolvers import setup
from resolvers.context import AppContext
from slotwise.migrate import upgrade

ZONE = "America/Los_Angeles"
DAYS, BOOKINGS, BUSY = 90, 2000, 500
OPEN_MINUTE, HALF_HOURS = 7 * 60, 28  # 07:00-21:00: 28 half-hour bookings fill a day

MONTH_QUERY = (
    "query($s: ID!, $m: String!) { monthAvailability(serviceId: $s, month: $m) {"
    " availableDates { date availableSlots } unavailableDates { date reason } nextAvailableDate } }"
)
DAY_QUERY = (
    "query($s: ID!, $d: Date!) { dayAvailability(serviceId: $s, date: $d) {"
    " availableSlots { start time } unavailableSlots { time reason } } }"
)


@dataclass(frozen=True)
class Seeded:
    service_id: str
    month: str
    busy_day: date
    bookings: int
    busy: int


# --- database ----------------------------------------------------------------------------------


def _share(total: int, parts: int, index: int) -> int:
    """The index-th of `parts` near-equal whole shares of `total`."""
    return total * (index + 1) // parts - total * index // parts


def layout(today: date, half_hours: int = HALF_HOURS) -> tuple[dict[date, list[int]], dict[date, list[int]]]:
    """Half-hour indexes (0 = opening) booked and calendar-busy on each of the next DAYS days,
    for a day of `half_hours` half-hours.

    Every third day is fully booked; the others share the rest, at distinct half-hours, so no two
    bookings overlap. Busy intervals fall anywhere, on booked half-hours or free ones.
    """
    days = [today + timedelta(days=n) for n in range(1, DAYS + 1)]
    full = {day for n, day in enumerate(days, 1) if n % 3 == 0}
    partial = [day for day in days if day not in full]
    rest = BOOKINGS - len(full) * half_hours
    booked = {day: list(range(half_hours)) for day in full}
    for i, day in enumerate(partial):
        booked[day] = sorted((i * 3 + j * 11) % half_hours for j in range(_share(rest, len(partial), i)))
    busy = {
        day: sorted((n * 7 + j * 5) % half_hours for j in range(_share(BUSY, DAYS, n)))
        for n, day in enumerate(days)
    }
    return booked, busy


async def insert_layout(
    conn: AsyncConnection,
    provider: ProviderRecord,
    service: ServiceRecord,
    booked: dict[date, list[int]],
    busy: dict[date, list[int]],
    at: Callable[[date, int], datetime],
) -> None:
    """The layout's bookings and busy calendar intervals, each half hour placed by `at`."""
    for day, halves in booked.items():
        for half_hour in halves:
            with suppress(IntegrityError):  # the layout has no overlaps; skip any all the same
                async with conn.begin_nested():
                    await insert_reservation(
                        conn,
                        provider_id=provider.id,
                        service_id=service.id,
                        rules=service.rules,
                        start=at(day, half_hour),
                        customer_id=f"bench-customer-{half_hour}",
                    )
    rows = [
        {"provider_id": provider.id, "start_at": at(d, h), "end_at": at(d, h + 1), "title": "Busy"}
        for d, halves in busy.items()
        for h in halves
    ]
    await conn.execute(insert(calendar_busy_intervals), rows)


async def seed(url: str) -> Seeded:
    engine = create_engine(url, 2)
    try:
        app = AppContext(engine)
        zone = ZoneInfo(ZONE)
        provider = await setup.create_provider(app, "Bench provider", ZONE)
        week = [(day, [("07:00", "21:00")]) for day in range(7)]
        await setup.set_weekly_schedule(app, str(provider.id), None, None, week)
        service = await setup.create_service(
            app,
            setup.ServiceInput(
                str(provider.id), "Consultation", 30, slot_interval_minutes=15, buffer_after_minutes=0
            ),
        )
        today = local_date(app.clock(), zone)
        booked, busy = layout(today)

        def at(day: date, half_hour: int) -> datetime:
            return local_to_instant(day, OPEN_MINUTE + 30 * half_hour, zone)

        async with engine.begin() as conn:
            await insert_layout(conn, provider, service, booked, busy, at)
            count = (await conn.execute(select(func.count()).select_from(reservations))).scalar_one()
            busy_count = (
                await conn.execute(select(func.count()).select_from(calendar_busy_intervals))
            ).scalar_one()
        if (count, busy_count) != (BOOKINGS, BUSY):
            raise RuntimeError(f"seeded {count} bookings and {busy_count} busy intervals")
        month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        busy_day = next(
            d for d in sorted(booked) if d.month == month.month and len(booked[d]) < HALF_HOURS and busy[d]
        )
        return Seeded(str(service.id), f"{month:%Y-%m}", busy_day, count, busy_count)
    finally:
        await engine.dispose()


# --- the run -----------------------------------------------------------------------------------


def verify(url: str, seeded: Seeded) -> None:
    """Both availability queries answer with data, no errors; the month has both kinds of date."""
    month = post(url, MONTH_QUERY, {"s": seeded.service_id, "m": seeded.month})
    day = post(url, DAY_QUERY, {"s": seeded.service_id, "d": seeded.busy_day.isoformat()})
    for name, answer in (("monthAvailability", month), ("dayAvailability", day)):
        if answer.get("errors") or not (answer.get("data") or {}).get(name):
            raise RuntimeError(f"{name} failed: {answer}")
    m, d = month["data"]["monthAvailability"], day["data"]["dayAvailability"]
    if not m["availableDates"] or not m["unavailableDates"]:
        raise RuntimeError(f"month {seeded.month} lacks available or unavailable dates: {m}")
    reasons = Counter(u["reason"] for u in m["unavailableDates"])
    slot_reasons = Counter(u["reason"] for u in d["unavailableSlots"])
    print(
        f"verified: month {seeded.month}: {len(m['availableDates'])} available dates, "
        f"{len(m['unavailableDates'])} unavailable {dict(reasons)}, next available {m['nextAvailableDate']}"
    )
    print(
        f"verified: day {seeded.busy_day}: {len(d['availableSlots'])} available slots, "
        f"{len(d['unavailableSlots'])} unavailable {dict(slot_reasons)}"
    )


def main() -> int:
    started = time.monotonic()
    with temporary_database() as (name, url):
        upgrade(url)
        seeded = asyncio.run(seed(url))
        print(
            f"database {name}: {seeded.bookings} bookings, {seeded.busy} busy intervals ({time.monotonic() - started:.1f} s)"
        )
        wrk, how = find_wrk()
        print(f"load generator: {'wrk (' + how + ')' if wrk else 'python asyncio (wrk ' + how + ')'}")
        env = {
            **os.environ,
            "BENCH_DATABASE_URL": url,
            "SLOTWISE_ENV": "production",
            "SLOTWISE_RATE_LIMIT_PER_MINUTE": "0",
        }
        with serving(TARGETS, env) as urls:
            verify(urls["slotwise"], seeded)
            month = {"s": seeded.service_id, "m": seeded.month}
            day = {"s": seeded.service_id, "d": seeded.busy_day.isoformat()}
            workloads = [
                Workload(f"monthAvailability {seeded.month}", urls["slotwise"], body(MONTH_QUERY, month)),
                Workload(f"dayAvailability {seeded.busy_day}", urls["slotwise"], body(DAY_QUERY, day)),
                Workload("reference { __typename }", urls["reference"], body(HELLO_QUERY, {})),
            ]
            results = [run_wrk(wrk, w) if wrk else run_python(w) for w in workloads]
        print_setup(wrk)
        report(results, results[-1])
    print(f"\ntotal {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
