"""Schemathesis fuzzes every query and mutation of the running app (uvicorn, real PostgreSQL).

Whatever it sends, the answer must be a GraphQL answer: no 5xx, no masked internal error, no
null in a non-null field. Rejections (validation errors, NOT_FOUND, FORBIDDEN) are fine.
It runs as an admin (who may do everything) and as an anonymous customer.
`SLOTWISE_FUZZ_EXAMPLES` sets the examples per operation and caller (default 50: about 50 s; it found the NUL bug at 50 and not at 30).
"""

from __future__ import annotations

import asyncio
import os
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.graphql import nodes

from tests.api.booking_fixtures import CREATE_BOOKING, HOLD
from tests.api.fixtures import CREATE_PROVIDER, CREATE_SERVICE, SET_WEEK, week
from tests.conftest import new_admin_key, own_database
from tests.live.helpers import at
from tests.servers import uvicorn_servers

EXAMPLES = int(os.environ.get("SLOTWISE_FUZZ_EXAMPLES", "50"))
TODAY = datetime.now(UTC).date()

# Ids the fuzzer draws from (besides its own random strings), so it reaches past "not found".
ID_ARGUMENTS = ("id", "providerId", "serviceId", "bookingId", "holdId", "keyId", "webhookId")


def _value_node(value: Any) -> graphql.ValueNode:
    node = graphql.ast_from_value(value, graphql.GraphQLString) if isinstance(value, str) else None
    if node is not None:
        return node
    if isinstance(value, dict):
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=_value_node(item))
                for key, item in value.items()
            ]
        )
    if isinstance(value, list):
        return nodes.List([_value_node(item) for item in value])
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    return nodes.Null


_names = st.sampled_from(["version", "provider", "timezone", "schedules", "windows", "day", "start", "end"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_names | st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, max_size=4)
    ),
    max_leaves=12,
)
_near_dates = st.dates(TODAY - timedelta(days=3), TODAY + timedelta(days=90))
_junk = st.text(string.printable, max_size=30)

schemathesis.graphql.scalar(
    "Date", st.one_of(_near_dates.map(str), st.dates().map(str), _junk).map(nodes.String)
)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.builds(
            lambda day, minutes, zone: f"{day}T{minutes // 60:02d}:{minutes % 60:02d}:00{zone}",
            _near_dates,
            st.integers(0, 24 * 60 - 1),
            st.sampled_from(["Z", "+00:00", "+05:30", "-08:00", ""]),
        ),
        st.datetimes().map(datetime.isoformat),
        _junk,
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "TimeZone",
    st.one_of(
        st.sampled_from(
            ["UTC", "America/Los_Angeles", "Australia/Lord_Howe", "Asia/Kolkata", "Mars/Olympus"]
        ),
        _junk,
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "Decimal", st.one_of(st.decimals(allow_nan=False).map(str), _junk).map(nodes.String)
)
schemathesis.graphql.scalar("JSON", _json.map(_value_node))


# The ids come from the running app, so the fuzzer draws these stand-ins and each request swaps in
# the real ids of a seeded provider, service, booking and hold.
STAND_INS = ("seeded-service", "seeded-provider", "seeded-booking", "seeded-hold")
fuzzed = schemathesis.graphql.from_path(
    Path(__file__).parent.parent / "schema.graphql",
    config=SchemathesisConfig.from_dict(
        {
            "dictionaries": {"ids": {"values": list(STAND_INS)}},
            "parameters": {
                key: {"dictionary": "ids", "probability": 0.6}
                for name in ID_ARGUMENTS
                for key in (f"*.*.{name}", f"*.*.input.{name}")
            },
        }
    ),
)


@dataclass
class FuzzTarget:
    url: str
    callers: dict[str, dict[str, str]]  # headers by caller
    ids: dict[str, str]  # real id by stand-in


async def _seed(url: str, headers: dict[str, str]) -> dict[str, str]:
    """A provider with a service, a booking and a hold: ids the fuzzer may act on."""

    async def post(query: str, **variables: Any) -> dict[str, Any]:
        response = await http.post(
            f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        result = next(iter(response.json()["data"].values()))
        assert result["__typename"] in ("Provider", "Schedule", "Service", "Booking", "Hold"), result
        return result  # type: ignore[no-any-return]

    async with httpx.AsyncClient(timeout=30) as http:
        provider = await post(CREATE_PROVIDER, name="Fuzzed", tz="UTC")
        await post(SET_WEEK, input={"providerId": provider["id"], "days": week("08:00-20:00")})
        service = await post(
            CREATE_SERVICE, input={"providerId": provider["id"], "name": "Fuzzed", "durationMinutes": 30}
        )
        booking = await post(
            CREATE_BOOKING, input={"serviceId": service["id"], "start": at(10), "customerId": "c"}
        )
        hold = await post(HOLD, input={"serviceId": service["id"], "start": at(13), "customerId": "c"})
    return dict(zip(STAND_INS, (service["id"], provider["id"], booking["id"], hold["id"]), strict=True))


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[FuzzTarget]:
    """The app as uvicorn serves it, on a database of its own (what the fuzzer makes stays there)."""
    with own_database("fuzz") as database, uvicorn_servers(database, count=1) as (url,):
        admin = {"Authorization": f"Bearer {new_admin_key(database)}"}
        yield FuzzTarget(url, {"admin": admin, "anonymous": {}}, asyncio.run(_seed(url, admin)))


@pytest.mark.parametrize("caller", ["admin", "anonymous"])
@fuzzed.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_breaks_the_server(case: Any, caller: str, fuzz_target: FuzzTarget) -> None:
    query = case.body
    for stand_in, real in fuzz_target.ids.items():
        query = query.replace(f'"{stand_in}"', f'"{real}"')
    case.body = query
    response = case.call(
        base_url=f"{fuzz_target.url}/graphql", headers=fuzz_target.callers[caller], timeout=30
    )
    assert response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body, dict) and ("data" in body or "errors" in body), response.text
    for error in body.get("errors") or []:
        assert "Internal error" not in error["message"], (query, error)
        assert "Cannot return null for non-nullable field" not in error["message"], (query, error)
