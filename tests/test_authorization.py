"""Who may do what: each role against each provider-management operation, and bookings' owners."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.access import Role
from resolvers.access import create_api_key
from tests.api.booking_fixtures import CANCEL, CREATE_BOOKING
from tests.api.fixtures import provider_with_service

# (name, document, variables given the provider and service ids)
OPERATIONS: list[tuple[str, str, Any]] = [
    (
        "createService",
        """mutation($p: ID!) { createService(input: {providerId: $p, name: "X", durationMinutes: 30}) {
        __typename } }""",
        lambda p, s: {"p": p},
    ),
    (
        "setWeeklySchedule",
        """mutation($p: ID!) { setWeeklySchedule(input: {providerId: $p, days: []}) { __typename } }""",
        lambda p, s: {"p": p},
    ),
    (
        "blockDate",
        """mutation($p: ID!) { blockDate(input: {providerId: $p, date: "2027-03-10"}) { __typename } }""",
        lambda p, s: {"p": p},
    ),
    (
        "setRecurringSchedules",
        """mutation($p: ID!) { setRecurringSchedules(input: {providerId: $p}) { __typename } }""",
        lambda p, s: {"p": p},
    ),
    (
        "addAvailabilityWindow",
        """mutation($p: ID!) { addAvailabilityWindow(input: {providerId: $p, date: "2027-03-06",
        start: "09:00", end: "10:00"}) { __typename } }""",
        lambda p, s: {"p": p},
    ),
    (
        "availabilityConflicts",
        """query($p: ID!) { availabilityConflicts(providerId: $p, from: "2027-03-01",
        to: "2027-03-31") { type } }""",
        lambda p, s: {"p": p},
    ),
    (
        "availabilityChanges",
        """query($p: ID!) { availabilityChanges(providerId: $p) { entity } }""",
        lambda p, s: {"p": p},
    ),
    (
        "availabilityStatistics",
        """query($p: ID!) { availabilityStatistics(providerId: $p, from: "2027-03-01",
        to: "2027-03-07") { availableMinutes } }""",
        lambda p, s: {"p": p},
    ),
    (
        "exportAvailability",
        """query($p: ID!) { exportAvailability(providerId: $p) }""",
        lambda p, s: {"p": p},
    ),
    (
        "calendarConnection",
        """query($p: ID!) { provider(id: $p) { calendarConnection { status } } }""",
        lambda p, s: {"p": p},
    ),
    (
        "registerWebhook",
        """mutation($p: ID!) { registerWebhook(input: {url: "https://partner.example/hook",
        providerId: $p}) { __typename } }""",
        lambda p, s: {"p": p},
    ),
]


@pytest.fixture
async def world(client: httpx.AsyncClient, app_context: Any) -> dict[str, Any]:
    provider_id, service_id = await provider_with_service(client)
    other_provider, _ = await provider_with_service(client)

    async def key(role: Role, providers: list[str]) -> str:
        return (await create_api_key(app_context, None, role.value.lower(), role, providers)).key

    return {
        "provider": provider_id,
        "service": service_id,
        "keys": {
            "anonymous": None,
            "other provider": await key(Role.PROVIDER, [other_provider]),
            "own provider": await key(Role.PROVIDER, [provider_id]),
            "partner granted": await key(Role.PARTNER, [provider_id]),
            "partner not granted": await key(Role.PARTNER, [other_provider]),
            "admin": await key(Role.ADMIN, []),
        },
    }


ALLOWED = {"own provider", "partner granted", "admin"}


async def run(
    client: httpx.AsyncClient, key: str | None, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}" if key else ""}
    response = await client.post(
        "/graphql", json={"query": document, "variables": variables}, headers=headers
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("name", "document", "variables"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
async def test_the_role_matrix(
    client: httpx.AsyncClient, world: dict[str, Any], name: str, document: str, variables: Any
) -> None:
    for who, key in world["keys"].items():
        body = await run(client, key, document, variables(world["provider"], world["service"]))
        refused = any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in body.get("errors", []))
        assert refused == (who not in ALLOWED), (name, who, body)


async def test_only_admins_create_providers(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    document = """mutation { createProvider(input: {name: "New", timezone: "UTC"}) { __typename } }"""
    for who, key in world["keys"].items():
        body = await run(client, key, document, {})
        refused = any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in body.get("errors", []))
        assert refused == (who != "admin"), (who, body)


async def test_a_booking_is_cancelled_by_its_customer_or_its_provider_only(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    keys = world["keys"]

    async def booking(hour: int) -> str:
        body = await run(
            client,
            None,
            CREATE_BOOKING,
            {
                "input": {
                    "serviceId": world["service"],
                    "start": f"2027-03-03T{hour:02d}:00:00-08:00",
                    "customerId": "alice",
                }
            },
        )
        return body["data"]["createBooking"]["id"]  # type: ignore[no-any-return]

    first = await booking(10)
    for key, customer in ((None, None), (None, "mallory"), (keys["other provider"], None)):
        body = await run(client, key, CANCEL, {"input": {"bookingId": first, "customerId": customer}})
        assert body["data"]["cancelBooking"]["__typename"] == "NotFound"
    body = await run(client, None, CANCEL, {"input": {"bookingId": first, "customerId": "alice"}})
    assert body["data"]["cancelBooking"]["status"] == "CANCELLED"
    second = await booking(11)
    body = await run(client, keys["own provider"], CANCEL, {"input": {"bookingId": second}})
    assert body["data"]["cancelBooking"]["status"] == "CANCELLED"
