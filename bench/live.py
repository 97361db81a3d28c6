"""Live fan-out over two instances sharing PostgreSQL and Redis, and the warm-cache month view.

Creates its own database, seeds one provider in UTC open 08:00-20:00 every day with a 30-minute
service (2,000 bookings and 500 calendar busy intervals over the next 90 days, laid out as in
bench.availability), starts two Slotwise servers with REDIS_URL and the hello-world reference,
opens 1,000 graphql-transport-ws subscriptions to slotsChanged spread over both servers, books
one slot at a time on server 1 and times each subscriber's BOOKING_CREATED event. Then drives the
warm month view with wrk, next to the reference and a third server without Redis.
Run: `.venv/bin/python -m bench.live`.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import resource
import sys
import time
import urllib.request
import uuid
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bench.availability import BOOKINGS, BUSY, DAYS, insert_layout, layout
from bench.common import (
    HELLO_QUERY,
    TARGETS,
    Result,
    Workload,
    body,
    find_wrk,
    percentile,
    post,
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
from slotwise.migrate import upgrade

REDIS_URL = "redis://127.0.0.1:6379/0"
OPEN_MINUTE, HALF_HOURS = 8 * 60, 24  # 08:00-20:00: 24 half-hour bookings fill a day
SUBSCRIBERS, SERVERS, OPENING_AT_ONCE, ROUNDS = 1000, 2, 50, 5
WITHIN_S, GOAL_P99_MS, GOAL_RATIO = 5.0, 250.0, 2.0

SLOTS_CHANGED = "subscription($s: ID!) { slotsChanged(serviceId: $s) { cause sequence dates } }"
BOOK = (
    "mutation($input: CreateBookingInput!) { createBooking(input: $input) {"
    " __typename ... on Booking { id } ... on SlotUnavailable { reason } } }"
)
MONTH_QUERY = (
    "query($s: ID!, $m: String!) { monthAvailability(serviceId: $s, month: $m) {"
    " availableDates { date availableSlots } unavailableDates { date reason } nextAvailableDate } }"
)
SEQUENCE = "SELECT coalesce(max(last_sequence), 0) FROM provider_change_sequences WHERE provider_id = $1"


@dataclass(frozen=True)
class Seeded:
    provider_id: str
    service_id: str
    month: str
    free: list[datetime]  # starts neither booked nor busy, earliest first


# --- database ----------------------------------------------------------------------------------


def at(day: date, half_hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        minutes=OPEN_MINUTE + 30 * half_hour
    )


async def seed(url: str) -> Seeded:
    engine = create_engine(url, 2)
    try:
        app = AppContext(engine)
        provider = await setup.create_provider(app, "Bench provider", "UTC")
        week = [(day, [("08:00", "20:00")]) for day in range(7)]
        await setup.set_weekly_schedule(app, str(provider.id), None, None, week)
        rules = setup.ServiceInput(
            str(provider.id), "Consultation", 30, buffer_after_minutes=0, min_notice_minutes=0
        )
        service = await setup.create_service(app, rules)
        today = app.clock().astimezone(UTC).date()
        booked, busy = layout(today, HALF_HOURS)
        async with engine.begin() as conn:
            await insert_layout(conn, provider, service, booked, busy, at)
        free = [
            at(day, h)
            for day in sorted(booked)
            for h in range(HALF_HOURS)
            if h not in booked[day] and h not in busy[day]
        ]
        month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return Seeded(str(provider.id), str(service.id), f"{month:%Y-%m}", free[:ROUNDS])
    finally:
        await engine.dispose()


async def sequence(url: str, provider_id: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(SEQUENCE, uuid.UUID(provider_id)))
    finally:
        await conn.close()


# --- fan-out -----------------------------------------------------------------------------------


@dataclass
class Subscriber:
    server: int
    ws: ClientConnection
    arrivals: dict[int, float] = field(default_factory=dict)  # sequence -> perf_counter at receipt
    other: Counter[str] = field(default_factory=Counter)  # anything but BOOKING_CREATED, ping, pong
    closed: str | None = None  # a close we did not ask for: "code reason"


@dataclass
class Round:
    start: datetime
    sequence: int
    sent: float
    answered: float
    outcome: str


class Fanout:
    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.expected = 0
        self.received = 0
        self.everyone = asyncio.Event()
        self.closing = False

    async def open(self, url: str, server: int, service_id: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            ws = await connect(
                url.replace("http://", "ws://"),
                subprotocols=[Subprotocol("graphql-transport-ws")],
                ping_interval=None,
                proxy=None,
                open_timeout=30,
            )
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"expected connection_ack, got {ack}")
            payload = {"query": SLOTS_CHANGED, "variables": {"s": service_id}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        subscriber = Subscriber(server, ws)
        self.subscribers.append(subscriber)
        await self.read(subscriber)

    async def read(self, sub: Subscriber) -> None:
        try:
            async for raw in sub.ws:
                received = time.perf_counter()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    event = ((message.get("payload") or {}).get("data") or {}).get("slotsChanged") or {}
                    cause, number = event.get("cause"), event.get("sequence")
                    if cause == "BOOKING_CREATED" and isinstance(number, int) and number not in sub.arrivals:
                        sub.arrivals[number] = received
                        if number == self.expected:
                            self.received += 1
                            if self.received == SUBSCRIBERS:
                                self.everyone.set()
                    else:
                        sub.other[f"next {cause} {json.dumps(message.get('payload'))[:120]}"] += 1
                elif kind == "ping":
                    await sub.ws.send('{"type": "pong"}')
                elif kind != "pong":
                    sub.other[f"{kind} {json.dumps(message.get('payload'))[:120]}"] += 1
        except ConnectionClosed:
            pass
        if not self.closing:
            sub.closed = f"{sub.ws.close_code} {sub.ws.close_reason}".strip()

    def expect(self, number: int) -> None:
        self.expected, self.received = number, 0
        self.everyone.clear()

    async def close(self) -> None:
        self.closing = True
        await asyncio.gather(*(s.ws.close() for s in self.subscribers), return_exceptions=True)


def live_subscriptions(url: str) -> int:
    with urllib.request.urlopen(url.replace("/graphql", "/healthz"), timeout=10) as response:
        return int(json.loads(response.read())["liveSubscriptions"])


def book(
    conn: http.client.HTTPConnection, path: str, service_id: str, start: datetime
) -> tuple[float, float, str]:
    """Send one createBooking; when it was sent, when its answer was in, and its __typename."""
    variables = {"serviceId": service_id, "start": start.isoformat(), "customerId": "live-bench"}
    payload = body(BOOK, {"input": variables | {"idempotencyKey": uuid.uuid4().hex}})
    sent = time.perf_counter()
    conn.request("POST", path, payload, {"Content-Type": "application/json"})
    answer = conn.getresponse().read()
    answered = time.perf_counter()
    data = json.loads(answer)
    result = (data.get("data") or {}).get("createBooking") or {}
    outcome = " ".join(filter(None, (result.get("__typename"), result.get("reason")))) or str(data)[:200]
    return sent, answered, outcome


async def fan_out(urls: list[str], database_url: str, seeded: Seeded) -> tuple[Fanout, list[Round], float]:
    """Subscribe everyone, wait until both servers count them, then book ROUNDS slots on server 1."""
    fanout, gate = Fanout(), asyncio.Semaphore(OPENING_AT_ONCE)
    began = time.perf_counter()
    readers = [
        asyncio.create_task(fanout.open(urls[n % SERVERS], n % SERVERS, seeded.service_id, gate))
        for n in range(SUBSCRIBERS)
    ]
    deadline = time.monotonic() + 120
    while sum(await asyncio.gather(*(asyncio.to_thread(live_subscriptions, u) for u in urls))) < SUBSCRIBERS:
        failed = [t for t in readers if t.done() and t.exception()]
        if failed or time.monotonic() > deadline:
            raise RuntimeError(f"subscribing failed: {failed[0].exception() if failed else 'timed out'}")
        await asyncio.sleep(0.2)
    subscribed = time.perf_counter() - began
    parts = urlsplit(urls[0])
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    rounds: list[Round] = []
    try:
        await asyncio.to_thread(post, urls[0], HELLO_QUERY)
        for start in seeded.free:
            await asyncio.sleep(0.5)
            number = await sequence(database_url, seeded.provider_id) + 1
            fanout.expect(number)
            sent, answered, outcome = await asyncio.to_thread(
                book, conn, parts.path, seeded.service_id, start
            )
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    fanout.everyone.wait(), max(0.0, answered + WITHIN_S - time.perf_counter())
                )
            rounds.append(Round(start, number, sent, answered, outcome))
        await asyncio.sleep(0.5)  # anything late or extra still lands in `other`
    finally:
        conn.close()
        await fanout.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return fanout, rounds, subscribed


@dataclass
class Latencies:
    from_answer: list[float] = field(default_factory=list)
    from_send: list[float] = field(default_factory=list)
    early: int = 0  # events in before the HTTP answer

    def add(self, received: float, r: Round) -> None:
        self.from_answer.append(received - r.answered)
        self.from_send.append(received - r.sent)
        self.early += received < r.answered

    def line(self, of: int) -> str:
        count = f"{len(self.from_answer)}/{of}"
        if not self.from_answer:
            return f"{count:>10}"
        stats = [*_spread(self.from_answer), *_spread(self.from_send)]
        return f"{count:>10}" + "".join(f"{v:>9.1f}" for v in stats) + f"{self.early:>7}"


def _spread(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max, in milliseconds."""
    return percentile(seconds, 0.5), percentile(seconds, 0.99), max(seconds) * 1000


