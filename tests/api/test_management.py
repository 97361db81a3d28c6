"""Providers managing availability: bulk weekly edits, windows, blocked dates, conflicts, the log."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import insert, text

from db.tables import weekly_windows
from tests.api.booking_fixtures import CREATE_BOOKING
from tests.api.fixtures import provider_with_service
from tests.api.test_availability_api import DAY, MONTH, calendar_busy, la
from tests.conftest import gql

RECURRING = """mutation($input: RecurringSchedulesInput!) { setRecurringSchedules(input: $input) { __typename
  ... on Schedule { windows { id weekday start end } } ... on ValidationError { field message }
  ... on NotFound { id } } }"""
WINDOW = """mutation($input: AvailabilityWindowInput!) { addAvailabilityWindow(input: $input) { __typename
  ... on Schedule { dateWindows { id date start end } } ... on ValidationError { field message } } }"""
BLOCK = """mutation($input: BlockDateInput!) { blockDate(input: $input) { __typename
  ... on Schedule { exceptions { date closed reason } } } }"""
UNBLOCK = """mutation($p: ID!, $d: Date!) { unblockDate(providerId: $p, date: $d) { __typename
  ... on Schedule { exceptions { date } } ... on NotFound { message } } }"""
CONFLICTS = """query($p: ID!, $f: Date!, $t: Date!) { availabilityConflicts(providerId: $p, from: $f, to: $t) {
  type description weekday windowIds bookingId } }"""
RESOLVE = """mutation($input: ResolveConflictsInput!) { resolveAvailabilityConflicts(input: $input) { __typename
  ... on ConflictResolution { applied dryRun changes remaining { type } } ... on ValidationError { field } } }"""
CHANGES = """query($p: ID!) { availabilityChanges(providerId: $p) { entity action actor before after at } }"""
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


async def day_slots(client: httpx.AsyncClient, service_id: str, day: str) -> list[str]:
    view = (await gql(client, DAY, id=service_id, date=day))["dayAvailability"]
    return [s["time"] for s in view["availableSlots"]]


async def month_reasons(client: httpx.AsyncClient, service_id: str) -> dict[str, Any]:
    month = (await gql(client, MONTH, id=service_id, month="2027-03"))["monthAvailability"]
    return {d["date"]: d["availableSlots"] for d in month["availableDates"]} | {
        d["date"]: d["reason"] for d in month["unavailableDates"]
    }


async def test_bulk_weekly_edits_apply_together_or_not_at_all(client: httpx.AsyncClient) -> None:
    provider_id, service_id = await provider_with_service(client, spans=("09:00-12:00",))
    windows = (await gql(client, RECURRING, input={"providerId": provider_id}))["setRecurringSchedules"][
        "windows"
    ]
    monday, tuesday = (next(w["id"] for w in windows if w["weekday"] == day) for day in ("MONDAY", "TUESDAY"))
    result = (
        await gql(
            client,
            RECURRING,
            input={
                "providerId": provider_id,
                "add": [{"weekday": "MONDAY", "start": "14:00", "end": "16:00"}],
                "update": [{"id": tuesday, "start": "10:00", "end": "11:00"}],
                "remove": [monday],
            },
        )
    )["setRecurringSchedules"]
    by_day = {(w["weekday"], w["start"], w["end"]) for w in result["windows"]}
    assert ("MONDAY", "14:00", "16:00") in by_day and ("MONDAY", "09:00", "12:00") not in by_day
    assert ("TUESDAY", "10:00", "11:00") in by_day
    assert await day_slots(client, service_id, "2027-03-01") == ["14:00", "14:30", "15:00", "15:30"]
    touching = await gql(
        client,
        RECURRING,
        input={
            "providerId": provider_id,
            "add": [
                {"weekday": "MONDAY", "start": "16:00", "end": "17:00"},
                {"weekday": "FRIDAY", "start": "07:00", "end": "08:00"},
            ],
        },
    )
    assert touching["setRecurringSchedules"]["field"] == "days.MONDAY"
    assert ("FRIDAY", "07:00", "08:00") not in {
        (w["weekday"], w["start"], w["end"])
        for w in (await gql(client, RECURRING, input={"providerId": provider_id}))["setRecurringSchedules"][
            "windows"
        ]
    }
    merged = (
        await gql(
            client,
            RECURRING,
            input={
                "providerId": provider_id,
                "mergeOverlapping": True,
                "add": [{"weekday": "MONDAY", "start": "16:00", "end": "17:00"}],
            },
        )
    )["setRecurringSchedules"]
    assert ("MONDAY", "14:00", "17:00") in {(w["weekday"], w["start"], w["end"]) for w in merged["windows"]}
    bad = await gql(client, RECURRING, input={"providerId": provider_id, "remove": ["999999"]})
    assert bad["setRecurringSchedules"]["__typename"] == "NotFound"


async def test_blocked_dates_and_manual_windows_show_in_views_at_once(client: httpx.AsyncClient) -> None:
    provider_id, service_id = await provider_with_service(client, spans=("09:00-12:00",))
    await gql(
        client,
        RECURRING,
        input={
            "providerId": provider_id,
            "remove": [
                w["id"]
                for w in (await gql(client, RECURRING, input={"providerId": provider_id}))[
                    "setRecurringSchedules"
                ]["windows"]
                if w["weekday"] == "SATURDAY"
            ],
        },
    )
    assert (await month_reasons(client, service_id))["2027-03-06"] == "NO_SERVICE_HOURS"
    extra = (
        await gql(
            client,
            WINDOW,
            input={
                "providerId": provider_id,
                "date": "2027-03-06",
                "start": "09:00",
                "end": "11:00",
                "reason": "Saturday clinic",
            },
        )
    )["addAvailabilityWindow"]
    assert extra["dateWindows"][0]["date"] == "2027-03-06"
    assert (await month_reasons(client, service_id))["2027-03-06"] == 4
    await gql(
        client,
        WINDOW,
        input={"providerId": provider_id, "date": "2027-03-03", "start": "13:00", "end": "14:00"},
    )
    assert await day_slots(client, service_id, "2027-03-03") == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "13:00",
        "13:30",
    ]
    blocked = (
        await gql(
            client, BLOCK, input={"providerId": provider_id, "date": "2027-03-03", "reason": "Training"}
        )
    )["blockDate"]
    assert {"date": "2027-03-03", "closed": True, "reason": "Training"} in blocked["exceptions"]
    assert (await month_reasons(client, service_id))["2027-03-03"] == "BLOCKED"
    await gql(client, UNBLOCK, p=provider_id, d="2027-03-03")
    assert (await month_reasons(client, service_id))["2027-03-03"] == 8
    again = (await gql(client, UNBLOCK, p=provider_id, d="2027-03-03"))["unblockDate"]
    assert again["__typename"] == "NotFound"


async def legacy_overlap(engine: Any, provider_id: str) -> None:
    """Overlapping windows as the first design's data could hold them (the API refuses to make them)."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(weekly_windows).values(
                provider_id=UUID(provider_id), weekday=2, start_minute=11 * 60, end_minute=14 * 60
            )
        )


