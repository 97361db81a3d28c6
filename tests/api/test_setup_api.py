"""Setting up providers, services, weeks and exceptions over HTTP; bad input writes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.api.fixtures import (
    ADD_EXCEPTION,
    CREATE_PROVIDER,
    CREATE_SERVICE,
    SET_WEEK,
    provider_with_service,
    week,
)
from tests.conftest import gql, gql_errors

PROVIDER = """query($id: ID!) { provider(id: $id) { name timezone services { id name }
  weeklySchedule { timezone days { weekday windows { start end } } exceptions { id date closed reason } } } }"""


async def test_create_provider_and_service_with_defaults(client: httpx.AsyncClient) -> None:
    provider = (await gql(client, CREATE_PROVIDER, name="  Ana  ", tz="Asia/Kolkata"))["createProvider"]
    assert provider["timezone"] == "Asia/Kolkata"
    created = (
        await gql(
            client, CREATE_SERVICE, input={"providerId": provider["id"], "name": "Cut", "durationMinutes": 45}
        )
    )["createService"]
    assert created["slotIntervalMinutes"] == 45 and created["bufferAfterMinutes"] == 60
    found = (await gql(client, PROVIDER, id=provider["id"]))["provider"]
    assert found["name"] == "Ana" and [s["name"] for s in found["services"]] == ["Cut"]
    service = await gql(
        client,
        "query($id: ID!) { service(id: $id) { minNoticeMinutes horizonDays "
        "holdMinutes bufferBeforeMinutes provider { name } } }",
        id=created["id"],
    )
    assert service["service"] == {
        "minNoticeMinutes": 60,
        "horizonDays": 90,
        "holdMinutes": 10,
        "bufferBeforeMinutes": 0,
        "provider": {"name": "Ana"},
    }


async def test_unknown_zone_is_refused_naming_the_argument(client: httpx.AsyncClient) -> None:
    errors = await gql_errors(client, CREATE_PROVIDER, name="Ana", tz="Mars/Olympus_Mons")
    assert "tz" in errors[0]["message"] and "Mars/Olympus_Mons" in errors[0]["message"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"durationMinutes": -30}, "durationMinutes"),
        ({"bufferAfterMinutes": -1}, "bufferAfterMinutes"),
        ({"minNoticeMinutes": -5}, "minNoticeMinutes"),
        ({"horizonDays": 0}, "horizonDays"),
        ({"slotIntervalMinutes": 0}, "slotIntervalMinutes"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"price": "-1"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "12.345"}, "price"),
        ({"schedule": {"days": week("17:00-09:00")}}, "schedule.days[0].windows[0]"),
    ],
)
async def test_bad_service_input_is_a_validation_error_and_writes_nothing(
    client: httpx.AsyncClient, fields: dict[str, object], field: str
) -> None:
    provider = (await gql(client, CREATE_PROVIDER, name="Ana", tz="UTC"))["createProvider"]
    result = (
        await gql(
            client,
            CREATE_SERVICE,
            input={"providerId": provider["id"], "name": "Cut", "durationMinutes": 30} | fields,
        )
    )["createService"]
    assert result["__typename"] == "ValidationError" and result["field"] == field, result
    assert (await gql(client, PROVIDER, id=provider["id"]))["provider"]["services"] == []


async def test_unknown_provider_is_not_found(client: httpx.AsyncClient) -> None:
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        result = (
            await gql(
                client, CREATE_SERVICE, input={"providerId": unknown, "name": "Cut", "durationMinutes": 30}
            )
        )["createService"]
        assert result["__typename"] == "NotFound" and result["id"] == unknown
    assert (await gql(client, PROVIDER, id="not-a-uuid"))["provider"] is None


async def test_weekly_schedule_replaces_the_whole_week(client: httpx.AsyncClient) -> None:
    provider_id, _ = await provider_with_service(client, spans=("09:00-12:00", "13:00-17:00"))
    result = await gql(
        client,
        SET_WEEK,
        input={
            "providerId": provider_id,
            "timezone": "Europe/London",
            "days": week("10:00-11:00", days=["MONDAY"]),
        },
    )
    assert result["setWeeklySchedule"] == {
        "__typename": "Schedule",
        "timezone": "Europe/London",
        "days": [{"weekday": "MONDAY", "windows": [{"start": "10:00", "end": "11:00"}]}],
    }


@pytest.mark.parametrize(
    ("days", "field"),
    [
        (week("09:00-12:00", "11:00-13:00", days=["MONDAY"]), "days[0].windows"),
        (week("12:00-09:00", days=["MONDAY"]), "days[0].windows[0]"),
        (week("09:00-25:00", days=["MONDAY"]), "days[0].windows[0].end"),
        (week("9am-10am", days=["MONDAY"]), "days[0].windows[0].start"),
        (week("09:00-10:00", days=["MONDAY", "MONDAY"]), "days[1].weekday"),
    ],
)
async def test_bad_weeks_are_refused_and_keep_the_old_week(
    client: httpx.AsyncClient, days: list[dict[str, object]], field: str
) -> None:
    provider_id, _ = await provider_with_service(client, spans=("09:00-17:00",))
    result = (await gql(client, SET_WEEK, input={"providerId": provider_id, "days": days}))[
        "setWeeklySchedule"
    ]
    assert result["__typename"] == "ValidationError" and result["field"] == field, result
    kept = (await gql(client, PROVIDER, id=provider_id))["provider"]["weeklySchedule"]["days"]
    assert len(kept) == 7 and kept[0]["windows"] == [{"start": "09:00", "end": "17:00"}]


async def test_schedule_needs_exactly_one_owner(client: httpx.AsyncClient) -> None:
    provider_id, service_id = await provider_with_service(client)
    both = {"providerId": provider_id, "serviceId": service_id, "days": []}
    for owner in (both, {"days": []}):
        result = (await gql(client, SET_WEEK, input=owner))["setWeeklySchedule"]
        assert result["__typename"] == "ValidationError"


async def test_date_exceptions_are_added_replaced_and_removed(client: httpx.AsyncClient) -> None:
    provider_id, _ = await provider_with_service(client)
    first = await gql(
        client,
        ADD_EXCEPTION,
        input={"providerId": provider_id, "date": "2027-03-10", "closed": True, "reason": "Holiday"},
    )
    assert first["addDateException"]["changedException"]["reason"] == "Holiday"
    again = await gql(
        client,
        ADD_EXCEPTION,
        input={
            "providerId": provider_id,
            "date": "2027-03-10",
            "windows": [{"start": "10:00", "end": "12:00"}],
        },
    )
    replacement = again["addDateException"]["changedException"]
    listed = (await gql(client, PROVIDER, id=provider_id))["provider"]["weeklySchedule"]["exceptions"]
    assert [(e["date"], e["closed"]) for e in listed] == [("2027-03-10", False)]
    removed = await gql(
        client,
        "mutation($id: ID!) { removeDateException(id: $id) { __typename "
        "... on Schedule { exceptions { id } } } }",
        id=replacement["id"],
    )
    assert removed["removeDateException"] == {"__typename": "Schedule", "exceptions": []}
    missing = await gql(
        client, "mutation($id: ID!) { removeDateException(id: $id) { __typename } }", id=replacement["id"]
    )
    assert missing["removeDateException"]["__typename"] == "NotFound"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"closed": True, "windows": [{"start": "10:00", "end": "12:00"}]}, "windows"),
        ({"closed": False}, "windows"),
        ({"closed": True, "date": "2035-01-01"}, "date"),
        ({"closed": True, "reason": "x" * 501}, "reason"),
    ],
)
async def test_bad_exceptions_are_refused(
    client: httpx.AsyncClient, fields: dict[str, object], field: str
) -> None:
    provider_id, _ = await provider_with_service(client)
    result = await gql(
        client, ADD_EXCEPTION, input={"providerId": provider_id, "date": "2027-03-10"} | fields
    )
    assert result["addDateException"]["__typename"] == "ValidationError"
    assert result["addDateException"]["field"] == field
    listed = (await gql(client, PROVIDER, id=provider_id))["provider"]["weeklySchedule"]["exceptions"]
    assert listed == []
