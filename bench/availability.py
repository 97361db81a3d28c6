"""Throughput of monthAvailability and dayAvailability on the real server, next to plain Strawberry.

Creates its own database, seeds one provider (2,000 bookings and 500 calendar busy intervals over
the next 90 days), serves the app with uvicorn and drives it over loopback with wrk, or with a small
asyncio load generator when wrk cannot be had. Run: `.venv/bin/python -m bench.availability`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from db.engine import create_engine
from db.reservation_queries import insert_reservation
from db.tables import calendar_busy_intervals, reservations
from domain.local_time import local_date, local_to_instant
from resolvers import setup
from resolvers.context import AppContext
from slotwise.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ZONE = "America/Los_Angeles"
DAYS, BOOKINGS, BUSY = 90, 2000, 500
OPEN_MINUTE, HALF_HOURS = 7 * 60, 28  # 07:00-21:00: 28 half-hour bookings fill a day
WARMUP_S, MEASURE_S, THREADS, CONNECTIONS = 2, 10, 1, 16
UVICORN = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--loop", "asyncio", "--http", "httptools"]
UVICORN_TAIL = ["--workers", "1", "--log-level", "warning"]

MONTH_QUERY = (
    "query($s: ID!, $m: String!) { monthAvailability(serviceId: $s, month: $m) {"
    " availableDates { date availableSlots } unavailableDates { date reason } nextAvailableDate } }"
)
DAY_QUERY = (
    "query($s: ID!, $d: Date!) { dayAvailability(serviceId: $s, date: $d) {"
    " availableSlots { start time } unavailableSlots { time reason } } }"
)
HELLO_QUERY = "{ __typename }"

WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = 0 end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then failed = failed + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failed") end
  io.write(string.format("graphql_failed %%d\\n", total))
end
"""


@dataclass(frozen=True)
class Seeded:
    service_id: str
    month: str
    busy_day: date
    bookings: int
    busy: int


@dataclass(frozen=True)
class Workload:
    name: str
    url: str
    body: bytes


@dataclass(frozen=True)
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int


# --- database ----------------------------------------------------------------------------------


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _share(total: int, parts: int, index: int) -> int:
    """The index-th of `parts` near-equal whole shares of `total`."""
    return total * (index + 1) // parts - total * index // parts


