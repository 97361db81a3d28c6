"""What the benchmarks share: a throwaway database, uvicorn servers, wrk, a keep-alive HTTP client."""

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WARMUP_S, MEASURE_S, THREADS, CONNECTIONS = 2, 10, 1, 16
UVICORN = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--loop", "asyncio", "--http", "httptools"]
UVICORN_TAIL = ["--workers", "1", "--log-level", "warning"]
TARGETS = {"slotwise": "bench.server_app:app", "reference": "bench.hello_app:app"}
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


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def temporary_database() -> Iterator[tuple[str, str]]:
    """Create an empty database; yield its name and URL; drop it on the way out, even on failure."""
    name = f"slotwise_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield name, make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads Content-Length answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str) -> None:
        parts = urlsplit(url)
        self._reader, self._writer = reader, writer
        self._head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        )

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 80)
        return cls(reader, writer, url)

    async def post(self, payload: bytes) -> tuple[int, bytes]:
        """The answer's HTTP status and body."""
        self._writer.write(f"{self._head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        head = await self._reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        if length is None:
            raise RuntimeError(f"response without Content-Length: {head!r}")
        answer = await self._reader.readexactly(int(length.group(1)))
        return int(head.split(b" ", 2)[1]), answer

    def close(self) -> None:
        self._writer.close()


def percentile(latencies: Sequence[float], p: float) -> float:
    """The p-quantile (0-1) of latencies in seconds, in milliseconds."""
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def _python_load(work: Workload, seconds: float) -> tuple[list[float], int, float]:
    """Keep-alive HTTP/1.1 POSTs on CONNECTIONS connections: latencies (s), failures, elapsed (s)."""
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal failed
        conn = await Connection.open(work.url)
        try:
            while (sent := time.perf_counter()) < deadline:
                status, answer = await conn.post(work.body)
                latencies.append(time.perf_counter() - sent)
                if status != 200 or b'"errors"' in answer:
                    failed += 1
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return latencies, failed, time.perf_counter() - started


def run_python(work: Workload) -> Result:
    asyncio.run(_python_load(work, WARMUP_S))
    latencies, failed, elapsed = asyncio.run(_python_load(work, MEASURE_S))
    return Result(
        work.name,
        len(latencies) / elapsed,
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        len(latencies),
        failed,
    )


# --- output ------------------------------------------------------------------------------------


def print_setup(wrk: str | None) -> None:
    """The machine, the server command lines and how the load was generated."""
    print(f"\nCPUs: {os.cpu_count()} (usable {len(os.sched_getaffinity(0))})")
    for label, target in (("server:", TARGETS["slotwise"]), ("reference:", TARGETS["reference"])):
        print(f"{label:<11}{' '.join(server_command(target, 0)).replace('--port 0', '--port PORT')}")
    if wrk:
        load = " ".join(wrk_command(wrk, "POST.lua", MEASURE_S, "URL"))
        print(f"load:      {load}  (after a {WARMUP_S} s warm-up run)")
    else:
        print(
            f"load:      python asyncio, {CONNECTIONS} keep-alive connections, {MEASURE_S} s after {WARMUP_S} s"
        )


def report(results: list[Result], reference: Result) -> None:
    """One row per result; `x ref` is its req/s over the reference's."""
    w = max(34, *(len(r.name) + 2 for r in results))
    print(
        f"\n{'workload':<{w}}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'failed':>8}{'x ref':>8}"
    )
    for r in results:
        ratio = r.rps / reference.rps
        print(
            f"{r.name:<{w}}{r.rps:>10.1f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.requests:>10}{r.failed:>8}{ratio:>8.3f}"
        )