def latencies(fanout: Fanout, rounds: list[Round], server: int | None = None) -> tuple[list[Latencies], int]:
    """Per round, the latencies of the subscribers (of one server, or all) in within WITHIN_S."""
    subs = [s for s in fanout.subscribers if server is None or s.server == server]
    per_round = []
    for r in rounds:
        lat = Latencies()
        for s in subs:
            received = s.arrivals.get(r.sequence)
            if received is not None and received - r.answered <= WITHIN_S:
                lat.add(received, r)
        per_round.append(lat)
    return per_round, len(subs)


def merged(parts: list[Latencies]) -> Latencies:
    total = Latencies()
    for p in parts:
        total.from_answer += p.from_answer
        total.from_send += p.from_send
        total.early += p.early
    return total


def print_fanout(fanout: Fanout, rounds: list[Round], subscribed: float) -> None:
    print(
        f"\nfan-out: {SUBSCRIBERS} graphql-transport-ws connections (websockets, permessage-deflate as"
        f" offered by default), one slotsChanged subscription each, {SUBSCRIBERS // SERVERS} per server;"
        f" all counted by /healthz after {subscribed:.1f} s"
    )
    print(f"{ROUNDS} rounds: one createBooking over HTTP on server 1, 0.5 s apart; latency to each `next`")
    head = f"{'':<28}{'received':>10}{'ans p50':>9}{'ans p99':>9}{'ans max':>9}"
    print(f"\n{head}{'sent p50':>9}{'sent p99':>9}{'sent max':>9}{'early':>7}   (ms)")
    per_round, of = latencies(fanout, rounds)
    for n, (r, lat) in enumerate(zip(rounds, per_round, strict=True), 1):
        label = f"round {n} {r.start:%m-%d %H:%M} #{r.sequence}"
        print(f"{label:<28}{lat.line(of)}   {r.outcome}, answered in {(r.answered - r.sent) * 1000:.1f} ms")
    total = merged(per_round)
    print(f"{'all rounds':<28}{total.line(of * len(rounds))}")
    for server in range(SERVERS):
        part, count = latencies(fanout, rounds, server)
        where = "same instance" if server == 0 else "other instance"
        print(f"{f'  server {server + 1} ({where})':<28}{merged(part).line(count * len(rounds))}")
    print(
        "(ans: from the HTTP answer's arrival; sent: from the request's sending;"
        f" received: within {WITHIN_S:g} s of the answer; early: before the answer)"
    )
    other = Counter[str]()
    for s in fanout.subscribers:
        other.update(s.other)
    closes = Counter(s.closed for s in fanout.subscribers if s.closed)
    print(f"other messages: {dict(other) or 'none'}; closes we did not ask for: {dict(closes) or 'none'}")
    missing = sum(of - len(lat.from_answer) for lat in per_round)
    booked = all(r.outcome == "Booking" for r in rounds)
    p99 = percentile(total.from_answer, 0.99) if total.from_answer else float("inf")
    met = booked and missing == 0 and p99 < GOAL_P99_MS and len(rounds) == ROUNDS
    print(f"\ngoal: all {SUBSCRIBERS:,} receive it, p99 under {GOAL_P99_MS:g} ms")
    print(
        f"      {'met' if met else 'NOT met'}: {missing} missing deliveries over {len(rounds)} rounds,"
        f" p99 {p99:.1f} ms from the answer ({percentile(total.from_send, 0.99):.1f} ms from sending)"
    )