@pytest.mark.parametrize(
    ("strategy", "wednesday"),
    [
        ("MERGE", ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30"]),
        (
            "ADJUST",
            ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30"],
        ),
        ("REMOVE", ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]),
    ],
)
async def test_each_strategy_resolves_overlapping_windows(
    client: httpx.AsyncClient, engine: Any, strategy: str, wednesday: list[str]
) -> None:
    provider_id, service_id = await provider_with_service(client, spans=("09:00-12:00",))
    await legacy_overlap(engine, provider_id)
    before = await day_slots(client, service_id, "2027-03-03")
    found = (await gql(client, CONFLICTS, p=provider_id, f="2027-03-01", t="2027-03-31"))[
        "availabilityConflicts"
    ]
    assert [c["type"] for c in found] == ["OVERLAPPING_WINDOWS"] and found[0]["weekday"] == "WEDNESDAY"
    dry = (
        await gql(
            client,
            RESOLVE,
            input={
                "providerId": provider_id,
                "from": "2027-03-01",
                "to": "2027-03-31",
                "strategy": strategy,
                "dryRun": True,
            },
        )
    )["resolveAvailabilityConflicts"]
    assert dry["dryRun"] and not dry["applied"] and dry["changes"] and dry["remaining"] == []
    assert await day_slots(client, service_id, "2027-03-03") == before  # a dry run changes nothing
    done = (
        await gql(
            client,
            RESOLVE,
            input={"providerId": provider_id, "from": "2027-03-01", "to": "2027-03-31", "strategy": strategy},
        )
    )["resolveAvailabilityConflicts"]
    assert done["applied"] and done["changes"] == dry["changes"] and done["remaining"] == []
    assert await day_slots(client, service_id, "2027-03-03") == wednesday
    assert (await gql(client, CONFLICTS, p=provider_id, f="2027-03-01", t="2027-03-31"))[
        "availabilityConflicts"
    ] == []


