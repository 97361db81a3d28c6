"""createBooking on the real server: throughput on free slots, and 100 clients racing for one slot.

Creates its own database, seeds one provider in UTC open around the clock with one 30-minute
service, serves the app with uvicorn and drives it over loopback from keep-alive asyncio clients;
the reference hello-world app is driven with wrk as in bench.availability.
Run: `.venv/bin/python -m bench.booking`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg  # type: ignore[import-untyped]

from bench.common import (
    HELLO_QUERY,
    TARGETS,
    Connection,
    Result,
    Workload,
    body,
    find_wrk,
    percentile,
    print_setup,
    report,
    run_python,
    run_wrk,
    serving,
    temporary_database,
)
from db.engine import create_engine
from resolvers import setup
from resolvers.context import AppContext
from slotwise.config import Settings
from slotwise.migrate import upgrade

SLOT = timedelta(minutes=30)
HORIZON_DAYS = 90
CLIENTS, WARMUP_S, MEASURE_S = 32, 2.0, 10.0
RACERS, ROUNDS = 100, 20
GOAL_P99_MS = 100.0

BOOK = (
    "mutation($input: CreateBookingInput!) { createBooking(input: $input) {"
    " __typename ... on Booking { id start } ... on SlotUnavailable { reason } } }"
)
CONFIRMED = "SELECT count(*) FROM reservations WHERE service_id = $1 AND status = 'CONFIRMED'"
OVERLAPS = """SELECT count(*) FROM reservations a JOIN reservations b
  ON a.provider_id = b.provider_id AND a.id < b.id AND a.occupied && b.occupied
WHERE a.status IN ('PENDING', 'CONFIRMED', 'PAID', 'IN_PROGRESS', 'HELD')
  AND b.status IN ('PENDING', 'CONFIRMED', 'PAID', 'IN_PROGRESS', 'HELD')"""


@dataclass
class Tally:
    """Latencies (s) and outcomes: `Booking`, `SlotUnavailable BOOKED`, `HTTP 500`, `errors: ...`."""

    latencies: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    def add(self, seconds: float, kind: str) -> None:
        self.latencies.append(seconds)
        self.kinds[kind] += 1

    def other(self, *expected: str) -> int:
        return sum(n for kind, n in self.kinds.items() if kind.split(" ")[0] not in expected)

    def result(self, name: str, *expected: str) -> Result:
        count = len(self.latencies)
        p50, p99 = percentile(self.latencies, 0.50), percentile(self.latencies, 0.99)
        return Result(name, count / self.elapsed, p50, p99, count, self.other(*expected))


async def seed(url: str) -> tuple[str, datetime]:
    """The service's id and the end of its horizon: the UTC midnight HORIZON_DAYS after today."""
    engine = create_engine(url, 2)
    try:
        app = AppContext(engine)
        provider = await setup.create_provider(app, "Bench provider", "UTC")
        week = [(day, [("00:00", "24:00")]) for day in range(7)]
        await setup.set_weekly_schedule(app, str(provider.id), None, None, week)
        rules = setup.ServiceInput(
            str(provider.id),
            "Consultation",
            30,
            slot_interval_minutes=30,
            buffer_before_minutes=0,
            buffer_after_minutes=0,
            min_notice_minutes=0,
            horizon_days=HORIZON_DAYS,
        )
        service = await setup.create_service(app, rules)
        today = app.clock().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return str(service.id), today + timedelta(days=HORIZON_DAYS)
    finally:
        await engine.dispose()


def free_slots(horizon_end: datetime) -> Iterator[datetime]:
    """Slot starts from the next half hour at least 10 minutes away up to the horizon, in order."""
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) + SLOT
    while start < now + timedelta(minutes=10):
        start += SLOT
    while start + SLOT <= horizon_end:
        yield start
        start += SLOT


def booking(service_id: str, start: datetime, customer: str) -> bytes:
    key = uuid.uuid4().hex
    variables = {"serviceId": service_id, "start": start.isoformat(), "customerId": customer}
    return body(BOOK, {"input": variables | {"idempotencyKey": key}})


