"""Month and day views over HTTP against real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event, insert

from db.reservation_queries import insert_reservation
from db.tables import calendar_busy_intervals
from domain.local_time import local_to_instant
from domain.occupancy import ReservationKind
from domain.service_rules import ServiceRules
from tests.api.fixtures import ADD_EXCEPTION, provider_with_service
from tests.conftest import ANONYMOUS, Clock, gql, gql_errors

LA = ZoneInfo("America/Los_Angeles")
WEEKDAYS_ONLY = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]

MONTH = """query($id: ID!, $month: String!, $tz: TimeZone) {
  monthAvailability(serviceId: $id, month: $month, timezone: $tz) {
    month timezone nextAvailableDate availableDates { date availableSlots } unavailableDates { date reason } } }"""

DAY = """query($id: ID!, $date: Date!, $tz: TimeZone) {
  dayAvailability(serviceId: $id, date: $date, timezone: $tz) {
    date timezone serviceSchedule { start end } availableSlots { start end time }
    unavailableSlots { start time reason bookingId event } } }"""


def la(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return local_to_instant(day, hours * 60 + minutes, LA)


async def book(
    engine: Any, provider_id: str, service_id: str, start: datetime, minutes: int = 30, **extra: Any
) -> UUID:
    async with engine.begin() as conn:
        return await insert_reservation(
            conn,
            provider_id=UUID(provider_id),
            service_id=UUID(service_id),
            rules=ServiceRules(minutes, minutes, 0, 0, 0, 90, 10),
            start=start,
            **extra,
        )


async def calendar_busy(engine: Any, provider_id: str, start: datetime, end: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(calendar_busy_intervals).values(
                provider_id=UUID(provider_id), start_at=start, end_at=end, title="Private: dentist"
            )
        )


async def weekday_service(client: httpx.AsyncClient, **service: Any) -> tuple[str, str]:
    from tests.api.fixtures import SET_WEEK, week

    provider_id, service_id = await provider_with_service(client, **service)
    await gql(
        client, SET_WEEK, input={"providerId": provider_id, "days": week("09:00-17:00", days=WEEKDAYS_ONLY)}
    )
    return provider_id, service_id


def reasons(month: dict[str, Any]) -> dict[str, str]:
    return {d["date"]: d["reason"] for d in month["unavailableDates"]}


async def test_month_view_gives_every_date_one_answer(client: httpx.AsyncClient, engine: Any) -> None:
    provider_id, service_id = await weekday_service(client)
    await gql(client, ADD_EXCEPTION, input={"providerId": provider_id, "date": "2027-03-10", "closed": True})
    for hhmm in (f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)):
        await book(engine, provider_id, service_id, la(date(2027, 3, 11), hhmm))
    await calendar_busy(engine, provider_id, la(date(2027, 3, 12), "08:00"), la(date(2027, 3, 12), "18:00"))
    await book(engine, provider_id, service_id, la(date(2027, 3, 15), "09:00"), status="CANCELLED")

    month = (await gql(client, MONTH, id=service_id, month="2027-03"))["monthAvailability"]
    assert month["month"] == "2027-03" and month["timezone"] == "America/Los_Angeles"
    days = [d["date"] for d in month["availableDates"]] + list(reasons(month))
    assert sorted(days) == [f"2027-03-{d:02d}" for d in range(1, 32)]
    assert reasons(month)["2027-03-10"] == "BLOCKED"
    assert reasons(month)["2027-03-11"] == "FULLY_BOOKED"
    assert reasons(month)["2027-03-12"] == "CALENDAR_CONFLICTS"
    assert reasons(month)["2027-03-13"] == "NO_SERVICE_HOURS"
    counts = {d["date"]: d["availableSlots"] for d in month["availableDates"]}
    assert counts["2027-03-15"] == 16  # a cancelled booking blocks nothing
    assert month["nextAvailableDate"] == "2027-03-01"


async def test_past_notice_and_horizon_days(client: httpx.AsyncClient, clock: Clock) -> None:
    _, service_id = await weekday_service(client, minNoticeMinutes=3 * 24 * 60, horizonDays=20)
    clock.now = la(date(2027, 3, 2), "10:10")
    month = reasons((await gql(client, MONTH, id=service_id, month="2027-03"))["monthAvailability"])
    assert month["2027-03-01"] == "PAST"
    assert month["2027-03-02"] == "NOTICE_PERIOD"  # some slots past, the rest too soon
    assert month["2027-03-04"] == "NOTICE_PERIOD"
    assert "2027-03-05" not in month  # 3 days' notice ends 10:10 on the 5th
    assert month["2027-03-22"] == "BEYOND_HORIZON"  # the 20th date after today is the 22nd
    assert "2027-03-19" not in month
    assert month["2027-03-27"] == "NO_SERVICE_HOURS"  # no hours outranks the horizon


async def test_next_available_date_searches_past_the_month(client: httpx.AsyncClient) -> None:
    provider_id, service_id = await weekday_service(client)
    for day in range(1, 32):
        await gql(
            client,
            ADD_EXCEPTION,
            input={"providerId": provider_id, "date": f"2027-03-{day:02d}", "closed": True},
        )
    month = (await gql(client, MONTH, id=service_id, month="2027-03"))["monthAvailability"]
    assert month["availableDates"] == [] and month["nextAvailableDate"] == "2027-04-01"
    earlier = (await gql(client, MONTH, id=service_id, month="2027-01"))["monthAvailability"]
    assert set(reasons(earlier).values()) == {"PAST"} and earlier["nextAvailableDate"] == "2027-04-01"


async def test_next_available_date_is_null_when_nothing_opens_within_the_horizon(
    client: httpx.AsyncClient,
) -> None:
    _, service_id = await weekday_service(client, horizonDays=1)
    month = (await gql(client, MONTH, id=service_id, month="2027-04"))["monthAvailability"]
    assert month["nextAvailableDate"] is None
    assert set(reasons(month).values()) == {"BEYOND_HORIZON", "NO_SERVICE_HOURS"}


async def test_day_view_on_spring_forward(client: httpx.AsyncClient) -> None:
    _, service_id = await provider_with_service(client, spans=("01:00-03:00", "09:00-17:00"))
    day = (await gql(client, DAY, id=service_id, date="2027-03-14"))["dayAvailability"]
    times = [s["time"] for s in day["availableSlots"]]
    assert times[:3] == ["01:00", "01:30", "09:00"] and len(times) == 18
    assert day["availableSlots"][1]["start"] == "2027-03-14T01:30:00-08:00"
    assert day["availableSlots"][1]["end"] == "2027-03-14T03:00:00-07:00"
    assert day["availableSlots"][2]["start"] == "2027-03-14T09:00:00-07:00"
    assert day["serviceSchedule"] == [{"start": "01:00", "end": "03:00"}, {"start": "09:00", "end": "17:00"}]


async def test_day_view_on_fall_back(client: httpx.AsyncClient, clock: Clock) -> None:
    clock.now = datetime(2027, 10, 20, tzinfo=UTC)
    _, service_id = await provider_with_service(client, spans=("01:00-03:00", "09:00-17:00"))
    day = (await gql(client, DAY, id=service_id, date="2027-11-07"))["dayAvailability"]
    starts = [s["start"] for s in day["availableSlots"]]
    assert starts[:6] == [
        "2027-11-07T01:00:00-07:00",
        "2027-11-07T01:30:00-07:00",
        "2027-11-07T01:00:00-08:00",
        "2027-11-07T01:30:00-08:00",
        "2027-11-07T02:00:00-08:00",
        "2027-11-07T02:30:00-08:00",
    ]
    assert len(starts) == 6 + 16


async def test_customer_in_auckland_sees_a_los_angeles_day_on_their_own_dates(
    client: httpx.AsyncClient,
) -> None:
    _, service_id = await weekday_service(client)
    day = (await gql(client, DAY, id=service_id, date="2027-03-03", tz="Pacific/Auckland"))["dayAvailability"]
    assert day["timezone"] == "Pacific/Auckland"
    assert [s["time"] for s in day["availableSlots"]][:2] == ["06:00", "06:30"]
    assert day["availableSlots"][0]["start"] == "2027-03-03T06:00:00+13:00"  # Tuesday 09:00 in Los Angeles
    assert len(day["availableSlots"]) == 16
    assert day["serviceSchedule"] == [{"start": "06:00", "end": "14:00"}]
    month = (await gql(client, MONTH, id=service_id, month="2027-03", tz="Pacific/Auckland"))[
        "monthAvailability"
    ]
    assert reasons(month)["2027-03-01"] == "PAST"  # ended at 11:00 UTC, an hour before now
    assert reasons(month)["2027-03-07"] == "NO_SERVICE_HOURS"  # Sunday in Auckland is Saturday in LA
    assert {d["date"]: d["availableSlots"] for d in month["availableDates"]}["2027-03-06"] == 16  # LA Friday


async def test_unavailable_slots_carry_reasons_but_not_private_details(
    client: httpx.AsyncClient, engine: Any
) -> None:
    provider_id, service_id = await weekday_service(client)
    await book(engine, provider_id, service_id, la(date(2027, 3, 3), "10:00"))
    await book(
        engine,
        provider_id,
        service_id,
        la(date(2027, 3, 3), "11:00"),
        kind=ReservationKind.HOLD,
        status="HELD",
        expires_at=datetime(2027, 3, 1, 12, 5, tzinfo=UTC),
    )
    await calendar_busy(engine, provider_id, la(date(2027, 3, 3), "15:00"), la(date(2027, 3, 3), "15:30"))
    day = (await gql(client, DAY, ANONYMOUS, id=service_id, date="2027-03-03"))["dayAvailability"]
    unavailable = {s["time"]: s for s in day["unavailableSlots"]}
    assert unavailable["10:00"]["reason"] == "BOOKED" and unavailable["11:00"]["reason"] == "HELD"
    assert unavailable["15:00"]["reason"] == "CALENDAR_CONFLICT"
    assert all(s["bookingId"] is None and s["event"] is None for s in day["unavailableSlots"])


async def test_an_expired_hold_blocks_nothing(client: httpx.AsyncClient, engine: Any, clock: Clock) -> None:
    provider_id, service_id = await weekday_service(client)
    await book(
        engine,
        provider_id,
        service_id,
        la(date(2027, 3, 3), "11:00"),
        kind=ReservationKind.HOLD,
        status="HELD",
        expires_at=clock.now + timedelta(minutes=10),
    )
    clock.now += timedelta(minutes=10)
    day = (await gql(client, DAY, id=service_id, date="2027-03-03"))["dayAvailability"]
    assert "11:00" in [s["time"] for s in day["availableSlots"]]


async def test_a_month_view_costs_a_bounded_number_of_queries(client: httpx.AsyncClient, engine: Any) -> None:
    provider_id, service_id = await weekday_service(client)
    for day in range(1, 29):
        await book(engine, provider_id, service_id, la(date(2027, 3, day), "12:00"))
    statements: list[str] = []
    app_engine = client._transport.app.state.engine  # type: ignore[attr-defined]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(app_engine.sync_engine, "before_cursor_execute", listener)
    try:
        for month in ("2027-03", "2027-04"):
            statements.clear()
            await gql(client, MONTH, ANONYMOUS, id=service_id, month=month)  # a customer: no key lookup
            assert len(statements) <= 5, statements
    finally:
        event.remove(app_engine.sync_engine, "before_cursor_execute", listener)


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (MONTH, {"month": "2026-13"}, "month"),
        (MONTH, {"month": "March"}, "month"),
        (MONTH, {"month": "2099-01"}, "month"),
        (DAY, {"date": "1999-01-01"}, "date"),
    ],
)
async def test_bad_view_arguments_are_named(
    client: httpx.AsyncClient, query: str, variables: dict[str, str], field: str
) -> None:
    _, service_id = await weekday_service(client)
    errors = await gql_errors(client, query, id=service_id, **variables)
    assert errors[0]["extensions"] == {"code": "VALIDATION_ERROR", "field": field}


async def test_unknown_service_zone_and_date_are_refused(client: httpx.AsyncClient) -> None:
    _, service_id = await weekday_service(client)
    errors = await gql_errors(client, MONTH, id="00000000-0000-0000-0000-000000000000", month="2027-03")
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    errors = await gql_errors(client, MONTH, id=service_id, month="2027-03", tz="Europe/Nowhere")
    assert "Europe/Nowhere" in errors[0]["message"]
    errors = await gql_errors(client, DAY, id=service_id, date="2027-02-30")
    assert "date" in errors[0]["message"]


async def test_month_edges_follow_the_viewer_zone(client: httpx.AsyncClient) -> None:
    _, service_id = await weekday_service(client)
    # Wednesday 2027-03-31 09:00 in Los Angeles is 05:00 on Thursday 2027-04-01 in Auckland.
    april = (await gql(client, MONTH, id=service_id, month="2027-04", tz="Pacific/Auckland"))[
        "monthAvailability"
    ]
    counts = {d["date"]: d["availableSlots"] for d in april["availableDates"]}
    assert counts["2027-04-01"] == 16 and len(counts) + len(april["unavailableDates"]) == 30
    march = (await gql(client, MONTH, id=service_id, month="2027-03"))["monthAvailability"]
    assert {d["date"]: d["availableSlots"] for d in march["availableDates"]}["2027-03-31"] == 16


async def test_a_leap_february_has_29_dates(client: httpx.AsyncClient, clock: Clock) -> None:
    clock.now = datetime(2028, 2, 1, tzinfo=UTC)
    _, service_id = await weekday_service(client)
    month = (await gql(client, MONTH, id=service_id, month="2028-02"))["monthAvailability"]
    dates = sorted(
        [d["date"] for d in month["availableDates"]] + [d["date"] for d in month["unavailableDates"]]
    )
    assert len(dates) == 29 and dates[-1] == "2028-02-29"
    assert {d["date"]: d["availableSlots"] for d in month["availableDates"]}["2028-02-29"] == 16  # a Tuesday