async def test_bookings_left_outside_availability_are_reported_not_cancelled(
    client: httpx.AsyncClient, engine: Any
) -> None:
    provider_id, service_id = await provider_with_service(client, spans=("09:00-12:00",))
    booked = (
        await gql(
            client,
            CREATE_BOOKING,
            input={"serviceId": service_id, "start": "2027-03-04T10:00:00-08:00", "customerId": "alice"},
        )
    )["createBooking"]
    second = (
        await gql(
            client,
            CREATE_BOOKING,
            input={"serviceId": service_id, "start": "2027-03-05T09:00:00-08:00", "customerId": "bob"},
        )
    )["createBooking"]
    await gql(client, BLOCK, input={"providerId": provider_id, "date": "2027-03-04", "reason": "Sick"})
    await calendar_busy(engine, provider_id, la(date(2027, 3, 5), "09:15"), la(date(2027, 3, 5), "09:45"))
    found = (await gql(client, CONFLICTS, p=provider_id, f="2027-03-01", t="2027-03-31"))[
        "availabilityConflicts"
    ]
    assert {(c["type"], c["bookingId"]) for c in found} == {
        ("BOOKING_OUTSIDE_AVAILABILITY", booked["id"]),
        ("BOOKING_OVERLAPS_CALENDAR", second["id"]),
    }
    for strategy in ("MERGE", "REMOVE", "ADJUST"):
        done = (
            await gql(
                client,
                RESOLVE,
                input={
                    "providerId": provider_id,
                    "from": "2027-03-01",
                    "to": "2027-03-31",
                    "strategy": strategy,
                },
            )
        )["resolveAvailabilityConflicts"]
        assert len(done["remaining"]) == 2
    async with engine.connect() as conn:
        statuses = (
            (
                await conn.execute(
                    text("SELECT status FROM reservations WHERE provider_id = :p"), {"p": provider_id}
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["CONFIRMED", "CONFIRMED"]


async def test_every_change_is_in_the_change_log(client: httpx.AsyncClient) -> None:
    provider_id, _ = await provider_with_service(client, spans=("09:00-12:00",))
    await gql(client, BLOCK, input={"providerId": provider_id, "date": "2027-03-04", "reason": "Sick"})
    await gql(
        client,
        WINDOW,
        input={"providerId": provider_id, "weekday": "SUNDAY", "start": "13:00", "end": "14:00"},
    )
    await gql(client, UNBLOCK, p=provider_id, d="2027-03-04")
    log = (await gql(client, CHANGES, p=provider_id))["availabilityChanges"]
    assert [(e["entity"], e["action"]) for e in log] == [
        ("BLOCKED_DATE", "REMOVED"),
        ("WINDOW", "CREATED"),
        ("BLOCKED_DATE", "CREATED"),
        ("WEEKLY_SCHEDULE", "REPLACED"),
    ]
    assert log[0]["before"]["reason"] == "Sick" and log[0]["after"] is None
    assert log[1]["after"]["weekday"] == "SUNDAY"
    assert log[3]["before"] == {"timezone": "America/Los_Angeles", "days": {}}
    assert all(e["at"] for e in log)
    assert all(e["actor"].startswith("key:test operator") for e in log)  # the API key that made them
