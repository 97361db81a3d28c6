"""Export and import of a provider's whole availability setup over HTTP: the round trip gives the
same month views; a malformed or conflicting document changes nothing; bookings are never lost."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select

from db.change_queries import current_sequence
from db.portability_queries import replace_date_windows
from db.reservation_queries import insert_reservation
from db.tables import availability_change_log
from domain.availability_document import DateWindowSpec
from domain.schedule import Window
from domain.service_rules import ServiceRules
from tests.api.fixtures import ADD_EXCEPTION, CREATE_PROVIDER, CREATE_SERVICE, SET_WEEK, week
from tests.api.test_availability_api import MONTH, la
from tests.conftest import gql, gql_errors

EXPORT = "query($id: ID!) { exportAvailability(providerId: $id) }"

IMPORT = """mutation($input: ImportAvailabilityInput!) {
  importAvailability(input: $input) {
    __typename
    ... on ImportReport {
      applied dryRun mode conflicts notes
      provider { created updated removed } services { created updated removed }
      weeklyWindows { created updated removed } exceptions { created updated removed }
      dateWindows { created updated removed }
    }
    ... on ValidationError { field message }
    ... on NotFound { id message }
  }
}"""

SERVICES = "query($id: ID!) { provider(id: $id) { name timezone services { id name } } }"
WEEKDAYS_ONLY = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]


async def new_provider(
    client: httpx.AsyncClient, name: str = "Dr. Test", zone: str = "America/Los_Angeles"
) -> str:
    created = (await gql(client, CREATE_PROVIDER, name=name, tz=zone))["createProvider"]
    assert created["__typename"] == "Provider", created
    return str(created["id"])


async def add_service(client: httpx.AsyncClient, provider_id: str, **fields: Any) -> str:
    created = (await gql(client, CREATE_SERVICE, input={"providerId": provider_id} | fields))["createService"]
    assert created["__typename"] == "Service", created
    return str(created["id"])


async def add_exception(client: httpx.AsyncClient, **fields: Any) -> None:
    result = (await gql(client, ADD_EXCEPTION, input=fields))["addDateException"]
    assert result["__typename"] == "Schedule", result


async def full_setup(client: httpx.AsyncClient, engine: Any) -> tuple[str, dict[str, str]]:
    """A provider with weekday windows, a closed date, an override date, a date window, and two
    services: Consultation on the provider's week (with its own exception), Massage on its own."""
    provider_id = await new_provider(client)
    weekly = await gql(
        client,
        SET_WEEK,
        input={"providerId": provider_id, "days": week("09:00-12:00", "13:00-17:00", days=WEEKDAYS_ONLY)},
    )
    assert weekly["setWeeklySchedule"]["__typename"] == "Schedule"
    consultation = await add_service(
        client,
        provider_id,
        name="Consultation",
        durationMinutes=30,
        bufferAfterMinutes=0,
        minNoticeMinutes=0,
        price="40.00",
    )
    massage = await add_service(
        client,
        provider_id,
        name="Massage",
        durationMinutes=60,
        slotIntervalMinutes=30,
        bufferBeforeMinutes=15,
        bufferAfterMinutes=15,
        horizonDays=120,
        schedule={
            "timezone": "America/New_York",
            "days": week("10:00-16:00", days=["TUESDAY", "THURSDAY", "SATURDAY"]),
        },
    )
    await add_exception(client, providerId=provider_id, date="2027-03-10", closed=True, reason="Holiday")
    await add_exception(
        client,
        providerId=provider_id,
        date="2027-03-13",
        windows=[{"start": "10:00", "end": "14:00"}],
        reason="Open Saturday",
    )
    await add_exception(
        client, serviceId=consultation, date="2027-03-17", windows=[{"start": "14:00", "end": "16:00"}]
    )
    await add_exception(client, serviceId=massage, date="2027-04-06", closed=True, reason="Therapist away")
    async with engine.begin() as conn:
        await replace_date_windows(
            conn,
            UUID(provider_id),
            date(2027, 3, 20),
            (DateWindowSpec(date(2027, 3, 20), Window(600, 720), "Pop-up"),),
        )
    return provider_id, {"Consultation": consultation, "Massage": massage}


