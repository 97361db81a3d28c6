"""Running the real app as uvicorn processes, as production does."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def uvicorn_servers(
    database_url: str, count: int = 2, ports: list[int] | None = None, **env: str
) -> Iterator[list[str]]:
    """`count` uvicorn processes of slotwise.asgi sharing one database; yields their base URLs."""
    # No rate limit unless a test asks for one: every test server counts callers from 127.0.0.1.
    base = {
        "DATABASE_URL": database_url,
        "SLOTWISE_DB_POOL_SIZE": "20",
        "SLOTWISE_RATE_LIMIT_PER_MINUTE": "0",
    }
    environment = os.environ | base | env
    ports = ports or [free_port() for _ in range(count)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "slotwise.asgi:build",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--loop",
                "asyncio",
                "--log-level",
                "warning",
            ],
            env=environment,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 30
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "servers did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
