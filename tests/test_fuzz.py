"""Schemathesis fuzzes every query and mutation of the running app (uvicorn, real PostgreSQL).

Whatever it sends, the answer must be a GraphQL answer: no 5xx, no masked internal error, no
null in a non-null field. Rejections (validation errors, NOT_FOUND, FORBIDDEN) are fine.
It runs as an admin (who may do everything) and as an anonymous customer; subscriptions go
over websockets (documents from hypothesis-graphql, which schemathesis builds on).
`SLOTWISE_FUZZ_EXAMPLES` sets the examples per operation and caller (default 50, about a minute
in all; 50 found the NUL bug below, 30 did not).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import graphql
import httpx
import hypothesis_graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.graphql import nodes
from websockets import Subprotocol
from websockets.sync.client import connect

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

SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Date": st.one_of(_near_dates.map(str), st.dates().map(str), _junk).map(nodes.String),
    "DateTime": st.one_of(
        st.builds(
            lambda day, minutes, zone: f"{day}T{minutes // 60:02d}:{minutes % 60:02d}:00{zone}",
            _near_dates,
            st.integers(0, 24 * 60 - 1),
            st.sampled_from(["Z", "+00:00", "+05:30", "-08:00", ""]),
        ),
        st.datetimes().map(datetime.isoformat),
        _junk,
    ).map(nodes.String),
    "TimeZone": st.one_of(
        st.sampled_from(
            ["UTC", "America/Los_Angeles", "Australia/Lord_Howe", "Asia/Kolkata", "Mars/Olympus"]
        ),
        _junk,
    ).map(nodes.String),
    "Decimal": st.one_of(st.decimals(allow_nan=False).map(str), _junk).map(nodes.String),
    "JSON": _json.map(_value_node),
}
for name, strategy in SCALARS.items():
    schemathesis.graphql.scalar(name, strategy)

# The ids come from the running app, so the fuzzer draws these stand-ins and each request swaps in
# the real ids of a seeded provider, service, booking and hold.
STAND_INS = ("seeded-service", "seeded-provider", "seeded-booking", "seeded-hold")
SEEDED_CUSTOMER = "c"
SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"
fuzzed = schemathesis.graphql.from_path(
    SCHEMA_FILE,
    config=SchemathesisConfig.from_dict(
        {
            "dictionaries": {
                "ids": {"values": list(STAND_INS)},
                "customers": {"values": [SEEDED_CUSTOMER]},  # who made the seeded hold and booking
                "urls": {"values": ["http://127.0.0.1:9/hook"]},  # a webhook URL that passes
            },
            "parameters": {
                **{
                    key: {"dictionary": "ids", "probability": 0.6}
                    for name in ID_ARGUMENTS
                    for key in (f"*.*.{name}", f"*.*.input.{name}")
                },
                "*.*.customerId": {"dictionary": "customers", "probability": 0.5},
                "*.*.input.customerId": {"dictionary": "customers", "probability": 0.5},
                "*.*.input.url": {"dictionary": "urls", "probability": 0.5},
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
            CREATE_BOOKING, input={"serviceId": service["id"], "start": at(10), "customerId": SEEDED_CUSTOMER}
        )
        hold = await post(
            HOLD, input={"serviceId": service["id"], "start": at(13), "customerId": SEEDED_CUSTOMER}
        )
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


# Subscriptions, which schemathesis does not send: hypothesis-graphql writes documents for the
# Subscription fields (presented to it as a query root) and each goes over a websocket.
_subscription_root = graphql.build_schema(SCHEMA_FILE.read_text()).subscription_type
assert _subscription_root is not None
_subscriptions = st.one_of(
    hypothesis_graphql.queries(
        graphql.GraphQLSchema(query=_subscription_root), fields=[name], custom_scalars=SCALARS
    )
    for name in _subscription_root.fields  # a subscription selects one root field
).map(lambda document: "subscription " + document)
_ID_LITERAL = r'(?:"(?:[^"\\]|\\.)*"|-?\d+)'


@settings(max_examples=3 * EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(document=_subscriptions, seeded=st.booleans(), caller=st.sampled_from(["admin", "anonymous"]))
def test_no_subscription_breaks_the_server(
    fuzz_target: FuzzTarget, document: str, seeded: bool, caller: str
) -> None:
    if seeded:  # the seeded service, and its provider's customer
        document = re.sub(
            f"serviceId: {_ID_LITERAL}", f'serviceId: "{fuzz_target.ids["seeded-service"]}"', document
        )
    payload = {"authorization": fuzz_target.callers[caller]["Authorization"]} if caller == "admin" else {}
    url = fuzz_target.url.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(ws.recv(10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
        try:
            answer = json.loads(ws.recv(0.3))  # a snapshot, an error, or (watching) nothing yet
        except TimeoutError:
            return
    assert answer["type"] in ("next", "error", "complete"), answer
    errors = answer["payload"] if answer["type"] == "error" else answer.get("payload", {}).get("errors") or []
    for error in errors:
        assert "Internal error" not in error["message"], (document, error)
        assert "Cannot return null for non-nullable field" not in error["message"], (document, error)