async def export(client: httpx.AsyncClient, provider_id: str) -> dict[str, Any]:
    return (await gql(client, EXPORT, id=provider_id))["exportAvailability"]  # type: ignore[no-any-return]


async def import_(
    client: httpx.AsyncClient, provider_id: str, document: Any, mode: str = "REPLACE", dry_run: bool = False
) -> dict[str, Any]:
    result = await gql(
        client,
        IMPORT,
        input={"providerId": provider_id, "document": document, "mode": mode, "dryRun": dry_run},
    )
    return result["importAvailability"]  # type: ignore[no-any-return]


async def services_of(client: httpx.AsyncClient, provider_id: str) -> dict[str, str]:
    found = (await gql(client, SERVICES, id=provider_id))["provider"]["services"]
    return {s["name"]: s["id"] for s in found}


async def months(client: httpx.AsyncClient, service_id: str) -> list[dict[str, Any]]:
    return [
        (await gql(client, MONTH, id=service_id, month=m))["monthAvailability"]
        for m in ("2027-03", "2027-04")
    ]


async def import_entries(engine: Any, provider_id: str) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(func.count()).where(
                availability_change_log.c.provider_id == UUID(provider_id),
                availability_change_log.c.entity == "IMPORT",
            )
        )
        return int(found.scalar_one())


async def sequence(engine: Any, provider_id: str) -> int:
    async with engine.connect() as conn:
        return await current_sequence(conn, UUID(provider_id))


def counts(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("provider", "services", "weeklyWindows", "exceptions", "dateWindows")}


async def test_round_trip_into_an_empty_provider_gives_identical_month_views(
    client: httpx.AsyncClient, engine: Any
) -> None:
    source_id, source_services = await full_setup(client, engine)
    document = await export(client, source_id)
    assert document["format"] == "slotwise.availability" and document["version"] == 1
    assert [s["name"] for s in document["services"]] == ["Consultation", "Massage"]
    assert document["services"][1]["schedule"]["timezone"] == "America/New_York"
    assert document["dateWindows"] == [
        {"date": "2027-03-20", "start": "10:00", "end": "12:00", "reason": "Pop-up"}
    ]
    assert [(e["date"], e["service"]) for e in document["exceptions"]] == [
        ("2027-03-10", None),
        ("2027-03-13", None),
        ("2027-03-17", "Consultation"),
        ("2027-04-06", "Massage"),
    ]

    target_id = await new_provider(client, name="Empty clinic", zone="Europe/Berlin")
    report = await import_(client, target_id, document, mode="REPLACE")
    assert report["__typename"] == "ImportReport" and report["applied"], report
    assert report["conflicts"] == [] and report["notes"] == []
    assert counts(report) == {
        "provider": {"created": 0, "updated": 1, "removed": 0},  # Europe/Berlin -> America/Los_Angeles
        "services": {"created": 2, "updated": 0, "removed": 0},
        "weeklyWindows": {"created": 10, "updated": 0, "removed": 0},
        "exceptions": {"created": 4, "updated": 0, "removed": 0},
        "dateWindows": {"created": 1, "updated": 0, "removed": 0},
    }

    target = (await gql(client, SERVICES, id=target_id))["provider"]
    assert target["name"] == "Empty clinic" and target["timezone"] == "America/Los_Angeles"
    target_services = {s["name"]: s["id"] for s in target["services"]}
    assert set(target_services) == {"Consultation", "Massage"}
    for name, source_service in source_services.items():
        before, after = await months(client, source_service), await months(client, target_services[name])
        assert after == before, name
    # The views are not trivially equal: the setup shows in them.
    march = {
        d["date"]: d["reason"]
        for d in (await months(client, source_services["Consultation"]))[0]["unavailableDates"]
    }
    assert march["2027-03-10"] == "BLOCKED" and "2027-03-13" not in march

    again = await export(client, target_id)
    assert again == document | {"provider": document["provider"] | {"name": "Empty clinic"}}

    # Importing the same document again changes nothing and publishes nothing.
    seen = await sequence(engine, target_id)
    repeat = await import_(client, target_id, again, mode="REPLACE")
    assert repeat["applied"] and all(
        c == {"created": 0, "updated": 0, "removed": 0} for c in counts(repeat).values()
    )
    assert await sequence(engine, target_id) == seen
    assert await import_entries(engine, target_id) == 1