# --- month view --------------------------------------------------------------------------------


def warm(url: str, seeded: Seeded) -> None:
    for _ in range(3):  # the first read teaches the cache the service's provider; the second stores
        answer = post(url, MONTH_QUERY, {"s": seeded.service_id, "m": seeded.month})
        if answer.get("errors") or not (answer.get("data") or {}).get("monthAvailability"):
            raise RuntimeError(f"monthAvailability failed: {answer}")


def cached_in_redis(seeded: Seeded) -> bool:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return bool(client.exists(f"slotwise:view:month|{seeded.service_id}|{seeded.month}|"))
    finally:
        client.close()


def redis_lookups() -> Counter[str]:
    """Redis's keyspace hits and misses so far (server-wide: other users of this Redis count too)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        stats = cast(dict[str, Any], client.info("stats"))
        return Counter(hits=int(stats["keyspace_hits"]), misses=int(stats["keyspace_misses"]))
    finally:
        client.close()


def main() -> int:
    started = time.monotonic()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * SUBSCRIBERS + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    with temporary_database() as (name, url):
        upgrade(url)
        seeded = asyncio.run(seed(url))
        print(
            f"database {name}: one provider in UTC open 08:00-20:00 every day, a 30-minute service"
            f" (buffers 0, min notice 0), {BOOKINGS} bookings and {BUSY} busy intervals over {DAYS} days"
            f" ({time.monotonic() - started:.1f} s)"
        )
        wrk, how = find_wrk()
        print(f"load generator: {'wrk (' + how + ')' if wrk else 'python asyncio (wrk ' + how + ')'}")
        base = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        base |= {
            "BENCH_DATABASE_URL": url,
            "SLOTWISE_ENV": "production",
            "SLOTWISE_RATE_LIMIT_PER_MINUTE": "0",
        }
        shared = base | {"REDIS_URL": REDIS_URL, "SLOTWISE_MAX_SUBSCRIPTIONS": str(SUBSCRIBERS)}
        targets = {f"slotwise {n + 1}": TARGETS["slotwise"] for n in range(SERVERS)}
        month = {"s": seeded.service_id, "m": seeded.month}
        results: list[Result] = []
        with serving(targets | {"reference": TARGETS["reference"]}, shared) as urls:
            servers = [urls[name] for name in targets]
            fanout, rounds, subscribed = asyncio.run(fan_out(servers, url, seeded))
            warm(servers[0], seeded)
            in_redis = cached_in_redis(seeded)

            def run(work: Workload) -> Result:
                return run_wrk(wrk, work) if wrk else run_python(work)

            name = f"monthAvailability {seeded.month}, Redis cache"
            before = redis_lookups()
            results.append(run(Workload(name, servers[0], body(MONTH_QUERY, month))))
            lookups = redis_lookups() - before
            with serving({"local": TARGETS["slotwise"]}, base) as local:
                warm(local["local"], seeded)
                name = f"monthAvailability {seeded.month}, in-process"
                results.append(run(Workload(name, local["local"], body(MONTH_QUERY, month))))
            hello = Workload("reference { __typename }", urls["reference"], body(HELLO_QUERY, {}))
            results.append(run(hello))
    print_fanout(fanout, rounds, subscribed)
    print_setup(wrk)
    print(f"servers:   slotwise 1 and 2 with REDIS_URL={REDIS_URL}; a third without REDIS_URL (in-process)")
    print(f"month view: 3 requests first, so it is cached; the Redis entry exists: {in_redis}")
    print(
        f"            Redis keyspace during its wrk runs (warm-up + measured, one MGET of version"
        f" and entry per read): {lookups['hits']} hits, {lookups['misses']} misses"
    )
    report(results, results[-1])
    redis_month, reference = results[0], results[-1]
    ratio = redis_month.rps / reference.rps
    month_met = ratio >= GOAL_RATIO and redis_month.failed == 0 and in_redis
    print(f"\ngoal: warm-cache month view serves at least {GOAL_RATIO:g}x the reference's requests/s")
    print(
        f"      {'met' if month_met else 'NOT met'}: {redis_month.rps:.1f} / {reference.rps:.1f} = {ratio:.3f}"
        f" (in-process cache: {results[1].rps / reference.rps:.3f})"
    )
    print(f"\ntotal {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