def kind_of(status: int, answer: bytes) -> str:
    if status != 200:
        return f"HTTP {status}"
    parsed = json.loads(answer)
    if parsed.get("errors"):
        return f"errors: {parsed['errors'][0].get('message', '')[:80]}"
    result = next(iter((parsed.get("data") or {}).values()), None)
    if not isinstance(result, dict):
        return str(result)  # { __typename } answers "Query"
    return " ".join(filter(None, (result.get("__typename", "no result"), result.get("reason"))))


async def book_free_slots(url: str, service_id: str, slots: Iterator[datetime]) -> tuple[Tally, Tally]:
    """CLIENTS keep-alive clients, each booking the next free slot: a warm-up run, then the measured one."""
    connections = await asyncio.gather(*(Connection.open(url) for _ in range(CLIENTS)))

    async def run(seconds: float) -> Tally:
        tally = Tally()
        deadline = time.perf_counter() + seconds

        async def client(conn: Connection, n: int) -> None:
            while time.perf_counter() < deadline and (start := next(slots, None)) is not None:
                payload = booking(service_id, start, f"bench-client-{n}")
                sent = time.perf_counter()
                status, answer = await conn.post(payload)
                tally.add(time.perf_counter() - sent, kind_of(status, answer))

        began = time.perf_counter()
        await asyncio.gather(*(client(conn, n) for n, conn in enumerate(connections)))
        tally.elapsed = time.perf_counter() - began
        return tally

    try:
        return await run(WARMUP_S), await run(MEASURE_S)
    finally:
        for conn in connections:
            conn.close()


async def bursts(url: str, rounds: list[list[bytes]]) -> list[Tally]:
    """Per round: one warmed-up keep-alive connection per payload, all released at the same instant."""
    connections = await asyncio.gather(*(Connection.open(url) for _ in range(RACERS)))
    try:
        await asyncio.gather(*(conn.post(body(HELLO_QUERY, {})) for conn in connections))
        tallies = []
        for payloads in rounds:
            tally, go = Tally(), asyncio.Event()

            async def racer(conn: Connection, payload: bytes, go: asyncio.Event, tally: Tally) -> None:
                await go.wait()
                sent = time.perf_counter()
                status, answer = await conn.post(payload)
                tally.add(time.perf_counter() - sent, kind_of(status, answer))

            tasks = [
                asyncio.create_task(racer(conn, payload, go, tally))
                for conn, payload in zip(connections, payloads, strict=True)
            ]
            await asyncio.sleep(0.05)  # every racer waits on `go`
            began = time.perf_counter()
            go.set()
            await asyncio.gather(*tasks)
            tally.elapsed = time.perf_counter() - began
            tallies.append(tally)
            await asyncio.sleep(0.1)
        return tallies
    finally:
        for conn in connections:
            conn.close()


