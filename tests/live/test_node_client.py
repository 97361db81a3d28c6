"""The reference graphql-transport-ws client, graphql-ws under Node, against two live instances."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.booking_fixtures import CREATE_BOOKING
from tests.live.helpers import at, day_ahead, post, utc_service, websocket_url
from tests.servers import uvicorn_servers

REDIS_URL = "redis://127.0.0.1:6379/0"
NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SCRIPT = NODE_DIR / "subscribe.mjs"


def node_modules_current() -> bool:
    """npm writes node_modules/.package-lock.json last; missing or older than the lockfile: reinstall."""
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lockfile = NODE_DIR / "package-lock.json"
    return marker.is_file() and marker.stat().st_mtime >= lockfile.stat().st_mtime


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[list[str]]:
    with uvicorn_servers(database_url, REDIS_URL=REDIS_URL) as urls:
        yield urls


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with tests/node's pinned packages installed (`npm ci`) if they are not yet."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "node and npm are needed to run the graphql-ws reference client (apt-get install nodejs npm)"
        )
    if not node_modules_current():
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=180,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`npm ci` in {NODE_DIR} did not finish within 180 s")
        if result.returncode != 0:
            pytest.fail(
                f"`npm ci` in {NODE_DIR} failed with exit code {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
    return node


async def next_line(process: asyncio.subprocess.Process, seconds: float) -> dict[str, Any]:
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), seconds)
    except TimeoutError:
        line = b""
    if not line:
        with contextlib.suppress(ProcessLookupError):  # it may have exited already
            process.kill()
        _, stderr = await process.communicate()
        pytest.fail(
            f"no message from the Node client within {seconds} s (exit code {process.returncode});"
            f" its stderr:\n{stderr.decode()}"
        )
    return json.loads(line)  # type: ignore[no-any-return]


async def test_graphql_ws_under_node_gets_the_snapshot_then_a_booking_made_on_the_other_instance(
    servers: list[str], node: str
) -> None:
    a, b = servers
    async with httpx.AsyncClient() as http:
        service_id = await utc_service(http, a)
        process = await asyncio.create_subprocess_exec(
            node,
            str(SCRIPT),
            websocket_url(a),
            service_id,
            day_ahead(),
            "2",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            snapshot = (await next_line(process, 15))["data"]["dayAvailabilityUpdates"]
            assert snapshot["date"] == day_ahead()
            assert "10:00" in [s["time"] for s in snapshot["availableSlots"]]

            booking = await post(
                http,
                b,
                CREATE_BOOKING,
                input={"serviceId": service_id, "start": at(10), "customerId": "alice"},
            )
            assert booking["__typename"] == "Booking", booking

            update = (await next_line(process, 5))["data"]["dayAvailabilityUpdates"]
            assert {"time": "10:00", "reason": "BOOKED"} in update["unavailableSlots"]
            assert "10:00" not in [s["time"] for s in update["availableSlots"]]

            rest, stderr = await asyncio.wait_for(process.communicate(), 10)
            print(stderr.decode())  # its connection log and close code; shown with -rP or on failure
            assert process.returncode == 0, stderr.decode()
            assert rest == b"", rest  # exactly the two messages asked for
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