def layout(today: date) -> tuple[dict[date, list[int]], dict[date, list[int]]]:
    """Half-hour indexes (0 = 07:00) booked and calendar-busy on each of the next DAYS days.

    Every third day is fully booked; the others share the rest, at distinct half-hours, so no two
    bookings overlap. Busy intervals fall anywhere, on booked half-hours or free ones.
    """
    days = [today + timedelta(days=n) for n in range(1, DAYS + 1)]
    full = {day for n, day in enumerate(days, 1) if n % 3 == 0}
    partial = [day for day in days if day not in full]
    rest = BOOKINGS - len(full) * HALF_HOURS
    booked = {day: list(range(HALF_HOURS)) for day in full}
    for i, day in enumerate(partial):
        booked[day] = sorted((i * 3 + j * 11) % HALF_HOURS for j in range(_share(rest, len(partial), i)))
    busy = {
        day: sorted((n * 7 + j * 5) % HALF_HOURS for j in range(_share(BUSY, DAYS, n)))
        for n, day in enumerate(days)
    }
    return booked, busy


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


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def body(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def post(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=body(query, variables or {}),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def server_command(target: str, port: int) -> list[str]:
    return [*UVICORN, "--port", str(port), *UVICORN_TAIL, target]


@contextmanager
def serving(targets: dict[str, str], env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Start one uvicorn per ASGI target; yield their GraphQL URLs once all answer; stop them."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for name, target in targets.items():
            port = free_port()
            processes.append(subprocess.Popen(server_command(target, port), cwd=ROOT, env=env))
            urls[name] = f"http://127.0.0.1:{port}/graphql"
        for process, url in zip(processes, urls.values(), strict=True):
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server for {url} exited with {process.returncode}")
                try:
                    if post(url, HELLO_QUERY).get("data"):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- load --------------------------------------------------------------------------------------


def find_wrk() -> tuple[str | None, str]:
    """wrk's path (None: use the asyncio load generator) and how it was found."""
    if os.environ.get("BENCH_LOADGEN") == "python":
        return None, "not used: BENCH_LOADGEN=python"
    found = shutil.which("wrk")
    if found:
        return found, "already installed"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "not installed"
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 600}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, **quiet).returncode == 0:
        return shutil.which("wrk"), "installed with `apt-get install -y -qq wrk`"
    subprocess.run(["apt-get", "update", "-qq"], env=env, **quiet)
    if subprocess.run(install, env=env, **quiet).returncode == 0:
        return shutil.which("wrk"), "installed with `apt-get update -qq && apt-get install -y -qq wrk`"
    return None, "apt-get install wrk failed"


def wrk_command(wrk: str, script: str, seconds: int, url: str) -> list[str]:
    options = [f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    return [wrk, *options, "-s", script, url]


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(wrk: str, work: Workload) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % work.body.decode())
    try:
        subprocess.run(wrk_command(wrk, script.name, WARMUP_S, work.url), check=True, capture_output=True)
        out = subprocess.run(
            wrk_command(wrk, script.name, MEASURE_S, work.url), check=True, capture_output=True, text=True
        ).stdout
    finally:
        os.unlink(script.name)

    def number(pattern: str) -> re.Match[str]:
        found = re.search(pattern, out, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no {pattern!r} in wrk's output:\n{out}")
        return found

    p50, p99 = number(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$"), number(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$")
    socket_errors = re.search(r"Socket errors: (.*)", out)
    failed = int(number(r"^graphql_failed (\d+)").group(1))
    if socket_errors:
        print(f"  wrk {work.name}: socket errors {socket_errors.group(1)}")
    return Result(
        work.name,
        float(number(r"Requests/sec:\s+([\d.]+)").group(1)),
        _ms(*p50.groups()),
        _ms(*p99.groups()),
        int(number(r"(\d+) requests in").group(1)),
        failed,
    )


async def _python_load(work: Workload, seconds: float) -> tuple[list[float], int, float]:
    """Keep-alive HTTP/1.1 POSTs on CONNECTIONS connections: latencies (s), failures, elapsed (s)."""
    url = urlsplit(work.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    request = (
        f"POST {url.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(work.body)}\r\n\r\n"
    ).encode() + work.body
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal failed
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (sent := time.perf_counter()) < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                if length is None:
                    raise RuntimeError(f"response without Content-Length: {head!r}")
                body = await reader.readexactly(int(length.group(1)))
                latencies.append(time.perf_counter() - sent)
                if not head.startswith(b"HTTP/1.1 200") or b'"errors"' in body:
                    failed += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return latencies, failed, time.perf_counter() - started


def run_python(work: Workload) -> Result:
    asyncio.run(_python_load(work, WARMUP_S))
    latencies, failed, elapsed = asyncio.run(_python_load(work, MEASURE_S))
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return Result(
        work.name, len(latencies) / elapsed, percentile(0.50), percentile(0.99), len(latencies), failed
    )


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


def report(results: list[Result], reference: Result) -> None:
    print(
        f"\n{'workload':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'failed':>8}{'x ref':>8}"
    )
    for r in results:
        ratio = r.rps / reference.rps
        print(
            f"{r.name:<34}{r.rps:>10.1f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.requests:>10}{r.failed:>8}{ratio:>8.3f}"
        )


def main() -> int:
    started = time.monotonic()
    name = f"slotwise_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        seeded = asyncio.run(seed(url))
        print(
            f"database {name}: {seeded.bookings} bookings, {seeded.busy} busy intervals ({time.monotonic() - started:.1f} s)"
        )
        wrk, how = find_wrk()
        print(f"load generator: {'wrk (' + how + ')' if wrk else 'python asyncio (wrk ' + how + ')'}")
        env = {**os.environ, "BENCH_DATABASE_URL": url, "SLOTWISE_ENV": "production"}
        targets = {"slotwise": "bench.server_app:app", "reference": "bench.hello_app:app"}
        with serving(targets, env) as urls:
            verify(urls["slotwise"], seeded)
            month = {"s": seeded.service_id, "m": seeded.month}
            day = {"s": seeded.service_id, "d": seeded.busy_day.isoformat()}
            workloads = [
                Workload(f"monthAvailability {seeded.month}", urls["slotwise"], body(MONTH_QUERY, month)),
                Workload(f"dayAvailability {seeded.busy_day}", urls["slotwise"], body(DAY_QUERY, day)),
                Workload("reference { __typename }", urls["reference"], body(HELLO_QUERY, {})),
            ]
            results = [run_wrk(wrk, w) if wrk else run_python(w) for w in workloads]
        print(f"\nCPUs: {os.cpu_count()} (usable {len(os.sched_getaffinity(0))})")
        print(
            f"server:    {' '.join(server_command('bench.server_app:app', 0)).replace('--port 0', '--port PORT')}"
        )
        print(
            f"reference: {' '.join(server_command('bench.hello_app:app', 0)).replace('--port 0', '--port PORT')}"
        )
        if wrk:
            load = " ".join(wrk_command(wrk, "POST.lua", MEASURE_S, "URL"))
            print(f"load:      {load}  (after a {WARMUP_S} s warm-up run)")
        else:
            print(
                f"load:      python asyncio, {CONNECTIONS} keep-alive connections, {MEASURE_S} s after {WARMUP_S} s"
            )
        report(results, results[-1])
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"\ntotal {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