async def test_merge_into_an_empty_provider_of_the_same_zone_is_the_same_setup(
    client: httpx.AsyncClient, engine: Any
) -> None:
    source_id, _ = await full_setup(client, engine)
    document = await export(client, source_id)
    target_id = await new_provider(client, name="Second clinic")
    report = await import_(client, target_id, document, mode="MERGE")
    assert report["applied"] and report["mode"] == "MERGE", report
    assert await export(client, target_id) == document | {
        "provider": document["provider"] | {"name": "Second clinic"}
    }


MALFORMED: list[tuple[str, Any, str]] = [
    ("not an object", lambda d: ["services"], "document"),
    ("a string", lambda d: "hello", "document"),
    ("unknown version", lambda d: d | {"version": 2}, "version"),
    ("version as text", lambda d: d | {"version": "1"}, "version"),
    ("other format", lambda d: d | {"format": "ical"}, "format"),
    ("unknown key", lambda d: d | {"colour": "red"}, "colour"),
    ("missing services", lambda d: {k: v for k, v in d.items() if k != "services"}, "services"),
    ("services not a list", lambda d: d | {"services": {"name": "x"}}, "services"),
    (
        "bad provider zone",
        lambda d: d | {"provider": d["provider"] | {"timezone": "Mars/Olympus_Mons"}},
        "provider.timezone",
    ),
    (
        "bad service zone",
        lambda d: _set(d, ["services", 1, "schedule", "timezone"], "Nowhere/Land"),
        "services[1].schedule.timezone",
    ),
    (
        "negative duration",
        lambda d: _set(d, ["services", 1, "durationMinutes"], -30),
        "services[1].durationMinutes",
    ),
    (
        "negative buffer",
        lambda d: _set(d, ["services", 0, "bufferAfterMinutes"], -1),
        "services[0].bufferAfterMinutes",
    ),
    (
        "minutes as text",
        lambda d: _set(d, ["services", 0, "minNoticeMinutes"], "60"),
        "services[0].minNoticeMinutes",
    ),
    ("price as a number", lambda d: _set(d, ["services", 0, "price"], 40), "services[0].price"),
    ("price with cents", lambda d: _set(d, ["services", 0, "price"], "40.001"), "services[0].price"),
    ("unknown service key", lambda d: _set(d, ["services", 0, "colour"], "red"), "services[0].colour"),
    ("duplicate service", lambda d: _set(d, ["services", 1, "name"], "Consultation"), "services[1].name"),
    (
        "overlapping windows",
        lambda d: _set(
            d, ["weeklySchedule", "days", 0, "windows"], [_w("09:00", "12:00"), _w("11:00", "13:00")]
        ),
        "weeklySchedule.days[0].windows",
    ),
    (
        "window ending before it starts",
        lambda d: _set(d, ["weeklySchedule", "days", 0, "windows", 1], _w("17:00", "13:00")),
        "weeklySchedule.days[0].windows[1]",
    ),
    (
        "bad time",
        lambda d: _set(d, ["weeklySchedule", "days", 0, "windows", 0, "start"], "25:00"),
        "weeklySchedule.days[0].windows[0].start",
    ),
    (
        "bad weekday",
        lambda d: _set(d, ["weeklySchedule", "days", 0, "weekday"], "MONDAYS"),
        "weeklySchedule.days[0].weekday",
    ),
    (
        "weekday twice",
        lambda d: _set(d, ["weeklySchedule", "days", 1, "weekday"], "MONDAY"),
        "weeklySchedule.days[1].weekday",
    ),
    (
        "overlapping service windows",
        lambda d: _set(
            d, ["services", 1, "schedule", "days", 0, "windows"], [_w("10:00", "16:00"), _w("15:00", "18:00")]
        ),
        "services[1].schedule.days[0].windows",
    ),
    ("bad date", lambda d: _set(d, ["exceptions", 0, "date"], "2027-02-30"), "exceptions[0].date"),
    ("date too far", lambda d: _set(d, ["exceptions", 0, "date"], "2035-01-01"), "exceptions[0].date"),
    (
        "closed with windows",
        lambda d: _set(d, ["exceptions", 0, "windows"], [_w("10:00", "11:00")]),
        "exceptions[0].windows",
    ),
    (
        "exception of an unknown service",
        lambda d: _set(d, ["exceptions", 2, "service"], "Yoga"),
        "exceptions[2].service",
    ),
    ("exception twice", lambda d: _set(d, ["exceptions", 1, "date"], "2027-03-10"), "exceptions[1].date"),
    (
        "overlapping date windows",
        lambda d: (
            d | {"dateWindows": [*d["dateWindows"], {"date": "2027-03-20", "start": "11:00", "end": "13:00"}]}
        ),
        "dateWindows[1]",
    ),
]