async def stored(url: str, service_id: str) -> tuple[int, int]:
    """Confirmed bookings of the service, and overlapping pairs of active reservations."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(CONFIRMED, uuid.UUID(service_id)), await conn.fetchval(OVERLAPS)
    finally:
        await conn.close()


def merged(rounds: list[Tally]) -> Tally:
    total = Tally(elapsed=sum(r.elapsed for r in rounds))
    for r in rounds:
        total.latencies += r.latencies
        total.kinds.update(r.kinds)
    return total


def show(kinds: Counter[str]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in kinds.most_common())


def main() -> int:
    started = time.monotonic()
    with temporary_database() as (name, url):
        upgrade(url)
        service_id, horizon_end = asyncio.run(seed(url))
        slots = free_slots(horizon_end)
        race_starts = [next(slots) for _ in range(ROUNDS)]
        print(
            f"database {name}: one provider in UTC, open 00:00-24:00 every day, a 30-minute service every"
            f" 30 minutes up to {horizon_end:%Y-%m-%d %H:%M} UTC ({time.monotonic() - started:.1f} s)"
        )
        wrk, how = find_wrk()
        print(
            f"reference load generator: {'wrk (' + how + ')' if wrk else 'python asyncio (wrk ' + how + ')'}"
        )
        env = {
            **os.environ,
            "BENCH_DATABASE_URL": url,
            "SLOTWISE_ENV": "production",
            "SLOTWISE_RATE_LIMIT_PER_MINUTE": "0",
        }
        with serving(TARGETS, env) as urls:
            warm, run = asyncio.run(book_free_slots(urls["slotwise"], service_id, slots))
            races = [
                [booking(service_id, start, f"racer-{n}") for n in range(RACERS)] for start in race_starts
            ]
            rounds = asyncio.run(bursts(urls["slotwise"], races))
            floor = merged(
                asyncio.run(bursts(urls["reference"], [[body(HELLO_QUERY, {})] * RACERS] * ROUNDS))
            )
            hello = Workload("reference { __typename }", urls["reference"], body(HELLO_QUERY, {}))
            reference = run_wrk(wrk, hello) if wrk else run_python(hello)
        confirmed, overlaps = asyncio.run(stored(url, service_id))

    race = merged(rounds)
    print_setup(wrk)
    pool = Settings().db_pool_size
    print(f"db pool:   {pool} + {pool} overflow connections per server process")
    print(
        f"throughput: {CLIENTS} keep-alive clients, each booking the next free slot, {MEASURE_S:g} s"
        f" after a {WARMUP_S:g} s warm-up ({len(warm.latencies)} requests); {sum(1 for _ in slots)} free slots left"
    )
    print(f"contention: {RACERS} warmed-up keep-alive clients released at once on one slot, {ROUNDS} rounds")
    booking_result = run.result(f"createBooking, {CLIENTS} clients, free slots", "Booking")
    race_result = race.result(f"createBooking, {RACERS} clients, one slot", "Booking", "SlotUnavailable")
    report([booking_result, race_result, reference], reference)
    print("(failed: not Booking in the throughput run; neither Booking nor SlotUnavailable in the race;")
    print(" req/s of the race: its requests over the rounds' time, release to last answer)")

    print(f"\nthroughput: {booking_result.rps:.1f} bookings/s, p50 {booking_result.p50_ms:.1f} ms,", end=" ")
    print(f"p99 {booking_result.p99_ms:.1f} ms; non-Booking results: {run.other('Booking')}")
    print(f"            outcomes: {show(run.kinds)}")
    if warm.other("Booking"):
        print(f"            warm-up outcomes: {show(warm.kinds)}")
    print(
        f"            bookings/s / reference req/s = {booking_result.rps:.1f} / {reference.rps:.1f}"
        f" = {booking_result.rps / reference.rps:.3f}"
    )
    expected = Counter({"Booking": 1, "SlotUnavailable BOOKED": RACERS - 1})
    odd = [(n, r) for n, r in enumerate(rounds, 1) if +r.kinds != expected]
    print(
        f"contention: p50 {race_result.p50_ms:.1f} ms, p99 {race_result.p99_ms:.1f} ms over {len(race.latencies)} requests"
    )
    print(f"            outcomes: {show(race.kinds)}")
    print(
        f"            rounds with 1 Booking and {RACERS - 1} SlotUnavailable BOOKED: {ROUNDS - len(odd)}/{ROUNDS}"
    )
    for n, r in odd:
        print(f"            round {n} ({race_starts[n - 1]:%Y-%m-%d %H:%M}): {show(r.kinds)}")
    slowest = max(r.elapsed for r in rounds) * 1000
    print(f"            slowest round, release to last answer: {slowest:.0f} ms")
    seen = warm.kinds["Booking"] + run.kinds["Booking"] + race.kinds["Booking"]
    print(
        f"database:   {confirmed} confirmed bookings (clients were told {seen}), {overlaps} overlapping pairs"
    )

    floor_result = floor.result("reference bursts", "Query")
    print(
        f"floor:      reference {{ __typename }} in the same {RACERS}-client bursts x {ROUNDS}:"
        f" p50 {floor_result.p50_ms:.1f} ms, p99 {floor_result.p99_ms:.1f} ms, failed {floor_result.failed}"
    )

    fast = race_result.p99_ms < GOAL_P99_MS
    print(f"\ngoal: contended slot decided with p99 < {GOAL_P99_MS:g} ms")
    verdict = "met" if fast and not odd else "NOT met"
    print(
        f"      {verdict}: p99 {race_result.p99_ms:.1f} ms, {ROUNDS - len(odd)}/{ROUNDS} rounds decided correctly"
    )
    print(f"\ntotal {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