async def test_round_trip_keeps_a_schedule_zone_other_than_the_provider_zone(
    client: httpx.AsyncClient, engine: Any
) -> None:
    source_id = await new_provider(client, name="Remote")
    result = await gql(
        client,
        SET_WEEK,
        input={"providerId": source_id, "timezone": "Europe/London", "days": week("09:00-17:00")},
    )
    assert result["setWeeklySchedule"]["timezone"] == "Europe/London"
    service_id = await add_service(client, source_id, name="Call", durationMinutes=45, minNoticeMinutes=0)
    document = await export(client, source_id)
    assert document["weeklySchedule"]["timezone"] == "Europe/London"
    target_id = await new_provider(client, name="Copy", zone="Asia/Tokyo")
    assert (await import_(client, target_id, document))["applied"]
    assert await export(client, target_id) == document | {"provider": document["provider"] | {"name": "Copy"}}
    copied = (await services_of(client, target_id))["Call"]
    assert await months(client, copied) == await months(client, service_id)


def _w(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


def _set(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return changed


@pytest.mark.parametrize(("case", "breaking", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_document_is_a_validation_error_and_changes_nothing(
    client: httpx.AsyncClient, engine: Any, case: str, breaking: Any, field: str
) -> None:
    provider_id, _ = await full_setup(client, engine)
    before = await export(client, provider_id)
    # A document that differs from the provider's in every part, so applying any of it would show.
    document = _set(
        before,
        ["weeklySchedule", "days"],
        [
            {"weekday": "MONDAY", "windows": [_w("08:00", "09:00"), _w("13:00", "17:00")]},
            {"weekday": "TUESDAY", "windows": [_w("09:00", "12:00")]},
        ],
    )
    document = _set(
        document, ["dateWindows"], [{"date": "2027-03-20", "start": "10:00", "end": "12:00", "reason": None}]
    )
    for dry_run in (True, False):
        for mode in ("MERGE", "REPLACE"):
            result = await import_(client, provider_id, breaking(document), mode=mode, dry_run=dry_run)
            assert result["__typename"] == "ValidationError", (case, result)
            assert result["field"] == field, (case, result)
    assert await export(client, provider_id) == before
    assert await import_entries(engine, provider_id) == 0


async def test_unknown_provider_is_not_found(client: httpx.AsyncClient, engine: Any) -> None:
    provider_id, _ = await full_setup(client, engine)
    document = await export(client, provider_id)
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        result = await import_(client, unknown, document)
        assert result["__typename"] == "NotFound" and result["id"] == unknown
        errors = await gql_errors(client, EXPORT, id=unknown)
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("windows", "verb"), [([_w("11:00", "12:30")], "overlap"), ([_w("17:00", "18:00")], "touch")]
)
async def test_merge_with_a_clashing_window_reports_the_conflict_and_applies_nothing(
    client: httpx.AsyncClient, engine: Any, windows: list[dict[str, str]], verb: str
) -> None:
    provider_id, _ = await full_setup(client, engine)
    before = await export(client, provider_id)
    seen = await sequence(engine, provider_id)
    document = _set(before, ["weeklySchedule", "days"], [{"weekday": "MONDAY", "windows": windows}])
    document["services"].append(_service("Yoga"))  # would be created, were it not for the conflict
    for dry_run in (True, False):
        report = await import_(client, provider_id, document, mode="MERGE", dry_run=dry_run)
        assert report["__typename"] == "ImportReport" and not report["applied"], report
        assert len(report["conflicts"]) == 1, report
        conflict = report["conflicts"][0]
        assert (
            "MONDAY" in conflict
            and f"{windows[0]['start']}-{windows[0]['end']}" in conflict
            and verb in conflict
        )
        assert report["services"]["created"] == 1
    assert await export(client, provider_id) == before
    assert await sequence(engine, provider_id) == seen
    assert await import_entries(engine, provider_id) == 0


async def test_merge_with_another_provider_zone_is_a_conflict(client: httpx.AsyncClient, engine: Any) -> None:
    provider_id, _ = await full_setup(client, engine)
    before = await export(client, provider_id)
    document = before | {"provider": {"name": "x", "timezone": "Europe/London"}}
    report = await import_(client, provider_id, document, mode="MERGE")
    assert not report["applied"] and "provider.timezone" in report["conflicts"][0], report
    assert await export(client, provider_id) == before


async def test_merge_adds_to_the_setup(client: httpx.AsyncClient, engine: Any) -> None:
    provider_id, services = await full_setup(client, engine)
    before = await export(client, provider_id)
    seen = await sequence(engine, provider_id)
    document = {
        "format": "slotwise.availability",
        "version": 1,
        "provider": {"name": "Elsewhere", "timezone": "America/Los_Angeles"},
        "weeklySchedule": {
            "timezone": "America/Los_Angeles",
            "days": [
                {"weekday": "MONDAY", "windows": [_w("09:00", "12:00"), _w("18:00", "20:00")]},
                {"weekday": "SATURDAY", "windows": [_w("10:00", "12:00")]},
            ],
        },
        "services": [_service("Yoga"), _service("Consultation", durationMinutes=45)],
        "exceptions": [
            {"date": "2027-03-10", "closed": False, "windows": [_w("10:00", "11:00")]},
            {"date": "2027-03-24", "closed": True, "reason": "Training", "service": "Yoga"},
        ],
        "dateWindows": [{"date": "2027-03-27", "start": "08:00", "end": "09:00"}],
    }
    report = await import_(client, provider_id, document, mode="MERGE")
    assert report["applied"] and report["conflicts"] == [], report
    assert counts(report) == {
        "provider": {"created": 0, "updated": 0, "removed": 0},
        "services": {"created": 1, "updated": 1, "removed": 0},
        "weeklyWindows": {"created": 2, "updated": 0, "removed": 0},
        "exceptions": {"created": 1, "updated": 1, "removed": 0},
        "dateWindows": {"created": 1, "updated": 0, "removed": 0},
    }
    after = await export(client, provider_id)
    days = {d["weekday"]: d["windows"] for d in after["weeklySchedule"]["days"]}
    assert days["MONDAY"] == [_w("09:00", "12:00"), _w("13:00", "17:00"), _w("18:00", "20:00")]
    assert days["TUESDAY"] == [_w("09:00", "12:00"), _w("13:00", "17:00")]
    assert days["SATURDAY"] == [_w("10:00", "12:00")]
    by_name = {s["name"]: s for s in after["services"]}
    assert set(by_name) == {"Consultation", "Massage", "Yoga"}
    assert by_name["Consultation"]["durationMinutes"] == 45
    assert by_name["Massage"] == next(s for s in before["services"] if s["name"] == "Massage")
    assert (await services_of(client, provider_id))["Consultation"] == services[
        "Consultation"
    ]  # updated in place
    exceptions = {(e["date"], e["service"]): e for e in after["exceptions"]}
    assert exceptions["2027-03-10", None]["closed"] is False
    assert ("2027-03-24", "Yoga") in exceptions and ("2027-03-17", "Consultation") in exceptions
    assert len(after["dateWindows"]) == 2
    assert await sequence(engine, provider_id) == seen + 1
    assert await import_entries(engine, provider_id) == 1


def _service(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "durationMinutes": 30,
        "slotIntervalMinutes": 30,
        "bufferBeforeMinutes": 0,
        "bufferAfterMinutes": 0,
        "minNoticeMinutes": 0,
        "horizonDays": 90,
        "holdMinutes": 10,
        "price": None,
        "schedule": None,
    } | fields


async def test_replace_keeps_a_service_that_has_a_booking(client: httpx.AsyncClient, engine: Any) -> None:
    provider_id, services = await full_setup(client, engine)
    unbooked = await add_service(client, provider_id, name="Old", durationMinutes=20)
    await add_exception(client, serviceId=unbooked, date="2027-03-18", closed=True)
    async with engine.begin() as conn:
        booking_id = await insert_reservation(
            conn,
            provider_id=UUID(provider_id),
            service_id=UUID(services["Massage"]),
            rules=ServiceRules(60, 30, 15, 15, 60, 120, 10),
            start=la(date(2027, 3, 2), "10:00"),
        )
    before = await export(client, provider_id)
    document = copy.deepcopy(before)
    document["services"] = [
        _service("Consultation", durationMinutes=45, price="45.00"),
        _service("Yoga"),
    ]
    document["exceptions"] = [e for e in before["exceptions"] if e["service"] is None]
    dry = await import_(client, provider_id, document, mode="REPLACE", dry_run=True)
    report = await import_(client, provider_id, document, mode="REPLACE")
    assert report["applied"] and report["conflicts"] == [], report
    assert counts(report) == counts(dry) and not dry["applied"] and dry["dryRun"]
    assert report["services"] == {"created": 1, "updated": 1, "removed": 1}
    assert report["exceptions"] == {"created": 0, "updated": 0, "removed": 2}  # Consultation's and Old's
    assert len(report["notes"]) == 1 and "Massage" in report["notes"][0]
    assert set(await services_of(client, provider_id)) == {"Consultation", "Massage", "Yoga"}
    booking = await gql(
        client, "query($id: ID!) { booking(id: $id) { status serviceId } }", id=str(booking_id)
    )
    assert booking["booking"] == {"status": "CONFIRMED", "serviceId": services["Massage"]}
    after = await export(client, provider_id)
    # The kept service keeps its own schedule and its own exception.
    assert next(s for s in after["services"] if s["name"] == "Massage") == next(
        s for s in before["services"] if s["name"] == "Massage"
    )
    assert ("2027-04-06", "Massage") in {(e["date"], e["service"]) for e in after["exceptions"]}


async def test_dry_run_reports_what_the_real_run_does_and_writes_nothing(
    client: httpx.AsyncClient, engine: Any
) -> None:
    source_id, _ = await full_setup(client, engine)
    document = await export(client, source_id)
    target_id, _ = await full_setup(client, engine)
    await add_service(client, target_id, name="Old", durationMinutes=20)
    document = _set(
        document, ["weeklySchedule", "days"], [{"weekday": "SUNDAY", "windows": [_w("10:00", "12:00")]}]
    )
    document = _set(document, ["services", 0, "holdMinutes"], 15)
    document = _set(document, ["exceptions", 1, "reason"], "Open Saturday!")
    document["dateWindows"] = []
    before = await export(client, target_id)
    seen = await sequence(engine, target_id)
    for mode in ("MERGE", "REPLACE"):
        result = await import_(client, target_id, document, mode=mode, dry_run=True)
        assert result["dryRun"] and not result["applied"] and result["mode"] == mode, result
        assert await export(client, target_id) == before
        assert await sequence(engine, target_id) == seen
        assert await import_entries(engine, target_id) == 0
    dry = await import_(client, target_id, document, mode="REPLACE", dry_run=True)
    real = await import_(client, target_id, document, mode="REPLACE")
    assert real["applied"] and not real["dryRun"], real
    assert counts(real) == counts(dry)
    assert counts(real) == {
        "provider": {"created": 0, "updated": 0, "removed": 0},
        "services": {"created": 0, "updated": 1, "removed": 1},
        "weeklyWindows": {"created": 1, "updated": 0, "removed": 10},
        "exceptions": {"created": 0, "updated": 1, "removed": 0},
        "dateWindows": {"created": 0, "updated": 0, "removed": 1},
    }
    assert await export(client, target_id) == document | {"provider": before["provider"]}
    assert await sequence(engine, target_id) == seen + 1
    assert await import_entries(engine, target_id) == 1
